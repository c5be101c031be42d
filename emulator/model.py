"""The inference FlowModel of a trained emulator: state -> the six velocity fields (m a-1).

``EmulatorFlowModel.load(path)`` takes a published bundle directory (``manifest.json`` +
``model.keras``), a training output directory (``training.json`` + ``model.keras``) or a
``.keras`` file next to either. ``load_flow_model`` is the flow model ``emulator`` (its entry
point in pyproject.toml; option ``path``, or ``instructor`` and ``library`` for the newest
published emulator of an instructor). With ``retrain_every`` K an emulator with level outputs
fine-tunes itself on each K-th state it is asked about (``finetune.EnergyFineTuning``).
``prepare(state)`` gives time loops the array fast path of ``emulator.step``.
"""

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from glacier.errors import InputError
from glacier.fields import grid_spacing, surface_slopes
from glacier.flow import StepFunction, velocity_dataset
from glacier.validation import validate_state
from emulator.finetune import RETRAIN_RATE, EnergyFineTuning, energy_levels
from emulator.manifest import GRID_SPACING, MANIFEST, OUT_OF_RANGE, read_manifest
from emulator.step import step_function

log = logging.getLogger("icebench")


DERIVED_INPUTS = ("slopsurfx", "slopsurfy", GRID_SPACING)
"""Network inputs computed from the state rather than read from it."""

COMPANION_LIBRARY = Path(__file__).resolve().parent.parent / "library"
"""The emulator library shipped in the repository (trained by ``config/library.yaml``), found
from this package's location."""


def default_library() -> Path:
    """Where ``emulator:<instructor>`` looks: ``$ICEBENCH_LIBRARY`` if set, else the
    repository's companion library, whatever the working directory."""
    if os.environ.get("ICEBENCH_LIBRARY"):
        return Path(os.environ["ICEBENCH_LIBRARY"])
    return COMPANION_LIBRARY


def latest_bundle(library, instructor: str) -> Path:
    """The newest bundle ``<library>/<instructor>/vNNN`` (highest version number)."""
    base = Path(library) / instructor
    versions = sorted(p for p in base.glob("v[0-9]*") if (p / MANIFEST).exists())
    if not versions:
        raise InputError(f"no published emulator of instructor '{instructor}' in '{library}'")
    return versions[-1]


def _training_limits(summary: dict) -> dict:
    """The manifest entries that inference needs, from a training summary (training.json)."""
    config = summary["config"]
    return {"inputs": [{"name": f, "scale": s} for f, s in summary["input_scales"].items()],
            "outputs": [{"name": f, "scale": s} for f, s in summary["output_scales"].items()],
            "valid": {**summary["trained_ranges"], "dx_tolerance": 0.01},
            "out_of_range": "error", "ice_threshold_m": config["ice_threshold"],
            "instructor": {"name": summary["instructor"]}, "model_file": "model.keras",
            "training": {"config": config}}


def resolve(path) -> tuple[Path, dict]:
    """(model file, manifest-like dict) of a bundle, a training directory or a .keras file."""
    import json
    path = Path(path)
    if not path.exists():
        raise InputError(f"emulator '{path}' does not exist")
    directory = path.parent if path.is_file() else path
    if (directory / MANIFEST).exists():
        manifest = read_manifest(directory)
        return directory / manifest["model_file"], manifest
    if (directory / "training.json").exists():
        summary = json.loads((directory / "training.json").read_text())
        return (path if path.is_file() else directory / "model.keras"), _training_limits(summary)
    raise InputError(f"'{path}' is neither an emulator bundle ({MANIFEST}) nor a training "
                     "directory (training.json)")


