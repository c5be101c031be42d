"""SSA (Firedrake, Q1) against van der Veen's exact ice shelf, plus solver behaviour."""

import numpy as np
import pytest

from glacier.errors import InputError, SolverError
from sia_ssa_solver.halfar import observed_order
from sia_ssa_solver.shelf import SHELF, run_shelf
from sia_ssa_solver.ssa import SSAOptions, solve_ssa


@pytest.fixture(scope="module")
def exact_front():
    return run_shelf(5000.0, front="dirichlet"), run_shelf(2500.0, front="dirichlet")


@pytest.fixture(scope="module")
def natural_front():
    return run_shelf(5000.0), run_shelf(2500.0)


def test_shelf_converges_at_second_order(exact_front):
    """Q1 with midpoint data is second-order accurate in the velocity."""
    coarse, fine = exact_front
    assert coarse["converged"] and fine["converged"]
    assert observed_order(coarse, fine, "max_velocity_error") > 1.8
    assert observed_order(coarse, fine, "mean_velocity_error") > 1.8
    assert fine["relative_l2_error"] < 5e-3


def test_shelf_with_calving_front_condition(natural_front):
    """The calving-front stress condition (natural boundary) keeps the second order."""
    coarse, fine = natural_front
    assert coarse["converged"] and fine["converged"]
    assert observed_order(coarse, fine, "max_velocity_error") > 1.8
    assert fine["relative_l2_error"] < 1e-2


def test_newton_converges_fast_from_the_exact_solution():
    x = 2500.0 * (np.arange(20) + 0.5)
    exact = np.tile(SHELF.velocity(x), (SHELF.ny, 1))
    thk = np.tile(SHELF.thickness(x), (SHELF.ny, 1))
    from sia_ssa_solver.ssa import RHO_WATER
    from glacier.constants import RHO_ICE
    usurf = (1 - RHO_ICE / RHO_WATER) * thk
    bcs = {"west": (SHELF.u0, 0.0), "south": (None, 0.0), "north": (None, 0.0),
           "east": (float(SHELF.velocity(SHELF.length)), 0.0)}
    _, _, cold = solve_ssa(thk, usurf, SHELF.arrhenius, 0.0, 2500.0, m=1.0, dirichlet=bcs,
                           guess=(np.full_like(exact, SHELF.u0), 0 * exact))
    _, _, warm = solve_ssa(thk, usurf, SHELF.arrhenius, 0.0, 2500.0, m=1.0, dirichlet=bcs,
                           guess=(exact, 0 * exact))
    assert warm["newton_iterations"] < cold["newton_iterations"]
    assert warm["converged"] and warm["residual_norms"][-1] <= warm["absolute_tolerance"]


def test_failure_raises_solver_error_with_report():
    x = 2500.0 * (np.arange(20) + 0.5)
    thk = np.tile(SHELF.thickness(x), (SHELF.ny, 1))
    bcs = {"west": (SHELF.u0, 0.0), "south": (None, 0.0), "north": (None, 0.0)}
    with pytest.raises(SolverError) as info:
        solve_ssa(thk, 0.1 * thk, SHELF.arrhenius, 0.0, 2500.0, m=1.0, dirichlet=bcs,
                  options=SSAOptions(max_it=1))
    report = info.value.report
    assert report["converged"] is False and report["newton_iterations"] == 1
    assert len(report["residual_norms"]) == 2 and report["dofs"] > 0


def test_bad_options_are_refused():
    with pytest.raises(InputError):
        SSAOptions(solver="hypre")
    with pytest.raises(InputError):
        run_shelf(3000.0)


def test_cli_verify_ssa_json(capsys):
    import json
    from icebench.cli import main
    assert main(["verify", "ssa", "--dx", "5000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["mean_velocity_error"] <= out["max_velocity_error"] < 0.05 * out["max_exact_speed"]
