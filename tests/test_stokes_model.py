"""The Stokes FlowModel on a gridded glacier with ice-free cells (real Firedrake solves)."""

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

pytest.importorskip("firedrake")

from glacier.fields import VELOCITY_FIELDS  # noqa: E402
from glacier.flow import get_flow_model  # noqa: E402
from glacier.errors import SolverError  # noqa: E402
from glacier.sia import sia_velocities  # noqa: E402


def agreement(reference) -> float:
    """How far (m a-1) two solves of one problem may differ: each stops once Newton's direction
    moves no velocity by more than max(update_tolerance, update_rtol * largest speed) of the
    default NewtonSettings, an estimate of its error, so two of them agree to twice that."""
    from stokes_solver.options import NewtonSettings

    settings = NewtonSettings()
    largest = max(np.abs(reference[name].values).max() for name in VELOCITY_FIELDS)
    return 2 * max(settings.update_tolerance, settings.update_rtol * largest)


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
    from stokes_solver.model import MIN_THICKNESS

    state, _, vel = cap_velocity
    ice = state.thk.values > MIN_THICKNESS
    assert (~ice).sum() > 40 and ice.sum() > 30
    for name in VELOCITY_FIELDS:
        values = vel[name].values
        assert np.all(np.isfinite(values)), name
        assert np.all(values[~ice] == 0.0), name
    speed = np.hypot(vel.uvelsurf, vel.vvelsurf).values
    assert speed[ice].max() > 0.5
    report = vel.attrs["solver_report"]
    assert report["converged"] and report["ice_free_points"] == (~ice).sum()
    # only the ice is meshed: the corners of the grid cells with an ice corner, i.e. the ice
    # points and the ring of margin points around them (3 x 3 dilation)
    margin = binary_dilation(ice, structure=np.ones((3, 3), bool))
    assert report["meshed_columns"] == margin.sum() < ice.size


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
    assert rw["start"] == "warm" and rc["start"] == "sia profile"
    assert rw["newton_iterations"] < rc["newton_iterations"]
    # the warm solve keeps the Newton solver of the previous one, with its factorization
    assert rc["factorization"] == "new" and rw["factorization"] == "inherited"
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(warm[name].values, cold[name].values, atol=agreement(cold))


def test_failed_solve_with_an_inherited_factorization_is_renewed(cap_velocity, monkeypatch):
    # when Newton fails from the factorization left by the previous solve, the solve is
    # repeated once with a fresh one and reaches the same answer
    from stokes_solver import solver as solver_module

    state, _, cold = cap_velocity
    model = get_flow_model("stokes", layers=3)
    model.velocity(state)
    real_iterate, calls = solver_module._iterate, []

    def first_fails(nonlinear_solver):
        calls.append(nonlinear_solver)
        if len(calls) == 1:
            return {"reason": "DIVERGED_LINEAR_SOLVE", "converged": False, "iterations": 1,
                    "linear_iterations": 200, "residual_norms": []}
        return real_iterate(nonlinear_solver)

    monkeypatch.setattr(solver_module, "_iterate", first_fails)
    again = model.velocity(state, guess=cold)
    report = again.attrs["solver_report"]
    assert len(calls) == 2 and report["converged"]
    assert report["factorization"] == "inherited, failed (DIVERGED_LINEAR_SOLVE), renewed"
    np.testing.assert_allclose(again.uvelsurf.values, cold.uvelsurf.values, atol=agreement(cold))


def test_new_ice_mask_starts_from_the_transferred_previous_solution(cap_velocity):
    # the ice advances by one grid step: the new mesh takes the previous solution on the
    # columns it keeps and Newton starts from there, with no Picard step (and no Picard
    # factorization), to the same answer as a cold solve of the new state
    state, _, _ = cap_velocity
    grown = state.copy(deep=True)
    grown["thk"] = state.thk + 15.0 * binary_dilation(state.thk.values > 1.0)
    grown["usurf"] = grown.topg + grown.thk
    carried = get_flow_model("stokes", layers=3)
    before = carried.velocity(state)
    after = carried.velocity(grown, guess=before)
    report = after.attrs["solver_report"]
    assert report["start"].startswith("warm, transferred") and report["mesh"] == "new"
    assert report["picard_iterations"] == 0
    cold = get_flow_model("stokes", layers=3).velocity(grown)
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(after[name].values, cold[name].values, atol=agreement(cold))