class EmulatorFlowModel:
    """A trained emulator as a FlowModel; checks the state against the manifest's validity
    (grid spacing within ``dx_tolerance`` of a trained one, A and c under ice within the
    trained ranges): an InputError, or a warning if the manifest says ``out_of_range: warn``.
    ``retrain_every`` K (emulators with level outputs only): one fine-tuning step at rate
    ``retrain_rate`` on every K-th state, before predicting it. ``out_of_range`` (error |
    warn) overrides the manifest's choice."""

    def __init__(self, keras_model, manifest: dict, source: str = "",
                 retrain_every: int | None = None, retrain_rate: float = RETRAIN_RATE,
                 out_of_range: str | None = None):
        if out_of_range is not None:
            if out_of_range not in OUT_OF_RANGE:
                raise InputError(f"out_of_range must be 'error' or 'warn', got '{out_of_range}'")
            manifest = {**manifest, "out_of_range": out_of_range}
        self.keras_model = keras_model
        self.manifest = manifest
        self.inputs = [e["name"] for e in manifest["inputs"]]
        self.outputs = [e["name"] for e in manifest["outputs"]]
        self.name = f"emulator[{manifest['instructor']['name']}]"
        self.source = source
        self.finetuning = None
        if retrain_every is not None:
            self.finetuning = EnergyFineTuning(keras_model, self.inputs,
                                               energy_levels(manifest, source or self.name),
                                               int(retrain_every), float(retrain_rate))

    @classmethod
    def load(cls, path, **finetuning) -> "EmulatorFlowModel":
        from emulator.zoo import load_model
        model_file, manifest = resolve(path)
        return cls(load_model(model_file, compile=False), manifest, str(path), **finetuning)

    def check(self, state: xr.Dataset) -> None:
        """Raise InputError (or warn) where the state is outside the trained conditions."""
        valid = self.manifest["valid"]
        problems = []
        dx = grid_spacing(state)
        tol = float(valid["dx_tolerance"])
        if not any(abs(dx - d) <= tol * d for d in valid["dx_m"]):
            problems.append(f"grid spacing {dx:g} m is not a trained resolution {valid['dx_m']} m")
        ice = state.thk.values > self.manifest["ice_threshold_m"]
        for name, units in (("arrhenius", "MPa-3 a-1"), ("slidingco", "MPa a1/3 m-1/3")):
            lo, hi = valid[name]
            values = state[name].values[ice]
            slack = 1e-6 * max(abs(lo), abs(hi))
            if values.size and (values.min() < lo - slack or values.max() > hi + slack):
                problems.append(f"field '{name}' under ice spans {values.min():.4g} .. "
                                f"{values.max():.4g} {units}, outside the trained range "
                                f"{lo:.4g} .. {hi:.4g} {units}")
        if not problems:
            return
        message = f"emulator {self.source or self.name}: " + "; ".join(problems)
        if self.manifest["out_of_range"] == "warn":
            warnings.warn(message, stacklevel=3)
            log.warning(message)
        else:
            raise InputError(message)

    def require_inputs(self, state: xr.Dataset) -> None:
        """Raise InputError if ``state`` lacks a field the network takes (the slopes and the
        grid spacing are derived from it)."""
        missing = [f for f in self.inputs if f not in DERIVED_INPUTS and f not in state]
        if missing:
            raise InputError(f"the state lacks field(s) {missing} that the emulator needs")

    def input_fields(self, state: xr.Dataset) -> np.ndarray:
        """The network input (1, y, x, channels) of a state, in the fields' units."""
        self.require_inputs(state)
        dx = grid_spacing(state)
        sx, sy = surface_slopes(state.usurf.values, dx)
        derived = {"slopsurfx": sx, "slopsurfy": sy,
                   GRID_SPACING: np.full(state.thk.shape, dx)}
        channels = [derived[f] if f in derived else state[f].values for f in self.inputs]
        return np.stack(channels, axis=-1)[None].astype(np.float32)

    def prepare(self, state: xr.Dataset) -> StepFunction | None:
        """The fast path for a time loop on ``state``'s grid and fixed fields (``emulator.step``):
        the state validated and checked against the manifest once, then a function
        ``thk -> {field: array}`` that skips both; its caller checks the thickness it passes.
        None for an emulator that fine-tunes itself (it needs the host input)."""
        if self.finetuning is not None:
            return None
        state = validate_state(state, required=("thk", "usurf", "topg", "arrhenius", "slidingco"))
        self.check(state)
        self.require_inputs(state)
        return step_function(self.keras_model, self.inputs, self.outputs, state,
                             float(self.manifest["ice_threshold_m"]))

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        """Velocities (m a-1) of a validated state on any grid, zero where thk <= the manifest's
        ``ice_threshold_m``; ``guess`` is ignored."""
        state = validate_state(state, required=("thk", "usurf", "topg", "arrhenius", "slidingco"))
        self.check(state)
        x = self.input_fields(state)
        report = {"converged": True, "iterations": 0, "emulator": self.source or self.name}
        if self.finetuning is not None:
            self.finetuning.step(x, grid_spacing(state))
            report.update(self.finetuning.report())
        t0 = time.perf_counter()
        # predict_on_batch runs the compiled graph (traced once per grid shape); a plain eager
        # call costs about ten times more here
        y = np.asarray(self.keras_model.predict_on_batch(x))[0]
        seconds = time.perf_counter() - t0
        fields = {f: y[..., i] for i, f in enumerate(self.outputs)}
        # the network learnt only where thk > the ice threshold (masked loss); elsewhere its
        # output means nothing, so it is zero there, as the Stokes model's is
        return velocity_dataset(state, fields, report={**report, "wall_time_s": seconds},
                                ice_threshold=float(self.manifest["ice_threshold_m"]))


def load_flow_model(path=None, instructor: str | None = None, library=None,
                    retrain_every: int | None = None, retrain_rate: float = RETRAIN_RATE,
                    out_of_range: str | None = None) -> EmulatorFlowModel:
    """The emulator at ``path``, or the newest one of ``instructor`` in ``library`` (default:
    ``default_library()``); ``retrain_every``, ``retrain_rate``, ``out_of_range``: see
    ``EmulatorFlowModel``."""
    if path is None:
        if instructor is None:
            raise InputError("the emulator flow model needs a 'path' or an 'instructor'")
        path = latest_bundle(library if library is not None else default_library(), instructor)
    return EmulatorFlowModel.load(path, retrain_every=retrain_every, retrain_rate=retrain_rate,
                                  out_of_range=out_of_range)
