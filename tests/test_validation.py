"""Every kind of bad input raises InputError naming the field (and cell) at fault."""

import numpy as np
import pytest
import xarray as xr

from glacier.errors import InputError
from glacier.validation import validate_state


def test_valid_state_passes(small_state):
    assert validate_state(small_state) is small_state


def _set(ds, name, j, i, value):
    arr = ds[name].values.copy()
    arr[j, i] = value
    ds[name] = (("y", "x"), arr)
    return ds


def _thicken(ds, j, i, value):
    ds = _set(ds, "thk", j, i, value)
    ds["usurf"] = ds.topg + ds.thk
    return ds


def _regrid(ds, coord, values):
    return ds.assign_coords({coord: values})


BAD_INPUTS = {
    "missing field": (lambda ds: ds.drop_vars("thk"), r"missing field\(s\) \['thk'\]"),
    "NaN": (lambda ds: _set(ds, "arrhenius", 3, 4, np.nan), r"'arrhenius' has a NaN at cell \(j=3, i=4\)"),
    "infinity": (lambda ds: _set(ds, "slidingco", 2, 1, np.inf), r"'slidingco' has a infinite value at cell \(j=2, i=1\)"),
    "negative thickness": (lambda ds: _thicken(ds, 5, 6, -3.0), r"'thk': negative thickness .* cell \(j=5, i=6\)"),
    "absurd thickness": (lambda ds: _thicken(ds, 1, 2, 6000.0), r"'thk': thicker than 5000"),
    "surface below bed + thickness": (lambda ds: _set(ds, "thk", 4, 4, 400.0), r"'usurf', 'topg', 'thk' disagree.*cell \(j=4, i=4\)"),
    "mismatched shape": (lambda ds: ds.assign(smb=(("y2", "x"), np.zeros((3, ds.sizes["x"])))), r"'smb' has dims \('y2', 'x'\)"),
    "non-uniform spacing": (lambda ds: _regrid(ds, "x", np.r_[0, 100, 250, 100.0 * np.arange(3, 12)]), r"'x' is not uniform"),
    "descending coordinates": (lambda ds: _regrid(ds, "y", ds.y.values[::-1]), r"'y' is not increasing"),
    "rectangular cells": (lambda ds: _regrid(ds, "y", 50.0 * np.arange(ds.sizes["y"])), r"differs in x \(100.0 m\) and y \(50.0 m\)"),
    "coordinates in km": (lambda ds: _regrid(_regrid(ds, "x", ds.x.values / 1000), "y", ds.y.values / 1000), r"surface slope above 2.0 over 68 of 68 ice-covered cells"),
    "wrong units": (lambda ds: ds.assign(thk=ds.thk.assign_attrs(units="km")), r"'thk' has units 'km', expected 'm'"),
    "wrong dtype": (lambda ds: ds.assign(icemask=(("y", "x"), np.full(ds.thk.shape, "a"))), r"'icemask' has dtype"),
    "grid too small": (lambda ds: ds.isel(x=slice(0, 2)), r"grid too small: 2 cells along x"),
    "arrhenius out of range": (lambda ds: _set(ds, "arrhenius", 0, 0, 1e6), r"'arrhenius': above 10000"),
    "negative sliding coefficient": (lambda ds: _set(ds, "slidingco", 0, 0, -1.0), r"'slidingco': below 0"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_named(small_state, kind):
    corrupt, message = BAD_INPUTS[kind]
    with pytest.raises(InputError, match=message):
        validate_state(corrupt(small_state.copy(deep=True)))


def test_not_a_dataset():
    with pytest.raises(InputError, match="expected an xarray.Dataset"):
        validate_state(xr.DataArray([1.0]))


def test_unit_spellings_are_accepted(small_state):
    ds = small_state.copy()
    ds["arrhenius"].attrs["units"] = "MPa^-3 year^-1"
    ds["smb"] = (("y", "x"), np.zeros(ds.thk.shape), {"units": "m/a"})
    validate_state(ds)


def test_ice_on_a_cliff_is_accepted(small_state):
    """Ice of any thickness over a bed step of centred slope 2.5 is real Alpine terrain (hanging
    ice), not a units error: only a bulk of steep ice cells is refused."""
    ds = small_state.copy(deep=True)
    dx = float(ds.x[1] - ds.x[0])
    ds["topg"] = ds.topg + xr.where(ds.x > ds.x[6], 5.0 * dx, 0.0)  # one 5 dx step
    for thk in (0.5, 50.0):
        ds["thk"] = xr.zeros_like(ds.topg) + thk
        ds["usurf"] = ds.topg + ds.thk
        validate_state(ds)
