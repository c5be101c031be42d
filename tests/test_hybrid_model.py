"""The hybrid flow model: interface, ice-free cells, warm starts, its limits (frozen bed under
high friction, SSA for stiff ice), its SIA-validity report on a steep glacier, and
``icebench solve --model hybrid`` on a grown Aletsch."""

import numpy as np
import pytest
import xarray as xr

from glacier.errors import InputError
from glacier.evolve import EvolveSettings, evolve
from glacier.fields import VELOCITY_FIELDS, make_state
from glacier.flow import FlowModel, get_flow_model
from glacier.geometry import topography_window
from glacier.io import write_dataset
from glacier.smb import ElaSmb
from icebench.cli import main


def ice_cap(arrhenius=78.0, slidingco=0.05, nx=24, ny=20, dx=100.0, bed_slope=0.1):
    """A 0-400 m ice cap on a bed inclined by ``bed_slope``, with ice-free cells around it."""
    x, y = dx * np.arange(nx), dx * np.arange(ny)
    X, Y = np.meshgrid(x, y)
    r2 = ((X - 0.5 * x[-1]) / (0.4 * x[-1])) ** 2 + ((Y - 0.5 * y[-1]) / (0.4 * y[-1])) ** 2
    thk = 400.0 * np.sqrt(np.clip(1 - r2, 0, None))
    return make_state(x, y, topg=3000.0 - bed_slope * X, thk=thk,
                      arrhenius=np.full_like(X, arrhenius), slidingco=np.full_like(X, slidingco))


def speed(vel, prefix="ubar"):
    other = {"ubar": "vbar", "uvelsurf": "vvelsurf", "uvelbase": "vvelbase"}[prefix]
    return np.hypot(vel[prefix].values, vel[other].values)


def test_registered_models_follow_the_interface():
    for name in ("hybrid", "ssa", "sia-mahaffy"):
        model = get_flow_model(name)
        assert isinstance(model, FlowModel) and model.name == name
    with pytest.raises(InputError, match="layers"):
        get_flow_model("hybrid", layers=5)
    with pytest.raises(InputError, match="solver"):
        get_flow_model("hybrid", solver="hypre")


def test_hybrid_fields_report_and_ice_free_cells():
    state = ice_cap()
    vel = get_flow_model("hybrid").velocity(state)
    report = vel.attrs["solver_report"]
    assert report["converged"] and report["dofs"] < 4 * (25 * 21)  # (u_b, u_d) per corner
    ice = state.thk.values > 1.0
    assert report["ice_cells"] == int(ice.sum())
    for name in VELOCITY_FIELDS:
        assert vel[name].attrs["units"] == "m a-1"
        assert np.all(np.isfinite(vel[name].values))
        assert np.all(vel[name].values[state.thk.values == 0] == 0)
    # surface >= depth average >= base in speed; flow goes down the bed slope (+x)
    assert np.all(speed(vel, "uvelsurf") >= speed(vel, "ubar") - 1e-9)
    assert np.all(speed(vel, "ubar") >= speed(vel, "uvelbase") - 1e-9)
    assert vel.ubar.values[ice].mean() > 0


def test_warm_start_saves_newton_steps():
    state = ice_cap()
    model = get_flow_model("hybrid")
    cold = model.velocity(state)
    warm = model.velocity(state, guess=cold)
    assert warm.attrs["solver_report"]["newton_iterations"] <= 1
    assert cold.attrs["solver_report"]["newton_iterations"] > 1
    assert np.allclose(warm.ubar, cold.ubar, rtol=1e-6, atol=1e-6)


def test_next_snapshot_reuses_the_setup_and_matches_a_fresh_model():
    # the model keeps its mesh, forms and Newton solver while the ice mask holds: the next
    # snapshot (thicker ice, other A) gives what a new model gives, to the Newton tolerance
    # (residual 1e-9 of the load: far below 1e-6 m/a here); a new mask builds them anew
    state = ice_cap()
    model = get_flow_model("hybrid")
    first = model.velocity(state)
    ice = state.thk.values > 1.0
    thicker = state.copy()
    thicker["thk"] = state.thk.where(~ice, state.thk * 1.02)
    thicker["usurf"] = thicker.topg + thicker.thk
    thicker["arrhenius"] = state.arrhenius * 1.5
    kept = model.velocity(thicker, guess=first)
    fresh = get_flow_model("hybrid").velocity(thicker)
    assert first.attrs["solver_report"]["setup"] == "new"
    assert kept.attrs["solver_report"]["setup"] == "kept"
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(kept[name].values, fresh[name].values, atol=1e-6)
    smaller = ice_cap(nx=22)
    assert model.velocity(smaller).attrs["solver_report"]["setup"] == "new"


def test_high_friction_limit_is_the_frozen_bed():
    """The sliding mode vanishes as the friction coefficient grows: the hybrid tends to its
    frozen-bed form (``sliding=False``)."""
    frozen = speed(get_flow_model("hybrid", sliding=False).velocity(ice_cap()))
    deviations = []
    for c in (0.1, 1.0, 10.0):
        hybrid = get_flow_model("hybrid").velocity(ice_cap(slidingco=c))
        deviations.append(np.abs(speed(hybrid) - frozen).max() / frozen.max())
    assert deviations[0] > deviations[1] > deviations[2]
    # Weertman m = 3: u_b ~ (tau_b / c)^3, so a tenfold c divides the sliding by up to 1000
    # (the membrane stresses and the regularisation u_reg = 1e-3 m/a take some of that)
    assert deviations[0] / deviations[1] > 100
    assert deviations[2] < 1e-4


