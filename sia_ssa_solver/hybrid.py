"""The hybrid SIA+SSA model as one first-order action, with Firedrake on the 2-D grid (m, a, MPa).

The velocity at height zeta H above the bed (0 <= zeta <= 1) is a sliding (SSA) mode plus a
shear (SIA) mode of fixed vertical shape,

    u(zeta) = u_b + phi(zeta) u_d,      phi(zeta) = (n+2)/(n+1) [1 - (1 - zeta)^(n+1)],

so u_b is the basal velocity, u_d the depth-averaged deformation velocity (phi has mean 1) and
the surface velocity u_b + (n+2)/(n+1) u_d; phi is the exact SIA profile. The two fields
minimise the first-order (Blatter-Pattyn) action restricted to that ansatz,

    J(u_b, u_d) = int_ice [ H int_0^1 2n/(n+1) B (eps_e(zeta)^2 + eps_reg^2)^((n+1)/(2n)) dzeta
                            + sqrt(1 + |grad b|^2) m/(m+1) c |u_t|^((m+1)/m)
                            + rho g H grad s . (u_b + u_d) ] dx  - (terminus term of ``ssa``)

with the effective strain rate of both the membrane and the vertical shear,

    eps_e(zeta)^2 = [eps:eps + tr(eps)^2] / 2 + |phi'(zeta) u_d / (2 H)|^2,
    eps = sym[grad u_b + phi(zeta) grad u_d - phi'(zeta) u_d (x) grad z(zeta) / H],

horizontal gradients taken at fixed height (grad z(zeta) = grad s - (1 - zeta) grad H is the
slope of the terrain-following level), the zeta
integral by Gauss-Legendre quadrature (``HybridOptions.levels`` points), and the friction acting
on the bed-parallel sliding velocity u_t = (u_b, u_b . grad b) per unit bed area (regularised by
u_reg), as in the Stokes solver. Without membrane stresses and on a flat bed the minimiser
is the closed-form SIA, u_d = 2 A (rho g H |grad s|)^n H / (n+2) along -grad s, with Weertman
sliding balancing the driving stress locally; with them, longitudinal and lateral stresses
spread the driving stress over a few ice thicknesses, which bounds the speed of thick ice on
steep grid-scale slopes where the local SIA fails (docs/hybrid.md). A frozen bed
(``sliding=False``) drops u_b.

The SIA-validity report: the basal shear stress the shear mode carries,
tau_s = ((n+2) |u_d| / (2 A H))^(1/n), equals the driving stress tau_d = rho g H |grad s|
under the SIA; ``sia_invalid_share`` is the share of ice cells where they differ by more than
``SIA_STRESS_MISMATCH`` of tau_d, i.e. where membrane stresses carry a large part of the load.

Discretisation and solver as in ``sia_ssa_solver.ssa``: Q1 fields on the ice cells of the grid,
H, A, c cell-wise, s from corner averages; Newton with MUMPS LU (or CG + GAMG: the Hessian of
the convex action is symmetric positive definite).
"""

import time
from dataclasses import dataclass

import numpy as np
from firedrake import (Constant, FacetNormal, Function, MixedFunctionSpace, TestFunction,
                       as_vector, derivative, dot, ds, dx, grad, inner, max_value, outer, split,
                       sqrt, sym, tr)
from ufl.domain import extract_unique_domain

from glacier.constants import GLEN_N, RHO_G, WEERTMAN_M
from sia_ssa_solver.sia import deformation_velocities
from sia_ssa_solver.ssa import (RHO_W_G, GridMesh, NewtonCache, SSAOptions, centred_slopes, local_balance,
                                minimise)

SIA_STRESS_MISMATCH = 0.5
"""Relative difference between the shear mode's basal stress and the local driving stress above
which a cell counts as outside the SIA's validity."""


START_SPEED_CAP = 100.0
"""Speed (m a-1) at which the cold start (the local SIA and sliding balances) is clipped: those
reach 1e4-1e6 m a-1 on steep, thick ice, far from the solution, while their directions are
good."""


