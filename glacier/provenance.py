"""Provenance recorded with every dataset, model and benchmark: config hash, seed, code version,
and the machine (versions of the stack, the PETSc build, cores and GPU)."""

import hashlib
import json
import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("firedrake", "petsc4py", "tensorflow-cpu", "keras", "jax", "mlflow", "zarr",
            "xarray", "dask", "snakemake", "numpy")


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


VERSION = _version("icebench") or "0+unknown"
"""icebench's version, from its installed package metadata."""


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
    return f"{VERSION}+{commit}"


def provenance(config: dict) -> dict:
    """The provenance attributes of an artefact made from ``config``."""
    return {"config_hash": config_hash(config), "seed": config.get("seed"),
            "code_version": code_version(), "config": json.dumps(config, sort_keys=True),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def gpu_description() -> str | None:
    """Name of the first NVIDIA GPU reported by nvidia-smi, or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    result = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                            capture_output=True, text=True, check=False)
    names = result.stdout.strip().splitlines()
    return names[0] if result.returncode == 0 and names else None


def machine_info() -> dict:
    """Versions of the stack, the PETSc build, cores and GPU: recorded beside every benchmark."""
    info = {"icebench": _version("icebench"), "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "gpu": gpu_description()}
    info.update({p: _version(p) for p in PACKAGES})
    try:
        from petsc4py import PETSc
        info["petsc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
        info["petsc_dir"] = os.environ.get("PETSC_DIR")
    except ImportError:
        info["petsc"] = None
    return info