def test_stiff_ice_limit_is_a_sliding_plug():
    """The shear mode scales with A while the sliding stays finite on the inclined bed: the
    shear share of the surface speed falls in proportion to A (1.8e-3, 1.9e-4 at A = 1,
    0.01), and the sliding converges to a plug near the SSA's. Not the SSA exactly: the
    hybrid's friction acts on the bed-parallel velocity per unit bed area, and its margin
    cells keep their own surface up to the front (the ``ssa`` model averages the ice-free
    neighbours' surface into the margin corners); together they move the plug by 11 %."""
    shares, bases = [], []
    for a in (1.0, 0.01, 1e-3):
        state = ice_cap(arrhenius=a, slidingco=0.01)
        vel = get_flow_model("hybrid").velocity(state)
        bases.append(speed(vel, "uvelbase"))
        shares.append(np.abs(speed(vel) - bases[-1]).max() / bases[-1].max())
    assert shares[1] < 1e-4
    assert 50 < shares[0] / shares[1] < 200
    assert np.abs(bases[1] - bases[2]).max() < 2e-3 * bases[2].max()
    ssa = speed(get_flow_model("ssa").velocity(ice_cap(arrhenius=1e-3, slidingco=0.01)))
    assert np.abs(bases[2] - ssa).max() < 0.15 * ssa.max()


def steep_cap(thickness=300.0, bed_slope=0.5):
    """A 300 m cap on a bed inclined by 0.5 at 100 m: grid-scale slopes where the SIA fails."""
    state = ice_cap(nx=16, ny=12)
    X = state.x.values[None, :] * np.ones_like(state.thk.values)
    thk = state.thk.values * thickness / 400.0
    topg = 3000.0 - bed_slope * X
    return state.assign(thk=(("y", "x"), thk), topg=(("y", "x"), topg),
                        usurf=(("y", "x"), topg + thk))


def test_steep_glacier_stays_near_stokes_and_reports_the_sia_failing(caplog):
    """On steep thick ice the local SIA is tens of times too fast; the hybrid's membrane
    stresses keep its maximum within 3x of Stokes', and it reports (and logs) the share of ice
    where the SIA's local stress balance fails."""
    state = steep_cap()
    stokes = speed(get_flow_model("stokes", layers=3, sliding=False).velocity(state))
    sia = speed(get_flow_model("sia-mahaffy").velocity(state))
    with caplog.at_level("WARNING", logger="sia_ssa_solver.models"):
        vel = get_flow_model("hybrid", sliding=False).velocity(state)
    hybrid = speed(vel)
    assert sia.max() > 10 * stokes.max()
    assert stokes.max() / 3 < hybrid.max() < 3 * stokes.max()
    report = vel.attrs["solver_report"]
    assert report["sia_invalid_share"] > 0.05
    assert "SIA's local stress balance fails" in caplog.text


def test_frictionless_ice_body_is_refused():
    with pytest.raises(InputError, match="slidingco"):
        get_flow_model("hybrid").velocity(ice_cap(slidingco=0.0))


@pytest.fixture(scope="module")
def grown_aletsch(tmp_path_factory):
    """Aletsch at 200 m grown for 100 a with the closed-form SIA and ELA 3000 m."""
    state = topography_window("aletsch_100m", resolution=200.0)
    run = evolve(state, get_flow_model("sia"), ElaSmb(ela=3000.0),
                 EvolveSettings(years=100.0, output_interval=100.0), show_progress=False)
    grown = state.copy()
    grown["thk"] = run.thk.isel(time=-1)
    grown["usurf"] = run.usurf.isel(time=-1)
    path = tmp_path_factory.mktemp("aletsch") / "aletsch_grown.nc"
    write_dataset(grown, path)
    return path, grown


def test_cli_solve_hybrid_on_grown_aletsch(grown_aletsch, tmp_path):
    path, grown = grown_aletsch
    out = tmp_path / "vel.nc"
    assert main(["-q", "solve", "--model", "hybrid", "--input", str(path),
                 "--output", str(out)]) == 0
    vel = xr.open_dataset(out)
    assert set(VELOCITY_FIELDS) <= set(vel.data_vars)
    assert vel.attrs["solver_converged"] in (1, "true", True)
    ice = grown.thk.values > 1.0
    assert ice.sum() > 100
    surf = speed(vel, "uvelsurf")
    assert np.all(np.isfinite(surf)) and np.all(surf[grown.thk.values == 0] == 0)
    assert 10.0 < surf.max() < 1e4
    out2 = tmp_path / "vel_scalable.nc"
    assert main(["-q", "solve", "--model", "hybrid", "--solver", "scalable", "--input",
                 str(path), "--output", str(out2)]) == 0
    vel2 = xr.open_dataset(out2)
    assert np.allclose(vel2.uvelbase, vel.uvelbase, rtol=1e-4, atol=1e-3 * surf.max())
