"""Provenance recorded with every dataset, model and benchmark: config hash, seed, code version."""

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from icebench import __version__


def config_hash(config: dict) -> str:
    """sha256 of the config as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def code_version() -> str:
    """icebench's version and, in a git checkout, the commit (with '+dirty' for local changes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return f"{__version__}+{commit}"


def provenance(config: dict) -> dict:
    """The provenance attributes of an artefact made from ``config``."""
    return {"config_hash": config_hash(config), "seed": config.get("seed"),
            "code_version": code_version(), "config": json.dumps(config, sort_keys=True),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
