"""Input validation of gridded states: every check raises InputError naming the field and cell.

Run ``validate_state`` before any work: a solver, the evolution driver and the data generator
never start on a state that fails it.
"""

import re

import numpy as np
import xarray as xr

from glacier.constants import ICE_FREE_THK
from glacier.errors import InputError
from glacier.fields import FIELDS, surface_slopes

MAX_THICKNESS = 5000.0
"""Thickest ice accepted (m); thicker is taken for a units or data error."""

MAX_SLOPE = 2.0
"""Surface slope (dimensionless) that the bulk of the ice may not exceed: a units check (x, y
in km against usurf in m multiplies every slope by 1000). It fails when more than half of the
ice-covered cells (thk > ICE_FREE_THK) are steeper; single steep cells are real (hanging ice
on Alpine cliffs reaches slopes of 2-3 on 100 m DEMs)."""

MIN_CELLS = 3
"""Fewest cells along each axis."""

_UNIT_ALIASES = [
    (r"\s+", ""), (r"\*\*|\^", ""), (r"years?|yr", "a"), (r"metres?|meters?", "m"),
    (r"/a$", "a-1"), (r"\.", ""),
]


def _normalise_units(units: str) -> str:
    text = units.strip().lower()
    for pattern, repl in _UNIT_ALIASES:
        text = re.sub(pattern, repl, text)
    return text


def _cell(ds: xr.Dataset, mask: np.ndarray) -> str:
    """Describe the first flagged cell of a boolean (y, x) mask and how many there are."""
    j, i = (int(v[0]) for v in np.nonzero(mask))
    where = f"cell (j={j}, i={i})"
    if "x" in ds.coords and "y" in ds.coords and ds.x.size > i and ds.y.size > j:
        where += f" at x={float(ds.x[i]):.1f} m, y={float(ds.y[j]):.1f} m"
    count = int(mask.sum())
    return where + (f" ({count} cells in all)" if count > 1 else "")


def validate_grid(ds: xr.Dataset) -> float:
    """Check the coordinates: 1-D x and y, increasing, uniform, equal spacing; return it (m)."""
    for c in ("x", "y"):
        if c not in ds.coords:
            raise InputError(f"coordinate '{c}' is missing: a state needs x and y cell centres in m")
        coord = np.asarray(ds[c].values)
        if coord.ndim != 1:
            raise InputError(f"coordinate '{c}' must be 1-D, got shape {coord.shape}")
        if coord.size < MIN_CELLS:
            raise InputError(f"grid too small: {coord.size} cells along {c}, need at least {MIN_CELLS}")
        if not np.issubdtype(coord.dtype, np.number) or not np.all(np.isfinite(coord)):
            raise InputError(f"coordinate '{c}' must be finite numbers")
        step = np.diff(coord)
        if np.any(step <= 0):
            k = int(np.argmax(step <= 0))
            raise InputError(f"coordinate '{c}' is not increasing at index {k} "
                             f"({coord[k]} -> {coord[k + 1]}); flip the data with sortby('{c}')")
        if not np.allclose(step, step[0], rtol=1e-6, atol=0):
            k = int(np.argmax(~np.isclose(step, step[0], rtol=1e-6, atol=0)))
            raise InputError(f"coordinate '{c}' is not uniform: spacing {step[0]} m at the start, "
                             f"{step[k]} m at index {k}; resample to a regular grid")
        units = ds[c].attrs.get("units")
        if units is not None and _normalise_units(str(units)) not in ("m", "meter", "metre"):
            raise InputError(f"coordinate '{c}' has units '{units}', expected 'm'")
    dx, dy = float(ds.x[1] - ds.x[0]), float(ds.y[1] - ds.y[0])
    if not np.isclose(dx, dy, rtol=1e-6):
        raise InputError(f"grid spacing differs in x ({dx} m) and y ({dy} m); cells must be square")
    return dx