def test_newton_stops_on_a_small_velocity_update(cap_velocity):
    # with the residual test out of reach (below round-off), Newton must stop on the
    # velocity-update test, once its direction moves no velocity by more than its bound
    # max(update_tolerance, update_rtol * largest speed), and agree with the default (whose
    # error is below the same bound) to twice that bound
    from stokes_solver.options import NewtonSettings

    state, _, cold = cap_velocity
    settings = NewtonSettings(load_tolerance=1e-30)
    again = get_flow_model("stokes", layers=3, settings=settings).velocity(state)
    report = again.attrs["solver_report"]
    assert report["converged"] and report["snes_reason"] == "CONVERGED_SNORM_RELATIVE"
    assert report["newton_iterations"] < 50
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(again[name].values, cold[name].values, atol=agreement(cold))


def test_velocity_update_test_stops_on_a_nan_residual():
    # a NaN residual ends Newton with PETSc's own reason, before the update is looked at
    from firedrake.petsc import PETSc

    from stokes_solver.solver import _Schedule, _velocity_update_test

    test = _velocity_update_test(None, _Schedule())
    assert test(None, 3, (1.0, 1.0, float("nan"))) == \
        PETSc.SNES.ConvergedReason.DIVERGED_FUNCTION_NANORINF


def test_newton_from_rest_reaches_the_lifted_start_solution(cap_velocity):
    # the naive baseline recipe of docs/design.md (u = p = 0, no Picard step, LU at every
    # Newton step) converges
    # to the same solution as the default start
    state, _, lifted = cap_velocity
    rest = get_flow_model("stokes", layers=3, solver="naive", picard_steps=0,
                          start="rest").velocity(state)
    r = rest.attrs["solver_report"]
    assert r["start"] == "rest" and r["picard_iterations"] == 0
    assert r["solver"] == "naive" and r["linear_iterations"] == r["newton_iterations"]
    for name in VELOCITY_FIELDS:
        np.testing.assert_allclose(rest[name].values, lifted[name].values, atol=agreement(lifted))


def test_unknown_start_is_refused():
    from glacier.errors import InputError

    with pytest.raises(InputError, match="start 'cold'"):
        get_flow_model("stokes", start="cold")


def test_no_ice_at_all_returns_zeros_without_solving():
    from glacier.fields import make_state

    x = 100.0 * np.arange(5)
    state = make_state(x, x, topg=np.zeros((5, 5)))
    vel = get_flow_model("stokes").velocity(state)
    assert all(np.all(vel[k].values == 0) for k in VELOCITY_FIELDS)


