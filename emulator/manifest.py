"""The manifest of a published emulator (``manifest.json``): what it maps, in which units and
scales, where it is valid, and where it comes from. Plain JSON; no Keras needed to read it."""

import json
from pathlib import Path

from glacier.errors import InputError

MANIFEST = "manifest.json"
GRID_SPACING = "dx"
"""Name of the optional input channel holding the grid spacing (m) as a constant field."""
MANIFEST_VERSION = 1
REQUIRED = {
    "manifest_version": int, "name": str, "version": str, "instructor": dict,
    "architecture": str, "inputs": list, "outputs": list, "valid": dict, "out_of_range": str,
    "ice_threshold_m": (int, float), "dataset": dict, "training": dict, "scores": dict,
    "code_version": str, "created": str, "model_file": str,
}
REQUIRED_VALID = ("dx_m", "dx_tolerance", "arrhenius", "slidingco")
OUT_OF_RANGE = ("error", "warn")
"""What an emulator does with a state outside its valid ranges: refuse it, or warn and
predict."""


def validate_manifest(manifest: dict, where: str = "manifest") -> dict:
    """Check that a manifest has every required entry with the right type; return it or raise
    InputError naming what is missing or wrong."""
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(manifest).__name__}")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise InputError(f"{where}: missing entr(ies) {missing}")
    wrong = [k for k, t in REQUIRED.items() if not isinstance(manifest[k], t)]
    if wrong:
        raise InputError(f"{where}: entr(ies) {wrong} have the wrong type")
    if manifest["manifest_version"] != MANIFEST_VERSION:
        raise InputError(f"{where}: manifest_version {manifest['manifest_version']}, this "
                         f"icebench reads {MANIFEST_VERSION}")
    missing = [k for k in REQUIRED_VALID if k not in manifest["valid"]]
    if missing:
        raise InputError(f"{where}: 'valid' lacks {missing}")
    for io in ("inputs", "outputs"):
        for entry in manifest[io]:
            if not {"name", "units", "scale"} <= set(entry):
                raise InputError(f"{where}: every entry of '{io}' needs name, units and scale; "
                                 f"got {entry}")
    if manifest["out_of_range"] not in OUT_OF_RANGE:
        raise InputError(f"{where}: out_of_range must be 'error' or 'warn'")
    return manifest


def read_manifest(bundle) -> dict:
    """The validated manifest of a bundle directory."""
    path = Path(bundle) / MANIFEST
    if not path.exists():
        raise InputError(f"'{bundle}' is not an emulator bundle: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    return validate_manifest(manifest, str(path))
