"""Field names (IGM's), their units and physical ranges, and the gridded state as an xarray Dataset.

A *state* is an ``xarray.Dataset`` on a regular grid with dims ``(y, x)`` and coordinates ``x``,
``y`` (cell centres, m, increasing). Every variable carries a ``units`` attribute.
"""

from dataclasses import dataclass

import numpy as np
import xarray as xr

from glacier.constants import ARRHENIUS_TEMPERATE, SLIDINGCO_DEFAULT


@dataclass(frozen=True)
class FieldSpec:
    """What a field means: its units, a long name and the range of physically sensible values."""

    units: str
    long_name: str
    valid_min: float
    valid_max: float


FIELDS: dict[str, FieldSpec] = {
    "topg": FieldSpec("m", "bedrock elevation", -1.0e4, 1.0e4),
    "usurf": FieldSpec("m", "ice surface elevation", -1.0e4, 1.0e4),
    "thk": FieldSpec("m", "ice thickness", 0.0, 5000.0),
    "icemask": FieldSpec("1", "mask of where ice may grow (1) or not (0)", 0.0, 1.0),
    "smb": FieldSpec("m a-1", "surface mass balance, ice equivalent", -100.0, 100.0),
    "arrhenius": FieldSpec("MPa-3 a-1", "Glen rate factor A", 1e-3, 1e4),
    "slidingco": FieldSpec("MPa a(1/3) m-(1/3)", "Weertman sliding coefficient c", 0.0, 100.0),
    "slopsurfx": FieldSpec("1", "surface slope ds/dx", -2.0, 2.0),
    "slopsurfy": FieldSpec("1", "surface slope ds/dy", -2.0, 2.0),
    "ubar": FieldSpec("m a-1", "depth-averaged x velocity", -1e5, 1e5),
    "vbar": FieldSpec("m a-1", "depth-averaged y velocity", -1e5, 1e5),
    "uvelsurf": FieldSpec("m a-1", "surface x velocity", -1e5, 1e5),
    "vvelsurf": FieldSpec("m a-1", "surface y velocity", -1e5, 1e5),
    "uvelbase": FieldSpec("m a-1", "basal x velocity", -1e5, 1e5),
    "vvelbase": FieldSpec("m a-1", "basal y velocity", -1e5, 1e5),
}

VELOCITY_FIELDS = ("ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase", "vvelbase")
"""The outputs of every flow model (m a-1), as (x, y) pairs."""

SIA_FIELDS = ("thk", "slopsurfx", "slopsurfy", "arrhenius")
"""The fields that the closed-form SIA deformation velocity needs (m, 1, 1, MPa-3 a-1)."""

FLOW_FIELDS = SIA_FIELDS + ("slidingco",)
"""The fields of the local stress balance with sliding (the first-order energy, the SIA with
Weertman sliding): ``SIA_FIELDS`` and the sliding coefficient (MPa a1/3 m-1/3)."""

STATE_DEFAULTS = {"arrhenius": ARRHENIUS_TEMPERATE, "slidingco": SLIDINGCO_DEFAULT}


def grid_spacing(ds: xr.Dataset) -> float:
    """Cell size (m) of a state's regular grid, assumed validated (equal in x and y)."""
    return float(ds.x[1] - ds.x[0])


def make_state(x, y, **fields) -> xr.Dataset:
    """Build a state from 1-D cell-centre coordinates (m) and 2-D arrays named as in FIELDS.

    ``thk`` defaults to zero, ``topg``/``usurf`` are completed from each other and ``thk``,
    and every variable gets its units and long name.
    """
    ds = xr.Dataset(
        {k: (("y", "x"), np.asarray(v, dtype=float)) for k, v in fields.items()},
        coords={"x": np.asarray(x, dtype=float), "y": np.asarray(y, dtype=float)},
    )
    return complete_state(ds)


def complete_state(ds: xr.Dataset, **defaults: float) -> xr.Dataset:
    """Fill what a state can derive: ``thk`` (0), ``topg``/``usurf``, ``icemask`` (1) and the
    constant ``arrhenius``/``slidingco`` fields from ``defaults`` or STATE_DEFAULTS; set units.

    Values already in the dataset are kept; fields named in ``defaults`` override them.
    """
    ds = ds.copy()
    shape = (ds.sizes["y"], ds.sizes["x"])
    if "thk" not in ds:
        ds["thk"] = (("y", "x"), np.zeros(shape))
    if "topg" not in ds and "usurf" in ds:
        ds["topg"] = ds["usurf"] - ds["thk"]
    if "usurf" not in ds and "topg" in ds:
        ds["usurf"] = ds["topg"] + ds["thk"]
    if "icemask" not in ds:
        ds["icemask"] = (("y", "x"), np.ones(shape))
    for name, value in {**STATE_DEFAULTS, **defaults}.items():
        if name not in ds or name in defaults:
            ds[name] = (("y", "x"), np.full(shape, float(value)))
    return with_units(ds)


def with_units(ds: xr.Dataset) -> xr.Dataset:
    """Set ``units`` and ``long_name`` of every known field and of the x/y coordinates."""
    for name, var in ds.variables.items():
        if name in FIELDS:
            var.attrs.setdefault("units", FIELDS[name].units)
            var.attrs.setdefault("long_name", FIELDS[name].long_name)
    for c in ("x", "y"):
        if c in ds.coords:
            ds[c].attrs.setdefault("units", "m")
    return ds


def surface_slopes(usurf: np.ndarray, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """Centred slopes (ds/dx, ds/dy) of a (y, x) elevation field such as ``usurf`` or
    ``topg`` (m) on spacing ``dx`` (m), one-sided at the domain edges (dimensionless)."""
    dsdy, dsdx = np.gradient(usurf, dx)
    return dsdx, dsdy
