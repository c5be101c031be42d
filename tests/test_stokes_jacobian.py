"""The stepping Jacobian of the Stokes solver against the operators it stands for.

One bilinear form, weighted by two Constants, is the matrix of every nonlinear iteration:
the constant-viscosity Stokes operator (the first Picard step from rest), the Picard operator
of the iterate (Glen viscosity and linearised Weertman friction frozen at u), and the exact
Newton Jacobian of the residual. Each is assembled here the direct way and compared entry by
entry; they must agree to round-off (the forms are algebraically equal), on a sliding bed with
nonlinear (m = 3) friction so that every friction term is exercised.
"""

import numpy as np
import pytest

pytest.importorskip("firedrake")

import firedrake as fd  # noqa: E402

from stokes_solver import physics  # noqa: E402
from stokes_solver.ismip_hom import build_problem  # noqa: E402
from stokes_solver.problem import StokesProblem  # noqa: E402

ROUND_OFF = 1e-12
"""Relative Frobenius distance allowed between two assemblies of equal forms."""


@pytest.fixture(scope="module")
def sliding_problem():
    ismip = build_problem("C", 10_000.0, nx=4, nz=2)
    problem = StokesProblem(ismip.mesh, ismip.arrhenius, ismip.body_force,
                            friction=physics.Friction(fd.Constant(0.02), 3.0),
                            stress_scale=ismip.stress_scale)
    w = fd.Function(problem.function_space)
    x, y, z = fd.SpatialCoordinate(problem.mesh)
    w.subfunctions[0].interpolate(fd.as_vector([
        20.0 + 5.0 * fd.sin(2 * np.pi * x / 10_000.0) * (1.0 + z / 1000.0),
        3.0 * fd.cos(2 * np.pi * y / 10_000.0), 0.1 * fd.sin(2 * np.pi * x / 10_000.0)]))
    w.subfunctions[1].interpolate(-physics.RHO_G * z)
    return problem, w


def _assembled(form):
    return fd.assemble(form, mat_type="aij").petscmat


def _distance(a, b):
    difference = a.copy()
    difference.axpy(-1.0, b)
    return difference.norm() / b.norm()


def _linearised(problem, w, viscosity, friction_coefficient):
    """Second derivative of the action with the given fixed viscosity and linear friction."""
    u, p = fd.split(w)
    dx, ds_bed = problem.measures()
    action = physics.action(u, p, problem.arrhenius, problem.body_force, dx=dx, ds_bed=ds_bed,
                            friction=physics.Friction(friction_coefficient, 1.0),
                            viscous=physics.linear_dissipation(u, viscosity))
    return fd.derivative(fd.derivative(action, w), w)


def test_newton_weight_gives_the_exact_jacobian(sliding_problem):
    problem, w = sliding_problem
    stepping = problem.stepping_jacobian(w, fd.Constant(0.0), fd.Constant(1.0))
    exact = fd.derivative(problem.residual(w), w)
    assert _distance(_assembled(stepping), _assembled(exact)) < ROUND_OFF


def test_picard_weight_freezes_viscosity_and_friction_at_the_iterate(sliding_problem):
    problem, w = sliding_problem
    stepping = problem.stepping_jacobian(w, fd.Constant(0.0), fd.Constant(0.0))
    frozen = w.subfunctions[0].copy(deepcopy=True)
    picard = _linearised(problem, w, problem.picard_viscosity(frozen),
                         problem.picard_friction(frozen))
    assert _distance(_assembled(stepping), _assembled(picard)) < ROUND_OFF
    # and it is not the Newton Jacobian: the anisotropic terms are left out (small in a
    # Frobenius norm that the bed penalty, kappa = 1e4, dominates, but far above round-off)
    exact = fd.derivative(problem.residual(w), w)
    assert _distance(_assembled(stepping), _assembled(exact)) > 1e4 * ROUND_OFF


def test_constant_start_uses_the_reference_stress(sliding_problem):
    problem, w = sliding_problem
    stepping = problem.stepping_jacobian(w, fd.Constant(1.0), fd.Constant(0.0))
    constant = _linearised(problem, w, problem.picard_viscosity(None),
                           problem.picard_friction(None))
    assert _distance(_assembled(stepping), _assembled(constant)) < ROUND_OFF
