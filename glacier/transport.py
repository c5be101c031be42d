"""Mass transport: explicit first-order upwind finite volumes on staggered fluxes.

    dH/dt = -div(u_bar H) + smb

Depth-averaged velocities live at cell centres; each face takes the mean of its two cells and
carries the thickness of the upwind cell. Fluxes through the domain boundary are zero (closed),
so with zero SMB the ice volume is conserved to round-off. The time step follows a CFL number:
dt = cfl * dx / max |u_face|, capped by ``dt_max``.
"""

import numpy as np

from glacier.fields import surface_slopes


def face_fluxes(thk: np.ndarray, ubar: np.ndarray, vbar: np.ndarray):
    """Upwind fluxes (m2 a-1) on interior faces: qx of shape (ny, nx-1), qy of shape (ny-1, nx)."""
    uf = 0.5 * (ubar[:, 1:] + ubar[:, :-1])
    vf = 0.5 * (vbar[1:, :] + vbar[:-1, :])
    qx = uf * np.where(uf > 0, thk[:, :-1], thk[:, 1:])
    qy = vf * np.where(vf > 0, thk[:-1, :], thk[1:, :])
    return qx, qy


def flux_divergence(thk: np.ndarray, ubar: np.ndarray, vbar: np.ndarray, dx: float) -> np.ndarray:
    """div(u H) (m a-1) with closed boundaries."""
    qx, qy = face_fluxes(thk, ubar, vbar)
    div = np.zeros_like(thk)
    div[:, :-1] += qx
    div[:, 1:] -= qx
    div[:-1, :] += qy
    div[1:, :] -= qy
    return div / dx


def cfl_time_step(ubar: np.ndarray, vbar: np.ndarray, dx: float, cfl: float,
                  dt_max: float) -> float:
    """Largest stable step (a): cfl * dx / max face speed, at most ``dt_max``."""
    uf = np.abs(0.5 * (ubar[:, 1:] + ubar[:, :-1])).max(initial=0.0)
    vf = np.abs(0.5 * (vbar[1:, :] + vbar[:-1, :])).max(initial=0.0)
    speed = max(uf, vf)
    return dt_max if speed == 0 else min(dt_max, cfl * dx / speed)


def diffusive_time_step(thk, ubar, vbar, ubase, vbase, usurf, dx, safety: float = 0.125):
    """Stability limit (a) of the explicit step for the diffusive (deformation) part of the flow.

    The deformation flux H (u_bar - u_base) behaves like -D grad s with an effective diffusivity
    D = H |u_bar - u_base| / |grad s| (m2 a-1; the SIA's D exactly when the flow is SIA).
    Forward Euler on a 2-D linear diffusion needs dt <= dx^2 / (4 D); with Glen's n = 3 the
    flux responds to a slope change along the flow with n D, so the linearised bound is
    dx^2 / (2 (n + 1) D) = dx^2 / (8 D), the default ``safety`` (which multiplies dx^2 / D).
    """
    dsdx, dsdy = surface_slopes(usurf, dx)
    slope = np.hypot(dsdx, dsdy)
    deform = np.hypot(ubar - ubase, vbar - vbase)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(slope > 1e-6, thk * deform / slope, 0.0)
    d_max = diff.max(initial=0.0)
    return np.inf if d_max == 0 else safety * dx * dx / d_max


def step_thickness(thk, ubar, vbar, smb, dx, dt):
    """Advance thickness (m) by ``dt`` (a); returns (new thickness, ice volume removed by
    clipping negative thickness to zero, in m3: ablation larger than the ice present)."""
    new = thk - dt * flux_divergence(thk, ubar, vbar, dx) + dt * smb
    clipped = -new[new < 0].sum() * dx * dx
    return np.maximum(new, 0.0), clipped