@dataclass(frozen=True)
class HybridOptions(SSAOptions):
    """SSAOptions plus ``levels``: Gauss-Legendre points of the vertical integral. The shear
    energy alone, phi'^((n+1)/n) ~ (1 - zeta)^(n+1), is a polynomial of degree 4 for n = 3 and
    3 points integrate it exactly; the membrane terms make the integrand non-polynomial, and 5
    points leave room for them."""

    levels: int = 5


def shape(zeta, n: float = GLEN_N):
    """phi(zeta): the SIA profile of the shear mode, mean 1 over [0, 1]."""
    return (n + 2) / (n + 1) * (1 - (1 - zeta) ** (n + 1))


def shape_slope(zeta, n: float = GLEN_N):
    """d phi / d zeta."""
    return (n + 2) * (1 - zeta) ** n


def vertical_points(levels: int) -> tuple[list[float], list[float]]:
    """Gauss-Legendre points and weights on [0, 1], as Python floats (UFL takes no numpy
    scalars as factors)."""
    x, w = np.polynomial.legendre.leggauss(levels)
    return [0.5 * (float(p) + 1.0) for p in x], [0.5 * float(q) for q in w]


def action(ub, ud, thk, surface, arrhenius, slidingco, m, options: HybridOptions,
           background_slope=(0.0, 0.0), n: float = GLEN_N, thk_corners=None):
    """J(u_b, u_d) (MPa m3 a-1) as a UFL form (u_b None: frozen bed), and its load part.

    ``thk_corners`` (the Q1 thickness, m) bends the levels: horizontal derivatives at fixed
    height are taken as d/dx|_zeta - (dz/dx|_zeta / H) d/dzeta with
    dz/dx|_zeta = grad s - (1 - zeta) grad H; None keeps them along the levels."""
    B = arrhenius ** (-1.0 / n)
    reg2 = Constant(options.strain_rate_reg) ** 2
    slope = grad(surface) + as_vector([Constant(background_slope[0]),
                                       Constant(background_slope[1])])
    grad_b = grad(ub) if ub is not None else 0
    viscous = 0
    for zeta, weight in zip(*vertical_points(options.levels)):
        gradient = grad_b + shape(zeta, n) * grad(ud)
        if thk_corners is not None:
            level_slope = slope - (1 - zeta) * grad(thk_corners)
            gradient = gradient - shape_slope(zeta, n) / thk * outer(ud, level_slope)
        eps = sym(gradient)
        shear = shape_slope(zeta, n) / (2 * thk)
        eps_e2 = 0.5 * (inner(eps, eps) + tr(eps) ** 2) + shear**2 * dot(ud, ud)
        viscous = viscous + weight * (eps_e2 + reg2) ** ((n + 1) / (2 * n))
    viscous = 2 * n / (n + 1) * thk * B * viscous
    ubar = ud if ub is None else ub + ud
    driving = Constant(RHO_G) * thk * dot(slope, ubar)
    depth = max_value(thk - surface, 0.0)
    front = 0.5 * (Constant(RHO_G) * thk**2 - Constant(RHO_W_G) * depth**2)
    nrm = FacetNormal(extract_unique_domain(thk))
    dxq, dsq = dx(degree=options.quadrature_degree), ds(degree=options.quadrature_degree)
    density = viscous + driving
    if ub is not None:
        # Weertman friction on the bed-parallel velocity (u_b, u_b . grad b), per unit bed area
        bed_slope = slope - grad(thk_corners) if thk_corners is not None else slope
        sliding2 = dot(ub, ub) + dot(ub, bed_slope) ** 2 + Constant(options.velocity_reg) ** 2
        density = density + sqrt(1 + dot(bed_slope, bed_slope)) * m / (m + 1) * slidingco * \
            sliding2 ** ((m + 1) / (2 * m))
    boundary = front * dot(ubar, nrm) * dsq
    return density * dxq - boundary, driving * dxq - boundary


