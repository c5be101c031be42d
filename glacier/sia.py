"""Closed-form shallow-ice approximation (SIA): a flow model with no solve.

With Glen's law (n = 3, rate factor A in MPa^-3 a^-1) and the driving stress rho g H grad s,
the SIA gives the velocity profile in closed form:

    u(z) = u_b - 2 A (rho g)^n |grad s|^(n-1) grad s [H^(n+1) - (s - z)^(n+1)] / (n + 1),

so the surface deformation speed carries 1/(n+1), the depth average 1/(n+2). Weertman sliding
balances the driving stress locally: |u_b| = (rho g H |grad s| / c)^m along -grad s (c in
MPa a^(1/3) m^(-1/3), m = 3). Slopes are centred differences of ``usurf`` on the cell centres.
"""

from dataclasses import dataclass

import numpy as np
import xarray as xr

from glacier.constants import GLEN_N, RHO_G, WEERTMAN_M
from glacier.errors import InputError
from glacier.fields import grid_spacing, surface_slopes
from glacier.flow import velocity_dataset


def sia_velocities(thk, usurf, arrhenius, slidingco, dx, sliding=True, n=GLEN_N, m=WEERTMAN_M):
    """SIA velocity fields (m a-1) from thickness/surface (m), A (MPa^-3 a^-1), c and dx (m).

    Returns a dict with the six IGM velocity fields.
    """
    sx, sy = surface_slopes(usurf, dx)
    slope = np.hypot(sx, sy)
    coef = 2.0 * arrhenius * RHO_G**n * slope ** (n - 1) * thk ** (n + 1)
    surf_def = coef / (n + 1)
    mean_def = coef / (n + 2)
    if sliding:
        with np.errstate(divide="ignore", invalid="ignore"):
            base = np.where(slope > 0, (RHO_G * thk * slope / slidingco) ** m / slope, 0.0)
    else:
        base = np.zeros_like(thk)
    return {
        "ubar": -(base + mean_def) * sx, "vbar": -(base + mean_def) * sy,
        "uvelsurf": -(base + surf_def) * sx, "vvelsurf": -(base + surf_def) * sy,
        "uvelbase": -base * sx, "vvelbase": -base * sy,
    }


@dataclass
class ClosedFormSIA:
    """Flow model ``sia`` (its entry point in pyproject.toml): the closed-form SIA above,
    optionally with Weertman sliding."""

    sliding: bool = False
    name: str = "sia"

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        thk = state.thk.values
        c = state.slidingco.values
        if self.sliding and np.any((c <= 0) & (thk > 0)):
            raise InputError("field 'slidingco' must be > 0 under ice for Weertman sliding in the SIA")
        fields = sia_velocities(thk, state.usurf.values, state.arrhenius.values, c,
                                grid_spacing(state), sliding=self.sliding)
        return velocity_dataset(state, fields)

