"""The FlowModel interface that joins solvers, emulators and the evolution driver.

A flow model maps a validated 2-D state (``thk``, ``usurf``, ``topg``, ``arrhenius``,
``slidingco`` on a regular (y, x) grid, m / MPa / a) to the six velocity fields
``ubar, vbar, uvelsurf, vvelsurf, uvelbase, vvelbase`` in m a-1 on the same grid, zero where
there is no ice. The Stokes solver, the hybrid SIA+SSA solver, the closed-form SIA and every
emulator implement it, so callers swap them freely, as IGM swaps its ice-flow component.
They are found by name through the package entry points of the group ``ENTRY_POINTS``.
"""

import json
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr

from glacier.errors import InputError
from glacier.fields import VELOCITY_FIELDS, with_units


@runtime_checkable
class FlowModel(Protocol):
    """Anything with a ``name`` and a ``velocity(state, guess=None) -> Dataset`` method.

    ``guess`` is an earlier velocity Dataset on the same grid (e.g. the previous snapshot) that
    iterative solvers may use as a warm start; others ignore it. The returned Dataset holds the
    six VELOCITY_FIELDS (m a-1) and may carry a ``solver_report`` attribute (a dict: converged,
    iterations, wall time, DOFs).
    """

    name: str

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset: ...


StepFunction = Callable[[np.ndarray], dict[str, np.ndarray]]
"""``thk -> {field: array}``: the six velocity arrays (m a-1) of a (y, x) thickness (m) on a
bed and grid fixed beforehand (the surface is bed + thickness), zero without ice."""


@runtime_checkable
class PreparedFlowModel(Protocol):
    """A FlowModel that also offers a fast path for time loops: ``prepare(state)`` validates
    the state and its fixed fields (bed, A, c, grid) once and returns a ``StepFunction`` for
    thickness arrays on that bed (or None where it has none for this state). The
    step skips the per-call validation: its caller checks each thickness it passes
    (``glacier.validation.check_thickness``). The evolution driver uses it when present."""

    name: str

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset: ...

    def prepare(self, state: xr.Dataset) -> StepFunction | None: ...


def velocity_dataset(state: xr.Dataset, fields: dict[str, np.ndarray], report=None,
                     ice_threshold: float = 0.0) -> xr.Dataset:
    """Package the six velocity arrays (m a-1) on the grid of ``state``, zero where
    thk <= ``ice_threshold`` (m; a model's own definition of ice-free, e.g. 1 m for Stokes)."""
    missing = [f for f in VELOCITY_FIELDS if f not in fields]
    if missing:
        raise ValueError(f"flow model returned no {missing}")
    ice = state.thk.values > ice_threshold
    ds = xr.Dataset(
        {k: (("y", "x"), np.where(ice, np.asarray(fields[k], dtype=float), 0.0))
         for k in VELOCITY_FIELDS},
        coords={"x": state.x, "y": state.y},
    )
    if report is not None:
        ds.attrs["solver_report"] = report
    return with_units(ds)


ENTRY_POINTS = "icebench.flow_models"
"""The entry-point group that names the flow models: ``name = "module:factory"``, where
``factory(**options)`` returns a FlowModel. pyproject.toml lists icebench's own; any installed
package can add more under this group."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINTS)}


def available_models() -> list[str]:
    """Names of the flow models of the installed packages (read from their metadata: nothing
    is imported)."""
    return sorted(_entry_points())


def get_flow_model(name: str, **options) -> FlowModel:
    """Build the flow model ``name`` with its options. Only its own factory's module is
    imported, at this call: Firedrake takes seconds to import and most models do not need it."""
    entry = _entry_points().get(name)
    if entry is None:
        raise InputError(f"unknown flow model '{name}'; available: {available_models()}")
    return entry.load()(**options)


def _option_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def spec_model_name(spec: str) -> str:
    """The registry name of the flow model that ``flow_model_from_spec(spec)`` builds
    (``emulator`` for the path of an emulator)."""
    return "emulator" if Path(spec).exists() else spec.partition(":")[0]


def flow_model_from_spec(spec: str, **extra) -> FlowModel:
    """A flow model from ``name``, ``name:key=value[:key=value...]`` (values read as JSON, else
    text, e.g. ``sia:sliding=true``, ``stokes:layers=4:solver=direct``) or the path of an
    emulator (a bundle folder or a ``.keras`` file), or ``emulator:<instructor>`` for the newest
    published emulator of that instructor; ``extra`` options are added."""
    name = spec_model_name(spec)
    if Path(spec).exists():
        return get_flow_model(name, path=spec, **extra)
    opts = spec.partition(":")[2]
    if name == "emulator" and opts and "=" not in opts:
        # emulator:<instructor>: the newest published emulator of that instructor in library/
        return get_flow_model("emulator", instructor=opts, **extra)
    options = {}
    for item in filter(None, opts.split(":")):
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"model option '{item}' in '{spec}' is not key=value")
        options[key.strip()] = _option_value(value.strip())
    return get_flow_model(name, **options, **extra)