def _sia_guess(thk, usurf, arrhenius, dx, periodic, background_slope, n, cap):
    """Cell-centred start of the shear mode: the Mahaffy SIA, its speed capped at ``cap``."""
    sia = deformation_velocities(thk, usurf, arrhenius, dx, n, periodic, background_slope)
    return _capped((sia["ubar"], sia["vbar"]), cap)


def solve_hybrid(thk, usurf, arrhenius, slidingco, dx: float, *, m: float = WEERTMAN_M,
                 sliding: bool = True, periodic: bool = False, background_slope=(0.0, 0.0),
                 guess=None, guess_at_corners: bool = False,
                 options: HybridOptions = HybridOptions(), n: float = GLEN_N,
                 kept: "HybridCache | None" = None):
    """Minimise J on a cell-centred grid of spacing ``dx`` (m); arguments as in
    ``sia_ssa_solver.ssa.solve_ssa``, ``guess`` a pair ((u_b, v_b), (u_d, v_d)) in m a-1.
    ``kept``: a HybridCache in which a solve leaves its mesh, fields, forms and nonlinear
    solver; the next solve with the same grid, ice mask and settings only writes its fields
    into them
    (``report["setup"]`` says ``kept`` or ``new``), which spares the mesh and form building of
    every snapshot of a run.

    Returns (fields, report): cell-centred ``ub, vb, ud, vd`` (m a-1, zero off the ice) and a
    dict as solve_ssa's plus ``corners`` (the nodal values for an exact warm start) and the
    SIA-validity diagnostics. Raises SolverError with the report if Newton fails.
    """
    start = time.perf_counter()
    thk = np.asarray(thk, dtype=float)
    ny, nx = thk.shape
    ice = thk > options.thk_min
    zero = np.zeros_like(thk)
    if not ice.any():
        fields = dict(ub=zero, vb=zero, ud=zero, vd=zero)
        return fields, {"converged": True, "snes_reason": "no ice", "newton_iterations": 0,
                        "linear_iterations": 0, "residual_norms": [], "wall_time_s": 0.0,
                        "dofs": 0, "ice_cells": 0, "solver": None, "corners": None,
                        **validity(thk, usurf, arrhenius, zero, zero, dx, ice, n,
                                   periodic, background_slope)}
    key = (nx, ny, dx, periodic, sliding, m, n, options, tuple(background_slope), ice.tobytes())
    kept = HybridCache() if kept is None else kept
    reuse = kept.setup is not None and kept.setup.key == key
    if not reuse:
        kept.setup = _setup(key, ice)
    setup = kept.setup
    grid, w = setup.grid, setup.w
    parts = w.subfunctions if sliding else (None, w)
    grid.cell_function(thk, "thk", out=setup.thk)
    # corner surface and thickness from the ice cells alone: a margin cell keeps its own surface
    # up to its edge, and the front term carries its cliff (averaging in the ice-free
    # neighbours' surface would add the cliff's push a second time, as a driving stress)
    grid.corner_function(np.asarray(usurf, dtype=float), "usurf", weights=ice, out=setup.usurf)
    grid.corner_function(thk, "thk_corners", weights=ice, out=setup.thk_corners)
    grid.cell_function(arrhenius, "arrhenius", out=setup.arrhenius)
    grid.cell_function(slidingco, "slidingco", out=setup.slidingco)
    if guess is None:
        cap = START_SPEED_CAP
        guess_d = _sia_guess(thk, usurf, arrhenius, dx, periodic, background_slope, n, cap)
        guess_b = (_capped(local_balance(thk, usurf, slidingco, dx, m, periodic,
                                         background_slope), cap) if sliding else (zero, zero))
        guess, guess_at_corners = (guess_b, guess_d), False
    for target, values in zip(parts, guess):
        if target is not None:
            target.assign(grid.velocity_function(*values, at_corners=guess_at_corners))
    report = minimise(setup.residual, w, setup.load, options, start, int(ice.sum()),
                      "hybrid", kept=setup.newton)
    report["setup"] = "kept" if reuse else "new"
    ud_g, vd_g = grid.to_grid(parts[1])
    corner_d = grid.corner_values(parts[1])
    if sliding:
        ub_g, vb_g = grid.to_grid(parts[0])
        corner_b = grid.corner_values(parts[0])
    else:
        ub_g, vb_g = zero, zero.copy()
        corner_b = (np.zeros_like(corner_d[0]), np.zeros_like(corner_d[0]))
    report["corners"] = (corner_b, corner_d)
    report.update(validity(thk, usurf, arrhenius, ud_g, vd_g, dx, ice, n, periodic,
                           background_slope))
    return dict(ub=ub_g, vb=vb_g, ud=ud_g, vd=vd_g), report