def validate_field(ds: xr.Dataset, name: str) -> None:
    """Check one field: dims (y, x), numeric dtype, finite, expected units, physical range."""
    var = ds[name]
    if var.dims != ("y", "x"):
        raise InputError(f"field '{name}' has dims {var.dims} and shape {var.shape}, "
                         f"expected ('y', 'x') with shape {(ds.sizes.get('y'), ds.sizes.get('x'))}")
    if not (np.issubdtype(var.dtype, np.floating) or np.issubdtype(var.dtype, np.integer)):
        raise InputError(f"field '{name}' has dtype {var.dtype}, expected a numeric type")
    values = np.asarray(var.values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        kind = "NaN" if np.isnan(values[bad]).any() else "infinite value"
        raise InputError(f"field '{name}' has a {kind} at {_cell(ds, bad)}")
    spec = FIELDS.get(name)
    if spec is None:
        return
    units = var.attrs.get("units")
    if units is not None and _normalise_units(str(units)) != _normalise_units(spec.units):
        raise InputError(f"field '{name}' has units '{units}', expected '{spec.units}' "
                         f"({spec.long_name}); convert it first")
    if name == "thk":
        check_thickness(ds, values)
    else:
        _check_range(ds, name, values, spec.valid_min, spec.valid_max, "below", "above")


def check_thickness(ds: xr.Dataset, thk: np.ndarray) -> None:
    """``validate_state``'s range check of the thickness (in [0, MAX_THICKNESS] m) on a (y, x)
    array ``thk`` of the grid of ``ds``: for time loops that validate the state once and then
    pass new (finite) thicknesses to a flow model's fast path."""
    _check_range(ds, "thk", thk, 0.0, MAX_THICKNESS, "negative thickness", "thicker than")


def _check_range(ds, name, values, lo, hi, low_word, high_word):
    units = FIELDS[name].units
    low, high = values < lo, values > hi
    if low.any():
        detail = low_word if low_word.startswith("negative") else f"{low_word} {lo} {units}"
        raise InputError(f"field '{name}': {detail} ({values[low].min():.4g} {units}) "
                         f"at {_cell(ds, low)}")
    if high.any():
        raise InputError(f"field '{name}': {high_word} {hi} {units} ({values[high].max():.4g} "
                         f"{units}) at {_cell(ds, high)}")


def validate_state(ds: xr.Dataset, required=("thk", "usurf", "topg")) -> xr.Dataset:
    """Validate a state before any work and return it; raise InputError naming field and cell.

    Checks: required fields present; grid regular and increasing; every known field 2-D on the
    grid, numeric, finite, in its units and physical range; thickness in [0, 5000] m;
    ``usurf = topg + thk`` within 1 m; surface slope at most 2 over ice-covered cells.
    """
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    missing = [f for f in required if f not in ds]
    if missing:
        raise InputError(f"missing field(s) {missing}; a state needs {list(required)} "
                         f"(present: {sorted(ds.data_vars)})")
    dx = validate_grid(ds)
    for name in ds.data_vars:
        if name in FIELDS:
            validate_field(ds, name)
    if all(f in ds for f in ("thk", "usurf", "topg")):
        gap = np.abs(ds.usurf.values - ds.topg.values - ds.thk.values)
        off = gap > 1.0
        if off.any():
            raise InputError(f"fields 'usurf', 'topg', 'thk' disagree: usurf - topg - thk = "
                             f"{gap[off].max():.3g} m at {_cell(ds, off)} (the surface must equal "
                             f"bed + thickness; thickness above the surface?)")
    if "usurf" in ds and "thk" in ds:
        sx, sy = surface_slopes(ds.usurf.values, dx)
        ice = ds.thk.values > ICE_FREE_THK
        steep = (np.hypot(sx, sy) > MAX_SLOPE) & ice
        if ice.any() and steep.sum() > 0.5 * ice.sum():
            raise InputError(f"field 'usurf': surface slope above {MAX_SLOPE} over "
                             f"{steep.sum()} of {ice.sum()} ice-covered cells (first at "
                             f"{_cell(ds, steep)}); check the units of x, y and usurf")
    return ds
