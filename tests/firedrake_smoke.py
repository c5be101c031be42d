"""Firedrake smoke problems that really solve; run serially or under ``mpiexec -n 2``.

1. A nonlinear SNES problem: -div((1 + u^2) grad u) = f on the unit square with the
   manufactured solution u = sin(pi x) sin(pi y), P2 elements on 8x8 and 16x16 meshes; the L2
   error must fall like h^3.
2. Stokes on an ExtrudedMesh: Q2-Q1 Taylor-Hood on the unit cube (4x4 base, 4 layers) with the
   Poiseuille solution u = (z (1 - z), 0, 0), p = -2 x + const, which Q2 holds exactly, so the
   velocity error is at round-off.

Prints one JSON object on rank 0.
"""

import json
import math

from firedrake import (COMM_WORLD, Constant, DirichletBC, ExtrudedMesh, Function, FunctionSpace,
                       MixedVectorSpaceBasis, NonlinearVariationalProblem,
                       NonlinearVariationalSolver, SpatialCoordinate, TestFunction, TestFunctions,
                       TrialFunctions, UnitSquareMesh, VectorFunctionSpace, VectorSpaceBasis,
                       as_vector, assemble, div, dot, dx, errornorm, grad, inner, norm, pi, sin,
                       solve)
from firedrake.petsc import PETSc


def nonlinear_poisson(n: int) -> tuple[float, int, int]:
    mesh = UnitSquareMesh(n, n)
    x, y = SpatialCoordinate(mesh)
    exact = sin(pi * x) * sin(pi * y)
    f = -div((1 + exact**2) * grad(exact))
    V = FunctionSpace(mesh, "CG", 2)
    u, v = Function(V), TestFunction(V)
    F = inner((1 + u**2) * grad(u), grad(v)) * dx - f * v * dx
    params = {"snes_type": "newtonls", "snes_rtol": 1e-12, "snes_atol": 1e-14,
              "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
    problem = NonlinearVariationalProblem(F, u, bcs=DirichletBC(V, 0, "on_boundary"))
    solver = NonlinearVariationalSolver(problem, solver_parameters=params)
    solver.solve()
    snes = solver.snes
    return errornorm(exact, u, "L2"), snes.getIterationNumber(), snes.getConvergedReason()


def extruded_stokes() -> tuple[float, float]:
    base = UnitSquareMesh(4, 4, quadrilateral=True)
    mesh = ExtrudedMesh(base, layers=4, layer_height=0.25)
    V = VectorFunctionSpace(mesh, "CG", 2)
    Q = FunctionSpace(mesh, "CG", 1)
    W = V * Q
    u, p = TrialFunctions(W)
    v, q = TestFunctions(W)
    x, y, z = SpatialCoordinate(mesh)
    exact = as_vector((z * (1 - z), 0, 0))
    a = inner(grad(u), grad(v)) * dx - p * div(v) * dx - q * div(u) * dx
    L = inner(Constant((0.0, 0.0, 0.0)), v) * dx
    bcs = [DirichletBC(W.sub(0), exact, s) for s in ("on_boundary", "top", "bottom")]
    nullspace = MixedVectorSpaceBasis(W, [W.sub(0), VectorSpaceBasis(constant=True, comm=W.comm)])
    w = Function(W)
    solve(a == L, w, bcs=bcs, nullspace=nullspace,
          solver_parameters={"ksp_type": "gmres", "ksp_rtol": 1e-12, "pc_type": "lu",
                             "pc_factor_mat_solver_type": "mumps",
                             "mat_mumps_icntl_14": 200})
    uh, ph = w.subfunctions
    u_err = errornorm(exact, uh, "L2") / norm(exact, mesh=mesh)
    grad_p = assemble_grad_p_error(ph)
    return u_err, grad_p


def assemble_grad_p_error(ph) -> float:
    """L2 norm of grad p - (-2, 0, 0): the pressure up to its constant."""
    err = grad(ph) - as_vector((-2.0, 0.0, 0.0))
    return float(assemble(dot(err, err) * dx) ** 0.5)


def main():
    e8, it8, r8 = nonlinear_poisson(8)
    e16, it16, r16 = nonlinear_poisson(16)
    u_err, gp_err = extruded_stokes()
    result = {"ranks": COMM_WORLD.size, "petsc": PETSc.Sys.getVersion(),
              "poisson_l2_errors": [e8, e16], "poisson_rate": math.log2(e8 / e16),
              "snes_iterations": [it8, it16], "snes_reasons": [r8, r16],
              "stokes_velocity_rel_error": u_err, "stokes_grad_p_error": gp_err}
    if COMM_WORLD.rank == 0:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
