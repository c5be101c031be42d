"""Domains (DEM windows, synthetic beds, Halfar dome) and NetCDF/Zarr I/O."""

import numpy as np
import pytest
import xarray as xr
import yaml

from glacier.dataset import touches_border
from glacier.errors import InputError
from glacier.evolve import grow_glacier
from glacier.geometry import (SYNTHETIC_BEDS, SYNTHETIC_ELA, TOPOGRAPHIES, build_domain,
                              halfar_state, halfar_thickness, halfar_t0, synthetic_valley,
                              topography_window)
from glacier.schema import SCHEMA_PATH
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
    xr.testing.assert_identical(build_domain({"synthetic": "valley", "seed": 1}, grid),
                                build_domain({"synthetic_seed": 1}, grid))
    cirque = build_domain({"synthetic": "cirque", "seed": 3}, grid)
    assert cirque.sizes == {"y": 16, "x": 20}
    assert cirque.attrs["source"] == "synthetic_cirque(seed=3)"
    with pytest.raises(InputError, match="synthetic bed 'fjord' is none of"):
        build_domain({"synthetic": "fjord", "seed": 1}, grid)


def test_the_schema_names_every_synthetic_bed():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    spec = schema["properties"]["domains"]["additionalProperties"]["properties"]["synthetic"]
    assert spec["enum"] == list(SYNTHETIC_BEDS)


ICE_FREE_BEDS = ("cirque", "ice_cap", "dome")


@pytest.mark.parametrize("name", ICE_FREE_BEDS)
def test_synthetic_beds_are_seeded_in_physical_units(name):
    """Same seed, same bed; another seed, another bed; without the random roughness the bed on
    a 200 m grid is the 100 m bed of the same extent at every other cell."""
    make = SYNTHETIC_BEDS[name]
    a, b, c = make(3, 40, 30, 200.0), make(3, 40, 30, 200.0), make(4, 40, 30, 200.0)
    xr.testing.assert_identical(a, b)
    assert a.sizes == {"y": 30, "x": 40} and not np.allclose(a.topg, c.topg)
    validate_state(a)
    fine, coarse = make(5, 63, 63, 100.0, noise=0.0), make(5, 32, 32, 200.0, noise=0.0)
    np.testing.assert_allclose(fine.topg.values[::2, ::2], coarse.topg.values, atol=1e-6)


def test_synthetic_bed_shapes():
    """The dome peaks near the middle, the ice cap has a broad top above SYNTHETIC_ELA, the
    cirque's bowl lies below its back wall and above its valley; all stand on a lowland far
    below SYNTHETIC_ELA at the border."""
    grid = (32, 32, 200.0)
    for name in ICE_FREE_BEDS:
        bed = SYNTHETIC_BEDS[name](0, *grid, noise=0.0).topg.values
        border = np.concatenate([bed[0], bed[-1], bed[:, 0], bed[:, -1]])
        assert border.max() < SYNTHETIC_ELA - 200.0 < SYNTHETIC_ELA + 200.0 < bed.max(), name
    dome = SYNTHETIC_BEDS["dome"](0, *grid, noise=0.0).topg.values
    peak = np.unravel_index(np.argmax(dome), dome.shape)
    assert max(abs(peak[0] - 15.5), abs(peak[1] - 15.5)) <= 2
    cap = SYNTHETIC_BEDS["ice_cap"](0, *grid, noise=0.0).topg.values
    assert (cap > SYNTHETIC_ELA + 100.0).sum() * 0.04 > 3.0  # km2 of plateau
    cirque = SYNTHETIC_BEDS["cirque"](0, *grid, noise=0.0).topg.values
    axis = cirque[12 + np.argmin(cirque[12:20, 16])]  # the valley floor's row, near the middle
    crest = int(np.argmax(axis))  # the back wall's crest
    bowl = crest + int(np.argmin(axis[crest:crest + 5]))  # the lowest cell 1 km below it
    assert axis[crest] > axis[bowl] + 200.0 and axis[bowl] > axis[bowl + 8] + 150.0