@dataclass
class HybridSetup:
    """The mesh of one ice mask with its Functions of the grid fields (values written by each
    solve), the unknown ``w`` (u_b and u_d, or u_d alone on a frozen bed), the residual and
    load forms of the action, and the Newton solver they keep; ``key``: the grid, mask and
    settings it was made for (see ``solve_hybrid``)."""

    key: tuple
    grid: GridMesh
    thk: Function
    usurf: Function
    thk_corners: Function
    arrhenius: Function
    slidingco: Function
    w: Function
    load: object
    residual: object
    newton: NewtonCache


@dataclass
class HybridCache:
    """Holds the HybridSetup of the last solve (None before the first) for the next one."""

    setup: HybridSetup | None = None


def _setup(key: tuple, ice) -> HybridSetup:
    """The HybridSetup for the grid and settings of ``key`` and the ice mask ``ice``."""
    nx, ny, dx, periodic, sliding, m, n, options, background_slope, _ = key
    grid = GridMesh(nx, ny, dx, mask=ice, periodic=periodic)
    fields = {"thk": Function(grid.Q0, name="thk"), "usurf": Function(grid.Q1, name="usurf"),
              "thk_corners": Function(grid.Q1, name="thk_corners"),
              "arrhenius": Function(grid.Q0, name="arrhenius"),
              "slidingco": Function(grid.Q0, name="slidingco")}
    space = MixedFunctionSpace([grid.V, grid.V]) if sliding else grid.V
    w = Function(space, name="velocity")
    ub, ud = split(w) if sliding else (None, w)
    J, load = action(ub, ud, fields["thk"], fields["usurf"], fields["arrhenius"],
                     fields["slidingco"], m, options, background_slope, n,
                     thk_corners=fields["thk_corners"])
    return HybridSetup(key=key, grid=grid, **fields, w=w, load=load,
                       residual=derivative(J, w, TestFunction(space)), newton=NewtonCache())


def _capped(uv, cap):
    """(u, v) with the speed clipped at ``cap`` (m a-1), directions kept."""
    u, v = uv
    speed = np.hypot(u, v)
    scale = np.where(speed > cap, cap / np.maximum(speed, 1e-300), 1.0)
    return u * scale, v * scale


def validity(thk, usurf, arrhenius, ud, vd, dx, ice, n=GLEN_N, periodic=False,
             background_slope=(0.0, 0.0)) -> dict:
    """SIA-validity diagnostics of a solution (module docstring): ``sia_invalid_share`` (0-1),
    the grid-scale surface slope on the ice (median and 99th percentile) and the largest
    aspect ratio H / dx."""
    if not ice.any():
        return {"sia_invalid_share": 0.0, "surface_slope_median": 0.0,
                "surface_slope_p99": 0.0, "aspect_ratio_max": 0.0}
    slope = np.hypot(*centred_slopes(usurf, dx, periodic, background_slope))
    a = np.broadcast_to(np.asarray(arrhenius, dtype=float), thk.shape)
    h = np.where(ice, thk, 1.0)
    tau_s = ((n + 2) * np.hypot(ud, vd) / (2 * a * h)) ** (1.0 / n)
    tau_d = RHO_G * h * slope
    invalid = np.abs(tau_s - tau_d) > SIA_STRESS_MISMATCH * tau_d
    return {"sia_invalid_share": float(invalid[ice].mean()),
            "surface_slope_median": float(np.median(slope[ice])),
            "surface_slope_p99": float(np.percentile(slope[ice], 99)),
            "aspect_ratio_max": float(thk[ice].max() / dx)}
