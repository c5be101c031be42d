"""icebench: command-line entry point and package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("icebench")
except PackageNotFoundError:
    __version__ = "0+unknown"