@pytest.mark.parametrize("name", ICE_FREE_BEDS)
def test_synthetic_beds_grow_glaciers_inside_their_border(name):
    """60 years of SIA growth at SYNTHETIC_ELA on 32 x 32 cells of 200 m: a glacier whose ice
    stays off the domain border (docs/glacier.md: also at 300 years)."""
    grown = grow_glacier(SYNTHETIC_BEDS[name](1, 32, 32, 200.0), 60.0, SYNTHETIC_ELA)
    assert float(grown.thk.max()) > 50.0 and not touches_border(grown.thk.values)


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


def test_reestimated_glacier_keeps_surface_and_outline_and_scales_with_basal_stress():
    """A glacier of estimated thickness estimated again: the same surface and outline, the
    bed the surface minus the new H; with only the basal stress changed the thickness scales
    by its ratio exactly (H is linear in it); a state with no ice is refused."""
    from glacier.geometry import outlined_glacier, reestimated_glacier
    from glacier.validation import validate_state

    estimate = {"basal_stress": 0.15, "slope_scale": 1000.0, "min_slope": 0.025}
    state = outlined_glacier("ticino_200m", 450923, 5147591, 40, 36, 200.0, 2600, **estimate)
    thin = validate_state(reestimated_glacier(state, **{**estimate, "basal_stress": 0.09}))
    np.testing.assert_array_equal(thin.usurf.values, state.usurf.values)
    np.testing.assert_array_equal(thin.thk.values > 0, state.thk.values > 0)
    np.testing.assert_allclose(thin.thk.values, 0.6 * state.thk.values, rtol=1e-12)
    np.testing.assert_allclose(thin.topg + thin.thk, thin.usurf, rtol=0, atol=1e-9)
    assert thin.thk.attrs["units"] == "m" and "basal_stress=0.09" in thin.attrs["source"]
    smooth = reestimated_glacier(state, **{**estimate, "slope_scale": 2000.0})
    ratio = smooth.thk.values[state.thk.values > 0] / state.thk.values[state.thk.values > 0]
    assert ratio.min() < 0.95 and ratio.max() > 1.05   # another shape, not a scaling
    with pytest.raises(InputError, match="no ice"):
        reestimated_glacier(state.assign(thk=0.0 * state.thk), **estimate)


def test_massif_windows_find_whole_massifs_clear_of_other_domains(tmp_path):
    """``massif_windows`` on a made DEM of five hills (200 m cells, read at 100 m): only the hill
    of the right size, with room for its margin and under no avoided rectangle, is found,
    once; its window, outlined as a domain is, holds that massif whole."""
    from glacier.geometry import massif_windows, summit_region

    x = 200.0 * np.arange(300)
    X, Y = np.meshgrid(x, x)

    def hill(cx, cy, height, sigma):
        return height * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * sigma**2))

    z = 2000.0 + hill(15e3, 15e3, 1000, 1360) + hill(45e3, 15e3, 600, 1000) \
        + hill(800, 40e3, 1000, 1360) + hill(40e3, 45e3, 1000, 5000) \
        + hill(15e3, 45e3, 1000, 1360)
    dem = xr.Dataset({"usurf": (("y", "x"), z), "thk": (("y", "x"), np.zeros_like(z))},
                     coords={"x": x, "y": x})
    dem.to_netcdf(tmp_path / "hills.nc")
    avoid = [(12e3, 42e3, 18e3, 48e3)]                 # over the fifth hill
    found = massif_windows(tmp_path / "hills.nc", [2500, 2600], size=96, resolution=100.0,
                           margin=1000.0, cells=(300, 1500), avoid=avoid)
    assert len(found) == 1
    w = found[0]
    # the first hill: radius 1.36 km * sqrt(2 ln 2) = 1.60 km above 2500 m, ~805 cells of 1 ha
    assert w["outline_elevation"] == 2500 and abs(w["cells"] - 805) < 40
    assert abs(w["x0"] + 4750 - 15e3) <= 200 and abs(w["y0"] + 4750 - 15e3) <= 200
    window = topography_window(tmp_path / "hills.nc", 100.0, w["x0"], w["y0"], 96, 96)
    massif = summit_region(window.topg.values, w["outline_elevation"])
    assert massif.sum() == w["cells"]
    margin = 10                                       # 1 km of ice-free cells on every side
    assert not massif[:margin].any() and not massif[-margin:].any()
    assert not massif[:, :margin].any() and not massif[:, -margin:].any()
    with pytest.raises(InputError, match="do not fit the DEM"):
        massif_windows(tmp_path / "hills.nc", [2500], size=700)
