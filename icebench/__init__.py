"""icebench: command-line entry point and package metadata."""

from glacier.provenance import VERSION

__version__ = VERSION
