"""SIA thickness evolution against the Halfar similarity solution (Bueler et al. 2005, test B).

Test B: a dome on a flat bed, H0 = 3600 m, R0 = 750 km, A = 1e-16 Pa^-3 a^-1 = 100 MPa^-3 a^-1,
n = 3, zero surface mass balance, run from t0 (about 422 a) to t0 + 25 000 a. The exact volume
is conserved: V = 2 pi R0^2 H0 n/(n+1) B(2n/(n+1), (3n+1)/(2n+1)) with B the Beta function.

Two transports of the same staggered (Mahaffy) SIA:

- ``mahaffy``: the flux form dH/dt = -div q with the corner diffusivities of
  ``sia_ssa_solver.sia``, explicit, with the diffusive step dt = 0.9 dx^2 / (2 (n + 1) max D)
  recomputed at every step. Conserves volume to round-off.
- ``driver``: the project's evolution driver ``glacier.evolve`` with the "sia-mahaffy" flow
  model (cell-centred depth-averaged velocities, upwind transport) and its default step: the
  velocity CFL and the driver's diffusive limit. The velocity CFL cfl dx / max|u| alone is no
  diffusive bound (at the dome centre |u| -> 0 while D is largest): without the diffusive
  limit (``diffusive_limit=False``) the run is unstable (errors of 700-1000 m measured at
  50 and 25 km).
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy.special import beta as beta_function

from glacier.constants import GLEN_N
from glacier.errors import InputError
from glacier.evolve import EvolveSettings, evolve
from glacier.geometry import halfar_state, halfar_t0, halfar_thickness
from sia_ssa_solver.sia import diffusive_time_step, step_thickness


@dataclass(frozen=True)
class HalfarCase:
    """A Halfar dome: central thickness ``h0`` (m) and radius ``r0`` (m) at t0, rate factor
    ``arrhenius`` (MPa^-3 a^-1), run length ``years`` (a), grid half-width ``extent`` (m)."""

    h0: float = 3600.0
    r0: float = 750e3
    arrhenius: float = 100.0
    years: float = 25000.0
    extent: float = 1200e3

    @property
    def t0(self) -> float:
        return halfar_t0(self.h0, self.r0, self.arrhenius)

    def volume(self, n: float = GLEN_N) -> float:
        """Exact (conserved) ice volume (m3)."""
        return float(2 * np.pi * self.r0**2 * self.h0 * n / (n + 1)
                     * beta_function(2 * n / (n + 1), (3 * n + 1) / (2 * n + 1)))


TEST_B = HalfarCase()
"""Bueler et al. (2005) test B."""


def _grid_size(case: HalfarCase, dx: float) -> int:
    nx = int(round(2 * case.extent / dx))
    if nx < 8 or not np.isclose(nx * dx, 2 * case.extent, rtol=1e-9):
        raise InputError(f"dx = {dx} m must divide the domain width {2 * case.extent} m into "
                         "at least 8 cells")
    return nx


def _evolve_mahaffy(state, case: HalfarCase, safety: float):
    thk = state.thk.values.copy()
    topg = state.topg.values
    dx = float(state.x[1] - state.x[0])
    smb = np.zeros_like(thk)
    t, steps, clipped = 0.0, 0, 0.0
    while t < case.years * (1 - 1e-12):
        dt = min(diffusive_time_step(thk, topg + thk, case.arrhenius, dx, safety=safety),
                 case.years - t)
        thk, dclip = step_thickness(thk, topg, smb, case.arrhenius, dx, dt)
        clipped += dclip
        t += dt
        steps += 1
    return thk, steps, clipped


def _evolve_driver(state, case: HalfarCase, cfl: float, diffusive_limit: bool):
    from glacier.smb import ZeroSmb
    from sia_ssa_solver.models import MahaffySIA

    settings = EvolveSettings(years=case.years, output_interval=case.years, cfl=cfl,
                              dt_max=case.years, diffusive_limit=diffusive_limit)
    run = evolve(state, MahaffySIA(), ZeroSmb(), settings, show_progress=False)
    return run.thk.values[-1], None, float(run.attrs["clipped_volume_m3"])


def run_halfar(dx: float, case: HalfarCase = TEST_B, transport: str = "mahaffy",
               safety: float = 0.9, cfl: float = EvolveSettings.cfl,
               diffusive_limit: bool = True) -> dict:
    """Evolve the dome from t0 to t0 + years on a grid of spacing ``dx`` (m); compare with the
    exact thickness at the end.

    ``safety`` scales the step of the flux form; ``cfl`` and ``diffusive_limit`` go to the
    driver. Returns a dict: dx_m, nx, steps (None for ``driver``),
    max_thickness_error_m and mean_thickness_error_m (over cells where the exact or the
    numerical dome has ice), central_thickness_error_m, relative_volume_error (final volume
    against the exact volume), volume_drift (final against initial discrete volume),
    clipped_volume_m3, wall_time_s.
    """
    if transport not in ("mahaffy", "driver"):
        raise InputError(f"transport must be 'mahaffy' or 'driver', got '{transport}'")
    nx = _grid_size(case, dx)
    state = halfar_state(nx, case.extent, case.h0, case.r0, case.arrhenius)
    vol0 = float(state.thk.sum()) * dx * dx
    start = time.perf_counter()
    if transport == "mahaffy":
        thk, steps, clipped = _evolve_mahaffy(state, case, safety)
    else:
        thk, steps, clipped = _evolve_driver(state, case, cfl, diffusive_limit)
    wall = time.perf_counter() - start
    X, Y = np.meshgrid(state.x.values, state.y.values)
    exact = halfar_thickness(np.hypot(X, Y), case.t0 + case.years, case.h0, case.r0,
                             case.arrhenius)
    err = np.abs(thk - exact)
    ice = (exact > 0) | (thk > 0)
    centre = np.unravel_index(np.argmin(np.hypot(X, Y)), X.shape)
    vol = float(thk.sum()) * dx * dx
    return {"case": "halfar", "transport": transport, "dx_m": float(dx), "nx": nx,
            "years": case.years, "steps": steps,
            "max_thickness_error_m": float(err.max()),
            "mean_thickness_error_m": float(err[ice].mean()),
            "central_thickness_error_m": float(thk[centre] - exact[centre]),
            "relative_volume_error": (vol - case.volume()) / case.volume(),
            "volume_drift": (vol - vol0) / vol0, "clipped_volume_m3": clipped,
            "wall_time_s": wall}


def observed_order(coarse: dict, fine: dict, key: str) -> float:
    """Observed convergence order of the error ``key`` between two runs (log2 of the ratio for
    a halved dx)."""
    return float(np.log(abs(coarse[key]) / abs(fine[key])) / np.log(coarse["dx_m"] / fine["dx_m"]))
