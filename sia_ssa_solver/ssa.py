"""Shallow-shelf approximation (SSA) with Firedrake on the 2-D grid, in m, a and MPa.

Physics as one action functional (icepack style), whose Euler-Lagrange equation is the SSA
membrane-stress balance div T - tau_b = rho g H grad s:

    J(u) = int_ice [ 2n/(n+1) H B (eps_e^2 + eps_reg^2)^((n+1)/(2n))          viscous
                    + m/(m+1) c (|u|^2 + u_reg^2)^((m+1)/(2m))                 Weertman friction
                    + rho g H grad s . u ] dx                                  driving stress
           - int_{ice boundary} (rho g H^2 / 2 - rho_w g d^2 / 2) u . n ds      terminus/cliff

with B = A^(-1/n) (MPa a^(1/n)), eps = sym(grad u), eps_e^2 = (eps:eps + tr(eps)^2) / 2 (a-2),
so dJ/du gives the membrane stress T = 2 nu H (eps + tr(eps) I), nu = B eps_e^(1/n-1) / 2, and
the friction tau_b = c |u|^(1/m-1) u (c in MPa a^(1/m) m^(-1/m)). d = max(0, H - s) is the
water depth at the ice front (sea level at 0 m): zero for land-terminating ice, so the boundary
term is the depth-integrated cliff pressure there, and the hydrostatic imbalance of a floating
front. The regularisations eps_reg (a-1) and u_reg (m a-1) are far below any resolved strain
rate and speed.

Discretisation: continuous bilinear (Q1 = quadrilateral CG1) velocity with one element per grid
cell. Q1 is chosen over Q2 because the data (H, s, A, c) are known only at the cell centres, so
Q2 would quadruple the DOFs without information to resolve; Q1 converges at second order in the
velocity for smooth solutions (verified on the van der Veen shelf), Q1 nodes sit on the cell
corners where the surface is averaged, and the cell-centre output is the element's midpoint
value. Thickness, A and c are cell-wise constant (DG0); the surface is the Q1 field of the
four-cell averages at the corners, so grad s is a compact (Mahaffy-type) difference.

Ice-free cells: the mesh is the submesh of the cells with thk > ``thk_min``, so there are no
DOFs without ice; the margins are natural boundaries with the cliff term above (stress-free
apart from the ice's own overburden). The outer edges of the grid are treated the same way
unless the caller prescribes Dirichlet values there (the verification does) or the grid is
periodic (ISMIP-HOM).

Solver: Newton (PETSc SNES ``newtonls``) with backtracking line search; MUMPS LU for each
linear step, or CG + GAMG (the Jacobian is the Hessian of a convex action, hence symmetric
positive definite) for large problems. Convergence is declared when the residual falls below
``rtol`` times the norm of the driving-stress load; otherwise SolverError carries the report.
"""

import time
from dataclasses import dataclass

import numpy as np
from firedrake import (Constant, DirichletBC, Function, FunctionSpace, NonlinearVariationalProblem,
                       NonlinearVariationalSolver, PeriodicRectangleMesh, RectangleMesh,
                       RelabeledMesh, SpatialCoordinate, Submesh, TestFunction,
                       VectorFunctionSpace, as_vector, assemble, derivative, dot, ds, dx,
                       FacetNormal, grad, inner, max_value, sym, tr)
from firedrake.exceptions import ConvergenceError

from glacier.constants import GLEN_N, GRAVITY, RHO_G, WEERTMAN_M
from glacier.errors import InputError, SolverError
from glacier.fields import surface_slopes
from sia_ssa_solver.sia import corner_average

RHO_WATER = 1028.0
"""Sea-water density (kg m^-3), for the water pressure at floating fronts."""

RHO_W_G = RHO_WATER * GRAVITY * 1e-6
"""rho_w g in MPa m^-1."""

