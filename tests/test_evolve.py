"""Evolution driver with the closed-form SIA: volume conservation, output times, growth."""

import numpy as np
import pytest
import xarray as xr

from glacier.constants import RHO_G
from glacier.evolve import EvolveSettings, evolve
from glacier.fields import make_state
from glacier.flow import FlowModel, get_flow_model
from glacier.geometry import halfar_state
from glacier.smb import ZeroSmb


def test_sia_slab_matches_closed_form():
    """On a uniform slab the SIA surface speed is 2A/(n+1) (rho g sin a)^3 H^4 exactly."""
    x = 100.0 * np.arange(8)
    X, _ = np.meshgrid(x, x)
    slope, H, A = 0.05, 200.0, 78.0
    state = make_state(x, x, topg=-slope * X, thk=np.full(X.shape, H), arrhenius=np.full(X.shape, A))
    vel = get_flow_model("sia").velocity(state)
    expected = 2 * A / 4 * (RHO_G * slope) ** 3 * H**4
    np.testing.assert_allclose(vel.uvelsurf.values, expected, rtol=1e-12)
    np.testing.assert_allclose(vel.ubar.values, expected * 4 / 5, rtol=1e-12)
    assert np.all(vel.vbar.values == 0) and np.all(vel.uvelbase.values == 0)


def test_flow_models_implement_the_protocol():
    assert isinstance(get_flow_model("sia"), FlowModel)


def test_halfar_dome_keeps_its_volume():
    """A Halfar dome (H0 = 500 m, R0 = 10 km, A = 78) spreading for 1000 a under the SIA with
    zero SMB and closed boundaries keeps its volume within 0.1 % (in fact to round-off)."""
    state = halfar_state(nx=40, extent=20e3, h0=500.0, r0=10e3, arrhenius=78.0)
    run = evolve(state, get_flow_model("sia"), ZeroSmb(), EvolveSettings(years=1000.0,
                 output_interval=250.0), show_progress=False)
    vol = run.volume.values
    assert abs(vol[-1] - vol[0]) / vol[0] < 1e-3
    assert abs(vol[-1] - vol[0]) / vol[0] < 1e-12
    assert run.attrs["clipped_volume_m3"] == 0.0
    # the dome spreads: the centre thins, the margin advances
    assert run.thk[-1].max() < run.thk[0].max()
    assert run.area[-1] > run.area[0]
    assert np.all(np.isfinite(run.ubar.values))


def test_outputs_hit_exact_times(small_state):
    run = evolve(small_state, get_flow_model("sia"), ZeroSmb(),
                 EvolveSettings(years=25.0, output_interval=10.0, dt_max=3.0), show_progress=False)
    np.testing.assert_array_equal(run.time.values, [0.0, 10.0, 20.0, 25.0])
    assert set(run.data_vars) >= {"thk", "usurf", "ubar", "uvelsurf", "smb", "volume", "topg"}
    xr.testing.assert_allclose(run.usurf, (run.topg + run.thk).transpose(*run.usurf.dims))


def test_velocity_interval_reuses_velocities(small_state):
    calls = []

    class Counting:
        name = "counting-sia"

        def velocity(self, state, guess=None):
            calls.append(guess is not None)
            return get_flow_model("sia").velocity(state)

    evolve(small_state, Counting(), ZeroSmb(),
           EvolveSettings(years=10.0, output_interval=10.0, dt_max=1.0, velocity_interval=5.0),
           show_progress=False)
    assert len(calls) == 3  # t = 0, 5, 10
    assert calls[1:] == [True, True]


