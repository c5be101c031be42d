"""Domains (DEM windows, synthetic valleys, Halfar dome) and NetCDF/Zarr I/O."""

import numpy as np
import pytest
import xarray as xr

from glacier.errors import InputError
from glacier.geometry import (TOPOGRAPHIES, build_domain, halfar_state, halfar_thickness,
                              halfar_t0, synthetic_valley, topography_window)
from glacier.io import read_state, write_dataset
from glacier.validation import validate_state


@pytest.mark.parametrize("name", sorted(TOPOGRAPHIES))
def test_bundled_topographies_load_as_they_are(name):
    state = read_state(TOPOGRAPHIES[name])
    assert state.thk.max() == 0 and np.allclose(state.topg, state.usurf)
    assert state.usurf.attrs["units"] == "m"
    assert float(state.x[1] - state.x[0]) == float(name.split("_")[1][:-1])


def test_topography_window_resamples():
    win = topography_window("linth_200m", resolution=400.0, nx=16, ny=12)
    validate_state(win)
    assert win.sizes == {"y": 12, "x": 16}
    assert float(win.x[1] - win.x[0]) == 400.0
    with pytest.raises(InputError, match="leaves the DEM"):
        topography_window("linth_200m", nx=1000, ny=10)


def test_aletsch_window_keeps_icemask():
    win = topography_window("aletsch_100m", resolution=200.0)
    assert set(np.unique(win.icemask.values)) == {0.0, 1.0}


def test_synthetic_valleys_are_seeded():
    a, b, c = synthetic_valley(3), synthetic_valley(3), synthetic_valley(4)
    xr.testing.assert_identical(a, b)
    assert not np.allclose(a.topg, c.topg)
    validate_state(a)
    # a valley: the floor falls along x and the walls rise across it
    assert a.topg.isel(x=0).min() > a.topg.isel(x=-1).min() + 300


def test_build_domain_from_config_entries():
    grid = {"resolution": 200.0, "nx": 20, "ny": 16}
    assert build_domain({"synthetic_seed": 1}, grid).sizes == {"y": 16, "x": 20}
    real = build_domain({"topography": "aletsch_100m", "x0": 420500, "y0": 5146500}, grid)
    assert real.sizes == {"y": 16, "x": 20} and float(real.x[0]) == 420500.0


def test_halfar_solution_conserves_volume_in_time():
    """Halfar's dome keeps its volume: V(t) = const (quadrature on a fine grid)."""
    r = np.linspace(0, 30e3, 30001)
    t0 = halfar_t0(500.0, 10e3, 78.0)
    vols = [np.trapezoid(2 * np.pi * r * halfar_thickness(r, t, 500.0, 10e3, 78.0), r)
            for t in (t0, 3 * t0, 30 * t0)]
    np.testing.assert_allclose(vols, vols[0], rtol=1e-4)
    assert halfar_state(20, 15e3, 500.0, 10e3, 78.0).thk.max() > 450


def test_write_is_atomic_and_roundtrips(tmp_path, small_state):
    for name in ("s.nc", "s.zarr"):
        path = write_dataset(small_state, tmp_path / name)
        back = read_state(path)
        np.testing.assert_allclose(back.thk, small_state.thk)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_failed_write_leaves_nothing(tmp_path, small_state):
    bad = small_state.assign(obj=(("y", "x"), np.full(small_state.thk.shape, object())))
    with pytest.raises(Exception):
        write_dataset(bad, tmp_path / "bad.nc")
    assert list(tmp_path.iterdir()) == []


def test_missing_file_and_missing_elevation(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_state(tmp_path / "none.nc")
    xr.Dataset({"thk": (("y", "x"), np.zeros((4, 4)))},
               coords={"x": np.arange(4.0), "y": np.arange(4.0)}).to_netcdf(tmp_path / "t.nc")
    with pytest.raises(InputError, match="neither 'usurf' nor 'topg'"):
        read_state(tmp_path / "t.nc")


def test_estimated_thickness_is_perfect_plasticity_inside_the_outline():
    """On a plane of slope 0.2 the interior thickness is tau / (f rho g sin(alpha)); it tapers
    linearly to zero at the outline (half a cell outside the edge cells) and is zero outside."""
    from glacier.constants import RHO_G
    from glacier.geometry import estimated_thickness

    dx = 100.0
    x = dx * np.arange(60)
    surface = np.broadcast_to(3000.0 - 0.2 * x, (40, 60))
    outline = np.zeros((40, 60), bool)
    outline[5:35, 5:55] = True
    thk = estimated_thickness(surface, outline, dx, basal_stress=0.1, shape_factor=0.8,
                              margin_scale=500.0)
    expected = 0.1 / (0.8 * RHO_G * np.sin(np.arctan(0.2)))
    assert thk[20, 30] == pytest.approx(expected, rel=1e-9)
    assert np.all(thk[~outline] == 0)
    # edge cells: 50 m from the outline; two cells in: 250 m
    assert thk[5, 30] == pytest.approx(0.1 * expected, rel=1e-9)
    assert thk[7, 30] == pytest.approx(0.5 * expected, rel=1e-9)


def test_outlined_glacier_is_a_valid_state_with_ice_inside_its_window():
    from glacier.geometry import outlined_glacier
    from glacier.validation import validate_state

    state = validate_state(outlined_glacier("ticino_200m", 450923, 5147591, 40, 36, 200.0, 2600))
    ice = state.thk.values > 1
    assert ice.sum() > 50 and not ice[0].any() and not ice[:, 0].any()
    assert np.allclose(state.topg + state.thk, state.usurf)
