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