SOLVER_PRESETS = {
    "direct": {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"},
    "scalable": {"ksp_type": "cg", "ksp_rtol": 1e-10, "pc_type": "gamg",
                 "pc_gamg_threshold": 0.01, "mg_levels_ksp_type": "chebyshev",
                 "mg_levels_pc_type": "sor"},
}
"""Linear solvers of the Newton steps; ``auto`` picks ``direct`` below DIRECT_MAX_DOFS."""

DIRECT_MAX_DOFS = 400_000

SIDES = {"west": 1, "east": 2, "south": 3, "north": 4}
"""Firedrake's boundary ids of the grid's outer edges (x = x0, x = x1, y = y0, y = y1)."""

ICE = 1


@dataclass(frozen=True)
class SSAOptions:
    """Settings of the SSA solve, all in one place.

    thk_min (m): cells with more ice are solved; strain_rate_reg (a-1) and velocity_reg (m a-1):
    regularisations; rtol: residual reduction relative to the driving-stress load; max_it:
    Newton steps; solver: ``auto``, ``direct`` or ``scalable``; quadrature_degree: of the
    action's non-polynomial integrands (4 is exact for the polynomial parts on Q1).
    """

    thk_min: float = 1.0
    strain_rate_reg: float = 1e-5
    velocity_reg: float = 1e-3
    rtol: float = 1e-9
    max_it: int = 60
    solver: str = "auto"
    quadrature_degree: int = 4

    def __post_init__(self):
        if self.solver not in ("auto", *SOLVER_PRESETS):
            raise InputError(f"SSA solver must be one of auto, {', '.join(SOLVER_PRESETS)}; "
                             f"got '{self.solver}'")


class GridMesh:
    """Q1 mesh of a cell-centred grid (one quadrilateral per cell), optionally only the cells
    where ``mask`` is true, with the maps between grid arrays and Firedrake functions.

    Coordinates are local: the grid's lower-left corner is the origin.
    """

    def __init__(self, nx: int, ny: int, dx: float, mask=None, periodic: bool = False):
        self.nx, self.ny, self.dx, self.periodic = nx, ny, dx, periodic
        if periodic:
            parent = PeriodicRectangleMesh(nx, ny, nx * dx, ny * dx, direction="both",
                                           quadrilateral=True)
        else:
            parent = RectangleMesh(nx, ny, nx * dx, ny * dx, quadrilateral=True)
        self.full = mask is None or bool(np.all(mask))
        if self.full:
            self.mesh = parent
        else:
            if periodic:
                raise InputError("a periodic grid must be ice-covered everywhere")
            cj, ci = self._cell_indices(parent)
            indicator = Function(FunctionSpace(parent, "DG", 0))
            indicator.dat.data_with_halos[:] = np.asarray(mask, dtype=float)[cj, ci]
            self.mesh = Submesh(RelabeledMesh(parent, [indicator], [ICE]), 2, ICE)
        self.Q0 = FunctionSpace(self.mesh, "DG", 0)
        self.Q1 = FunctionSpace(self.mesh, "CG", 1)
        self.V = VectorFunctionSpace(self.mesh, "CG", 1)
        self.cells = self._cell_indices(self.mesh)
        coords = Function(VectorFunctionSpace(self.mesh, "CG", 1))
        coords.interpolate(SpatialCoordinate(self.mesh))
        xy = coords.dat.data_ro_with_halos
        vi = np.rint(xy[:, 0] / dx).astype(int)
        vj = np.rint(xy[:, 1] / dx).astype(int)
        self.vertices = (vj % ny, vi % nx) if periodic else (vj, vi)

    def _cell_indices(self, mesh):
        centres = Function(VectorFunctionSpace(mesh, "DG", 0))
        centres.interpolate(SpatialCoordinate(mesh))
        xy = centres.dat.data_ro_with_halos
        i = np.floor(xy[:, 0] / self.dx).astype(int) % self.nx
        j = np.floor(xy[:, 1] / self.dx).astype(int) % self.ny
        return j, i

    def cell_function(self, values, name: str, out: Function | None = None) -> Function:
        """DG0 function of cell-centred grid values (or a constant), written into ``out`` when
        given."""
        f = Function(self.Q0, name=name) if out is None else out
        values = np.broadcast_to(np.asarray(values, dtype=float), (self.ny, self.nx))
        f.dat.data_with_halos[:] = values[self.cells]
        return f

    def corner_function(self, values, name: str, weights=None,
                        out: Function | None = None) -> Function:
        """Q1 function whose corner values are the four-cell averages of grid ``values``, or
        their ``weights``-weighted averages (e.g. over the ice cells only; every corner of the
        mesh touches a cell of positive weight), written into ``out`` when given."""
        f = Function(self.Q1, name=name) if out is None else out
        values = np.asarray(values, dtype=float)
        if weights is None:
            corners = corner_average(values, self.periodic)
        else:
            weights = np.asarray(weights, dtype=float)
            total = corner_average(weights, self.periodic)
            corners = corner_average(weights * values, self.periodic) / np.where(total > 0, total, 1.0)
        f.dat.data_with_halos[:] = corners[self.vertices]
        return f

    def velocity_function(self, u, v, at_corners: bool = False) -> Function:
        """Q1 vector function from grid components (m a-1): corner values if ``at_corners``
        (shape (ny+1, nx+1), or (ny, nx) periodic), else cell-centred values averaged to the
        corners."""
        f = Function(self.V, name="velocity")
        if not at_corners:
            u, v = corner_average(u, self.periodic), corner_average(v, self.periodic)
        f.dat.data_with_halos[:, 0] = np.asarray(u)[self.vertices]
        f.dat.data_with_halos[:, 1] = np.asarray(v)[self.vertices]
        return f

    def corner_values(self, velocity: Function):
        """Corner (nodal) values of a Q1 vector function, zero off the mesh: (u, v) arrays."""
        shape = (self.ny, self.nx) if self.periodic else (self.ny + 1, self.nx + 1)
        u, v = np.zeros(shape), np.zeros(shape)
        values = velocity.dat.data_ro_with_halos
        u[self.vertices], v[self.vertices] = values[:, 0], values[:, 1]
        return u, v

    def to_grid(self, velocity: Function):
        """Cell-centre values of a Q1 vector function, zero outside the mesh: (u, v) arrays."""
        centre = Function(VectorFunctionSpace(self.mesh, "DG", 0))
        centre.interpolate(velocity)
        values = centre.dat.data_ro_with_halos
        u, v = np.zeros((self.ny, self.nx)), np.zeros((self.ny, self.nx))
        u[self.cells], v[self.cells] = values[:, 0], values[:, 1]
        return u, v


def action(u, thk, surface, arrhenius, slidingco, m, options: SSAOptions,
           background_slope=(0.0, 0.0), n: float = GLEN_N):
    """The SSA action J(u) (MPa m3 a-1) as a UFL form, and its load part (driving stress and
    front pressure, linear in u); arguments as in the module docstring."""
    eps = sym(grad(u))
    eps_e2 = 0.5 * (inner(eps, eps) + tr(eps) ** 2)
    B = arrhenius ** (-1.0 / n)
    viscous = 2 * n / (n + 1) * thk * B * (eps_e2 + Constant(options.strain_rate_reg) ** 2) \
        ** ((n + 1) / (2 * n))
    friction = m / (m + 1) * slidingco * (dot(u, u) + Constant(options.velocity_reg) ** 2) \
        ** ((m + 1) / (2 * m))
    slope = grad(surface) + as_vector([Constant(background_slope[0]),
                                       Constant(background_slope[1])])
    driving = Constant(RHO_G) * thk * dot(slope, u)
    depth = max_value(thk - surface, 0.0)
    front = 0.5 * (Constant(RHO_G) * thk**2 - Constant(RHO_W_G) * depth**2)
    nrm = FacetNormal(u.function_space().mesh())
    dxq, dsq = dx(degree=options.quadrature_degree), ds(degree=options.quadrature_degree)
    boundary = front * dot(u, nrm) * dsq
    return (viscous + friction + driving) * dxq - boundary, driving * dxq - boundary


def snes_parameters(options: SSAOptions, dofs: int, atol: float):
    """SNES options of a Newton solve (absolute residual tolerance ``atol``) and the linear
    solver chosen: ``auto`` is ``direct`` up to DIRECT_MAX_DOFS unknowns."""
    solver = options.solver
    if solver == "auto":
        solver = "direct" if dofs <= DIRECT_MAX_DOFS else "scalable"
    return {"snes_type": "newtonls", "snes_linesearch_type": "bt", "snes_max_it": options.max_it,
            "snes_rtol": 0.0, "snes_atol": atol, "snes_stol": 0.0,
            "snes_error_if_not_converged": False, **SOLVER_PRESETS[solver]}, solver


def reason_name(reason: int) -> str:
    """The name of a PETSc SNES converged reason."""
    from petsc4py import PETSc
    names = {v: k for k, v in vars(PETSc.SNES.ConvergedReason).items() if isinstance(v, int)}
    return names.get(reason, str(reason))


def solve_ssa(thk, usurf, arrhenius, slidingco, dx: float, *, m: float = WEERTMAN_M,
              periodic: bool = False, background_slope=(0.0, 0.0), dirichlet=None,
              guess=None, guess_at_corners: bool = False, options: SSAOptions = SSAOptions()):
    """Solve the SSA on a cell-centred grid of spacing ``dx`` (m).

    ``thk``, ``usurf`` (m), ``arrhenius`` (MPa^-3 a^-1), ``slidingco`` (MPa a^(1/m) m^(-1/m))
    are (ny, nx) arrays (A and c may be scalars); ``m`` the Weertman exponent; ``dirichlet``
    maps sides (west, east, south, north) to (u, v) values in m a-1, None leaving a component
    free; ``guess`` a pair of (u, v) arrays (m a-1) to start Newton from: cell-centred, or the
    corner values of an earlier solution (shape (ny+1, nx+1), (ny, nx) if periodic) when
    ``guess_at_corners``; default: the local balance of friction and driving stress.

    Returns (u, v, report): cell-centred velocity (m a-1, zero on ice-free cells) and a dict
    with converged, snes_reason, newton_iterations, linear_iterations, residual_norms,
    wall_time_s, dofs, ice_cells, solver, and ``corners``: the (u, v) corner values (the Q1
    nodal solution) for an exact warm start. Raises SolverError with the report if Newton
    fails.
    """
    start = time.perf_counter()
    thk = np.asarray(thk, dtype=float)
    ny, nx = thk.shape
    ice = thk > options.thk_min
    if not ice.any():
        zero = np.zeros_like(thk)
        return zero, zero.copy(), {"converged": True, "snes_reason": "no ice",
                                   "newton_iterations": 0, "linear_iterations": 0,
                                   "residual_norms": [], "wall_time_s": 0.0, "dofs": 0,
                                   "ice_cells": 0, "solver": None, "corners": None}
    grid = GridMesh(nx, ny, dx, mask=ice, periodic=periodic)
    if dirichlet and not grid.full:
        raise InputError("Dirichlet sides need an ice-covered grid; the grid has ice-free cells")
    H = grid.cell_function(thk, "thk")
    s = grid.corner_function(np.asarray(usurf, dtype=float), "usurf")
    A = grid.cell_function(arrhenius, "arrhenius")
    c = grid.cell_function(slidingco, "slidingco")
    if guess is None:
        guess = local_balance(thk, usurf, slidingco, dx, m, periodic, background_slope)
        guess_at_corners = False
    u = grid.velocity_function(*guess, at_corners=guess_at_corners)
    J, load = action(u, H, s, A, c, m, options, background_slope)
    F = derivative(J, u, TestFunction(grid.V))
    bcs = []
    for side, values in (dirichlet or {}).items():
        if side not in SIDES:
            raise InputError(f"unknown side '{side}'; use one of {list(SIDES)}")
        for k, value in enumerate(values):
            if value is not None:
                bcs.append(DirichletBC(grid.V.sub(k), Constant(value), SIDES[side]))
    report = minimise(F, u, load, options, start, int(ice.sum()), "SSA", bcs)
    ug, vg = grid.to_grid(u)
    report["corners"] = grid.corner_values(u)
    return ug, vg, report


@dataclass
class NewtonCache:
    """What ``minimise`` keeps for the next call with the same forms: the load's residual form
    and the nonlinear solver (with its Jacobian's sparsity)."""

    load_residual: object = None
    solver: object = None


def minimise(F, w, load, options: SSAOptions, start: float, ice_cells: int, what: str,
             bcs=(), kept: NewtonCache | None = None) -> dict:
    """Newton on the residual ``F`` of an action in ``w`` (updated in place) until the residual
    falls below ``options.rtol`` times the norm of the ``load`` form's derivative; the report
    (converged, snes_reason, iterations, residual norms, tolerance, wall time since the
    ``perf_counter`` value ``start``, DOFs, ``ice_cells``, solver). ``kept``: a NewtonCache
    filled for the next call with the same forms, whose coefficients the caller has updated in
    place. Raises SolverError naming ``what`` with the report if Newton fails."""
    kept = NewtonCache() if kept is None else kept
    space = w.function_space()
    if kept.load_residual is None:
        kept.load_residual = derivative(load, w, TestFunction(space))
    load_norm = assemble(kept.load_residual).dat.norm
    dofs = space.dim()
    params, solver_name = snes_parameters(options, dofs, options.rtol * load_norm)
    if kept.solver is None:
        problem = NonlinearVariationalProblem(F, w, bcs=list(bcs), J=derivative(F, w))
        kept.solver = NonlinearVariationalSolver(problem, solver_parameters=params)
    solver = kept.solver
    snes = solver.snes
    snes.setTolerances(atol=options.rtol * load_norm)
    snes.setConvergenceHistory()
    try:
        solver.solve()
    except ConvergenceError:
        pass
    reason = snes.getConvergedReason()
    residuals, _ = snes.getConvergenceHistory()
    report = {"converged": bool(reason > 0), "snes_reason": reason_name(reason),
              "newton_iterations": int(snes.getIterationNumber()),
              "linear_iterations": int(snes.getLinearSolveIterations()),
              "residual_norms": [float(r) for r in residuals],
              "absolute_tolerance": options.rtol * load_norm,
              "wall_time_s": time.perf_counter() - start, "dofs": int(dofs),
              "ice_cells": ice_cells, "solver": solver_name}
    if not report["converged"]:
        raise SolverError(f"{what} Newton did not converge ({report['snes_reason']} after "
                          f"{report['newton_iterations']} steps)", report)
    return report


def centred_slopes(usurf, dx: float, periodic: bool, background_slope=(0.0, 0.0)):
    """Centred surface slopes (ds/dx, ds/dy) at the cell centres, dimensionless: wrapping on
    a periodic grid, where the uniform ``background_slope`` is added; one-sided at the edges of
    a closed grid (``glacier.fields.surface_slopes``), whose callers pass no background."""
    usurf = np.asarray(usurf, dtype=float)
    if not periodic:
        return surface_slopes(usurf, dx)
    sx = (np.roll(usurf, -1, 1) - np.roll(usurf, 1, 1)) / (2 * dx) + background_slope[0]
    sy = (np.roll(usurf, -1, 0) - np.roll(usurf, 1, 0)) / (2 * dx) + background_slope[1]
    return sx, sy


def local_balance(thk, usurf, slidingco, dx, m, periodic, background_slope):
    """Sliding speed where friction alone balances the driving stress (m a-1): the start of
    Newton without a guess. Slopes as ``centred_slopes``."""
    sx, sy = centred_slopes(usurf, dx, periodic, background_slope)
    slope = np.hypot(sx, sy)
    c = np.broadcast_to(np.asarray(slidingco, dtype=float), np.shape(thk))
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where((c > 0) & (slope > 0), (RHO_G * thk * slope / c) ** m, 0.0)
        scale = np.where(slope > 0, speed / slope, 0.0)
    return -scale * sx, -scale * sy