def test_fast_ice_renews_the_velocity_before_the_interval(small_state):
    """With ``velocity_displacement`` 1 cell, a flow of uniform 10 cells a-1 (under the ice) is
    renewed at the first step after it has moved a cell, not once in the 10 a interval: CFL
    steps of 0.3 / 10 = 0.03 a, so a renewal every 4 steps (0.12 a), at t = 0, 0.12, ...,
    0.96, and the snapshot at t = 1 a: 10 solves."""
    from glacier.fields import grid_spacing
    dx = grid_spacing(small_state)
    calls = []

    class Uniform:
        name = "uniform"

        def velocity(self, state, guess=None):
            calls.append(1)
            vel = get_flow_model("sia").velocity(state)
            ice = state.thk > 1.0
            return vel.assign(ubar=10.0 * dx * ice, vbar=0.0 * ice)

    evolve(small_state, Uniform(), ZeroSmb(),
           EvolveSettings(years=1.0, output_interval=1.0, velocity_interval=10.0,
                          velocity_displacement=1.0, diffusive_limit=False), show_progress=False)
    assert len(calls) == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"years": 10.0, "velocity_displacement": 0.0}, "velocity_displacement must be > 0"),
    ({"years": -1.0}, "years must be > 0"),
    ({"years": 10.0, "cfl": 1.5}, "cfl must be in"),
    ({"years": 10.0, "output_interval": 0.0}, "output_interval must be > 0"),
])
def test_bad_settings(kwargs, message):
    from glacier.errors import InputError
    with pytest.raises(InputError, match=message):
        EvolveSettings(**kwargs)


def test_unknown_flow_model_is_named():
    from glacier.errors import InputError
    with pytest.raises(InputError, match="unknown flow model 'stoke'; available: .*'stokes'"):
        get_flow_model("stoke")


def test_a_run_in_chunks_resumes_and_equals_one_run(small_state, tmp_path):
    """``evolve_in_chunks``: a run interrupted in its second chunk keeps its first chunk on
    disk (written atomically), and called again continues from there; the whole run equals one
    ``evolve`` over the same 4 years to round-off: the climate's clock (a rising ELA) runs on
    across chunks and the velocity is renewed at the same times (every 0.5 a, and at each
    snapshot, where chunks start)."""
    from glacier.errors import SolverError
    from glacier.evolve import evolve_in_chunks
    from glacier.smb import ElaSmb

    smb = ElaSmb(ela=[[0, 2080.0], [4, 2120.0]])
    settings = EvolveSettings(years=4.0, output_interval=1.0, velocity_interval=0.5)
    whole = evolve(small_state, get_flow_model("sia"), smb, settings, show_progress=False)

    class Failing:
        name = "sia"

        def __init__(self, after):
            self.calls, self.after = 0, after

        def velocity(self, state, guess=None):
            self.calls += 1
            if self.calls > self.after:
                raise SolverError("interrupted")
            return get_flow_model("sia").velocity(state)

    path, identity = tmp_path / "run.nc", {"model": "sia", "years": 4.0}
    with pytest.raises(SolverError):  # 2 a chunks: solves at 0, 0.5, ..., 2 then 2, 2.5, ...
        evolve_in_chunks(small_state, Failing(after=7), smb, settings, path, 2.0, identity,
                         show_progress=False)
    with xr.open_dataset(path) as partial:
        assert partial.time.values.tolist() == [0.0, 1.0, 2.0]
        assert partial.attrs["complete"] == 0
    run = evolve_in_chunks(small_state, get_flow_model("sia"), smb, settings, path, 2.0,
                           identity, show_progress=False)
    assert run.attrs["complete"] == 1
    np.testing.assert_array_equal(run.time.values, whole.time.values)
    for name in ("thk", "ubar", "smb", "volume"):
        np.testing.assert_allclose(run[name].values, whole[name].values, rtol=1e-12, atol=1e-9)
    with xr.open_dataset(path) as stored:
        np.testing.assert_allclose(stored.thk.values, whole.thk.values, rtol=1e-12, atol=1e-9)


def test_a_run_in_chunks_refuses_another_runs_file(small_state, tmp_path):
    from glacier.errors import InputError
    from glacier.evolve import evolve_in_chunks

    settings = EvolveSettings(years=1.0, output_interval=0.5)
    path = tmp_path / "run.nc"
    evolve_in_chunks(small_state, get_flow_model("sia"), ZeroSmb(), settings, path, 0.5,
                     {"ela": 2000.0}, show_progress=False)
    with pytest.raises(InputError, match="holds a run of other settings"):
        evolve_in_chunks(small_state, get_flow_model("sia"), ZeroSmb(), settings, path, 0.5,
                         {"ela": 2100.0}, show_progress=False)
    with pytest.raises(InputError, match="multiple of the output interval"):
        evolve_in_chunks(small_state, get_flow_model("sia"), ZeroSmb(), settings,
                         tmp_path / "other.nc", 0.7, {}, show_progress=False)