def test_grown_real_glacier_converges_like_the_hybrid_model():
    """A small Aletsch window (24 x 24 at 200 m) grown 40 years by the SIA: steep real terrain,
    thin margins, ice reaching the window's sides."""
    from glacier.evolve import EvolveSettings, evolve
    from glacier.geometry import topography_window
    from glacier.smb import ElaSmb
    from stokes_solver.model import MIN_THICKNESS

    state = topography_window("aletsch_100m", resolution=200, x0=420500, y0=5146500, nx=24, ny=24)
    run = evolve(state, get_flow_model("sia"), ElaSmb(ela=2900.0),
                 EvolveSettings(years=40, output_interval=40), show_progress=False)
    state["thk"], state["usurf"] = run.thk.isel(time=-1), run.usurf.isel(time=-1)
    ice = state.thk.values > MIN_THICKNESS
    assert 100 < ice.sum() < ice.size - 100
    vel = get_flow_model("stokes", layers=3).velocity(state)
    report = vel.attrs["solver_report"]
    assert report["converged"]
    for name in VELOCITY_FIELDS:
        assert np.all(np.isfinite(vel[name].values)), name
        assert np.all(vel[name].values[~ice] == 0.0), name
    hybrid = get_flow_model("hybrid").velocity(state)
    surface = np.hypot(vel.uvelsurf, vel.vvelsurf).values[ice]
    base = np.hypot(vel.uvelbase, vel.vvelbase).values[ice]
    surface_h = np.hypot(hybrid.uvelsurf, hybrid.vvelsurf).values[ice]
    base_h = np.hypot(hybrid.uvelbase, hybrid.vvelbase).values[ice]
    # full Stokes (longitudinal and lateral stresses, walls where the ice meets the window's
    # sides) is slower than the local SIA+SSA balance on rough 200 m terrain (about 5x in the
    # median), but of the same order
    ratio = np.median(surface) / np.median(surface_h)
    assert 0.1 < ratio < 1.0, ratio
    # ~40 m of ice under c = 0.05 slides: the SIA deformation there is a few m/a, so basal
    # sliding carries most of the surface speed in both models (it locks, median 1 % of the
    # surface speed, if impenetrability uses the kinked facet normals of the bilinear bed)
    assert np.median(base_h) / np.median(surface_h) > 0.5
    assert np.median(base) / np.median(surface) > 0.5
    assert np.corrcoef(surface, surface_h)[0, 1] > 0.3


_PARALLEL_CAP = """
import sys
import numpy as np
from mpi4py import MPI
from glacier.fields import make_state
from glacier.flow import get_flow_model
x = 100.0 * np.arange(12)
y = 100.0 * np.arange(10)
X, Y = np.meshgrid(x, y)
thk = np.clip(150.0 - ((X - 550) ** 2 + (Y - 450) ** 2) / 1500.0, 0.0, None)
state = make_state(x, y, topg=2000.0 - 0.05 * X, thk=thk)
vel = get_flow_model("stokes", layers=3).velocity(state)
if MPI.COMM_WORLD.rank == 0:
    np.save(sys.argv[1], np.stack([vel[k].values for k in sorted(vel.data_vars)]))
"""


@pytest.mark.mpi
def test_ice_submesh_in_parallel_matches_serial(cap_velocity, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    _, _, serial = cap_velocity
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1")
    out = tmp_path / "parallel.npy"
    subprocess.run([mpiexec, "-n", "2", sys.executable, "-c", _PARALLEL_CAP, str(out)],
                   env=env, timeout=600, check=True, capture_output=True)
    parallel = np.load(out)
    expected = np.stack([serial[k].values for k in sorted(serial.data_vars)])
    # both Newton solves stop at 1e-8 of the gravity load; the answers agree far below that
    np.testing.assert_allclose(parallel, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_auto_falls_back_to_direct_when_scalable_fails(cap_velocity, monkeypatch):
    # "auto" above AUTO_DIRECT_MAX_DOFS takes the scalable preset on a bed without sliding; one
    # Krylov iteration per linear solve makes it fail here, and the solve is repeated with the
    # direct preset
    from stokes_solver import options

    assert options.solver_parameters("auto", 10**6, sliding=True)[0] == "direct"
    assert options.solver_parameters("auto", 10**6)[0] == "scalable"
    state, _, _ = cap_velocity
    reference = get_flow_model("stokes", layers=3, sliding=False).velocity(state)
    monkeypatch.setattr(options, "AUTO_DIRECT_MAX_DOFS", 0)
    monkeypatch.setitem(options.SCALABLE, "ksp_max_it", 1)
    with pytest.raises(SolverError):
        get_flow_model("stokes", layers=3, solver="scalable", sliding=False).velocity(state)
    vel = get_flow_model("stokes", layers=3, solver="auto", sliding=False).velocity(state)
    report = vel.attrs["solver_report"]
    assert report["solver"] == "direct" and "scalable failed" in report["fallback"]
    np.testing.assert_allclose(vel.uvelsurf.values, reference.uvelsurf.values,
                               atol=1e-5 * np.abs(reference.uvelsurf.values).max())
