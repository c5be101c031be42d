"""ISMIP-HOM experiments A-D (Pattyn et al. 2008) with the hybrid model, in m, a and MPa.

The grids are cell-centred and doubly periodic: [0, L]^2 with nx x nx cells for A and C, a
strip of nx x 4 cells (fields uniform across) for the flowline experiments B and D. The
inclined surface s = -x tan(alpha) enters as its constant slope (the periodic part of s is
zero). A and B have a frozen bed (the shear mode alone); C and D slide with linear friction
(m = 1, c = beta^2). Reported: the surface speed along y = L/4 (A, C; linear interpolation
between the two nearest cell rows) or along the flowline (B, D), m a-1.
"""

import time

import numpy as np

from glacier import ismip_hom as geo
from glacier.constants import GLEN_N

STRIP_CELLS = 4
"""Cells across the periodic strip of the flowline experiments."""

DEFAULT_NX = 40


def _grid(exp: str, length: float, nx: int):
    dx = length / nx
    ny = STRIP_CELLS if geo.is_flowline(exp) else nx
    x = dx * (np.arange(nx) + 0.5)
    y = dx * (np.arange(ny) + 0.5)
    X, Y = np.meshgrid(x, y)
    return dx, X, Y


def _profile(speed: np.ndarray, exp: str, length: float, dx: float) -> np.ndarray:
    if geo.is_flowline(exp):
        return speed[0]
    f = geo.profile_y(length) / dx - 0.5
    j0 = int(np.floor(f))
    w = f - j0
    return (1 - w) * speed[j0 % speed.shape[0]] + w * speed[(j0 + 1) % speed.shape[0]]


def run_case(exp: str, length_km: float, nx: int | None = None) -> dict:
    """Run experiment ``exp`` (A-D) at L = ``length_km`` km on ``nx`` cells along x (default
    40); return experiment, length_km, max/min_surface_speed (m a-1), dofs,
    newton_iterations, wall_time_s, nx, model."""
    from sia_ssa_solver.hybrid import solve_hybrid

    if exp not in geo.EXPERIMENTS:
        raise ValueError(f"experiment must be one of {geo.EXPERIMENTS}, got '{exp}'")
    nx = nx or DEFAULT_NX
    length = 1e3 * float(length_km)
    start = time.perf_counter()
    dx, X, Y = _grid(exp, length, nx)
    surf = geo.surface(exp, X, Y)
    thk = surf - geo.bed(exp, X, Y, length)
    slope = (-np.tan(geo.slope_angle(exp)), 0.0)
    flat = np.zeros_like(thk)
    sliding = exp in ("C", "D")
    friction = geo.beta2(exp, X, Y, length) if sliding else flat
    fields, report = solve_hybrid(thk, flat, geo.ARRHENIUS, friction, dx, m=1.0,
                                  sliding=sliding, periodic=True, background_slope=slope)
    ratio = (GLEN_N + 2) / (GLEN_N + 1)
    us = fields["ub"] + ratio * fields["ud"]
    vs = fields["vb"] + ratio * fields["vd"]
    dofs, newton = report["dofs"], report["newton_iterations"]
    profile = _profile(np.hypot(us, vs), exp, length, dx)
    return {"experiment": exp, "length_km": length_km, "model": "hybrid", "nx": nx,
            "max_surface_speed": float(profile.max()), "min_surface_speed": float(profile.min()),
            "dofs": int(dofs), "newton_iterations": int(newton),
            "wall_time_s": time.perf_counter() - start}
