"""The Stokes FlowModel on a gridded glacier with ice-free cells (real Firedrake solves)."""

import numpy as np
import pytest

pytest.importorskip("firedrake")

from glacier.fields import VELOCITY_FIELDS  # noqa: E402
from glacier.flow import get_flow_model  # noqa: E402
from glacier.sia import sia_velocities  # noqa: E402


@pytest.fixture(scope="module")
def cap_velocity():
    from glacier.fields import make_state

    x = 100.0 * np.arange(12)
    y = 100.0 * np.arange(10)
    X, Y = np.meshgrid(x, y)
    thk = np.clip(150.0 - ((X - 550) ** 2 + (Y - 450) ** 2) / 1500.0, 0.0, None)
    state = make_state(x, y, topg=2000.0 - 0.05 * X, thk=thk)
    model = get_flow_model("stokes", layers=3)
    return state, model, model.velocity(state)


def test_ice_free_columns_give_finite_zero_velocities(cap_velocity):
    state, _, vel = cap_velocity
    ice = state.thk.values > 0
    assert (~ice).sum() > 40 and ice.sum() > 30
    for name in VELOCITY_FIELDS:
        values = vel[name].values
        assert np.all(np.isfinite(values)), name
        assert np.all(values[~ice] == 0.0), name
    speed = np.hypot(vel.uvelsurf, vel.vvelsurf).values
    assert speed[ice].max() > 0.5
    report = vel.attrs["solver_report"]
    assert report["converged"] and report["ice_free_points"] == (~ice).sum()


def test_cap_flows_downhill_and_slower_than_sia(cap_velocity):
    state, _, vel = cap_velocity
    thk = state.thk.values
    j, i = np.unravel_index(np.argmax(thk), thk.shape)
    # down the bed inclined towards +x at the summit; surface faster than the mean, mean than the base
    assert vel.uvelsurf.values[j, i] > 0
    assert abs(vel.uvelsurf.values[j, i]) > abs(vel.ubar.values[j, i]) > abs(vel.uvelbase.values[j, i])
    # full Stokes with longitudinal stresses is slower than the SIA of the same slope
    sia = sia_velocities(thk, state.usurf.values, state.arrhenius.values,
                         state.slidingco.values, 100.0, sliding=True)
    assert np.abs(vel.uvelsurf.values).max() < np.abs(sia["uvelsurf"]).max()


def test_warm_start_from_the_previous_solve(cap_velocity):
    state, model, _ = cap_velocity
    thicker = state.copy()
    thicker["thk"] = state.thk * 1.05
    thicker["usurf"] = state.topg + thicker.thk
    cold = get_flow_model("stokes", layers=3).velocity(thicker)
    model.velocity(state)
    warm = model.velocity(thicker, guess=cold)
    rc, rw = cold.attrs["solver_report"], warm.attrs["solver_report"]
    assert rw["start"] == "warm" and rc["start"] == "picard"
    assert rw["newton_iterations"] < rc["newton_iterations"]
    scale = np.abs(cold.uvelsurf.values).max()
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(warm[name].values, cold[name].values, atol=1e-5 * scale)


def test_no_ice_at_all_returns_zeros_without_solving():
    from glacier.fields import make_state

    x = 100.0 * np.arange(5)
    state = make_state(x, x, topg=np.zeros((5, 5)))
    vel = get_flow_model("stokes").velocity(state)
    assert all(np.all(vel[k].values == 0) for k in VELOCITY_FIELDS)
