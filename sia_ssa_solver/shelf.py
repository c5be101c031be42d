"""SSA against an exact solution: van der Veen's unconfined ice shelf of linear thickness.

A floating shelf (surface s = (1 - rho/rho_w) H, no friction) flows along x in a channel with
free-slip side walls (v = 0 at y = 0 and y = W), enters at x = 0 with u0 and ends at a calving
front at x = L. With H(x) = H0 + (H1 - H0) x / L the SSA reduces to the local law

    du/dx = A (rho g (1 - rho/rho_w) H / 4)^n,

so  u(x) = u0 + A (rho g (1 - rho/rho_w) / 4)^n (H(x)^(n+1) - H0^(n+1)) / ((n + 1) dH/dx),
v = 0 (m a-1, A in MPa^-3 a^-1). Errors are measured at the cell centres over the grid.

Two boundary treatments at x = L: ``natural`` (the calving-front stress condition of the
solver, with the last cell's thickness) and ``dirichlet`` (the exact u(L) imposed). Both
converge at second order, the order of Q1 with midpoint data.
"""

from dataclasses import dataclass

import numpy as np

from glacier.constants import GLEN_N, RHO_G, RHO_ICE
from glacier.errors import InputError


@dataclass(frozen=True)
class ShelfCase:
    """Shelf length ``length`` (m), thicknesses ``h0`` at the inflow and ``h1`` at the front
    (m), inflow speed ``u0`` (m a-1), rate factor ``arrhenius`` (MPa^-3 a^-1), ``ny`` cells
    across the channel."""

    length: float = 50e3
    h0: float = 500.0
    h1: float = 300.0
    u0: float = 300.0
    arrhenius: float = 100.0
    ny: int = 3

    def thickness(self, x):
        return self.h0 + (self.h1 - self.h0) * np.asarray(x) / self.length

    def velocity(self, x, n: float = GLEN_N):
        """Exact u(x) (m a-1)."""
        from sia_ssa_solver.ssa import RHO_WATER
        rgp = RHO_G * (1.0 - RHO_ICE / RHO_WATER)
        slope = (self.h1 - self.h0) / self.length
        return self.u0 + self.arrhenius * (rgp / 4) ** n * \
            (self.thickness(x) ** (n + 1) - self.h0 ** (n + 1)) / ((n + 1) * slope)


SHELF = ShelfCase()


def run_shelf(dx: float, case: ShelfCase = SHELF, front: str = "natural") -> dict:
    """Solve the shelf on a grid of spacing ``dx`` (m); return the errors (m a-1) and the
    solver report: dx_m, nx, max_velocity_error, mean_velocity_error (of |u - u_exact| at the
    cell centres, with v in the magnitude), relative_l2_error, newton_iterations, dofs,
    wall_time_s."""
    from sia_ssa_solver.ssa import RHO_WATER, solve_ssa

    if front not in ("natural", "dirichlet"):
        raise InputError(f"front must be 'natural' or 'dirichlet', got '{front}'")
    nx = int(round(case.length / dx))
    if nx < 4 or not np.isclose(nx * dx, case.length, rtol=1e-9):
        raise InputError(f"dx = {dx} m must divide the shelf length {case.length} m into at "
                         "least 4 cells")
    x = dx * (np.arange(nx) + 0.5)
    thk = np.tile(case.thickness(x), (case.ny, 1))
    usurf = (1.0 - RHO_ICE / RHO_WATER) * thk
    dirichlet = {"west": (case.u0, 0.0), "south": (None, 0.0), "north": (None, 0.0)}
    if front == "dirichlet":
        dirichlet["east"] = (float(case.velocity(case.length)), 0.0)
    exact = np.tile(case.velocity(x), (case.ny, 1))
    guess = (exact * 0.0 + case.u0, np.zeros_like(exact))
    u, v, report = solve_ssa(thk, usurf, case.arrhenius, 0.0, dx, m=1.0,
                             dirichlet=dirichlet, guess=guess)
    err = np.hypot(u - exact, v)
    return {"case": "ssa-shelf", "front": front, "dx_m": float(dx), "nx": nx,
            "max_velocity_error": float(err.max()), "mean_velocity_error": float(err.mean()),
            "relative_l2_error": float(np.sqrt((err**2).sum() / (exact**2).sum())),
            "max_exact_speed": float(exact.max()),
            "newton_iterations": report["newton_iterations"], "dofs": report["dofs"],
            "wall_time_s": report["wall_time_s"], "converged": report["converged"]}
