"""Shallow-ice approximation on a staggered grid (Mahaffy 1976), in m, a and MPa.

Glen's law (exponent n, rate factor A in MPa^-n a^-1) and the driving stress rho g H grad s give
the deformation velocity in closed form,

    u(z) - u_b = -2 A (rho g)^n |grad s|^(n-1) grad s [H^(n+1) - (s - z)^(n+1)] / (n + 1),

so the depth-averaged deformation velocity is -Gamma grad s with the *velocity coefficient*

    Gamma = 2 A (rho g)^n H^(n+1) |grad s|^(n-1) / (n + 2)        (m a-1),

the surface deformation velocity is (n + 2) / (n + 1) times the depth average, the basal one is
zero, and the ice flux is q = -D grad s with the diffusivity D = Gamma H (m2 a-1).

Staggering (Mahaffy type): Gamma and D live on the cell *corners*; each corner takes H as the
mean of its four cells and grad s from the two differences across the corner in each direction.
A face flux is the mean of the corner diffusivities at its two ends times the compact difference
of ``s`` across the face. D >= 0 everywhere and the face difference sees every grid mode, so
the explicit scheme dH/dt = -div q is positive and stable under the diffusive time-step bound
(``diffusive_time_step``, which accounts for the nonlinearity); odd-even (checkerboard) modes are damped, which centred slopes at
the cell centres would not do.

Grids are cell-centred (y, x) arrays of spacing dx (m). Closed domains pad the cells by copying
the edge (so faces on the domain boundary carry no flux); periodic ones wrap around. A uniform
``background_slope`` (sx, sy) adds to the gradient of a periodic ``usurf`` (the inclined
surfaces of ISMIP-HOM are periodic only after removing the mean slope).
"""

import numpy as np

from glacier.constants import GLEN_N, RHO_G


def corner_average(a: np.ndarray, periodic: bool) -> np.ndarray:
    """Mean of the four cells around each corner: shape (ny+1, nx+1), or (ny, nx) periodic,
    where corner (j, i) is the lower-left corner of cell (j, i)."""
    if periodic:
        return 0.25 * (a + np.roll(a, 1, 0) + np.roll(a, 1, 1) + np.roll(np.roll(a, 1, 0), 1, 1))
    p = np.pad(a, 1, mode="edge")
    return 0.25 * (p[1:, 1:] + p[:-1, 1:] + p[1:, :-1] + p[:-1, :-1])


def _corner_slopes(usurf: np.ndarray, dx: float, periodic: bool, background_slope):
    """Surface slope (ds/dx, ds/dy) at the cell corners, dimensionless."""
    if periodic:
        s, w = usurf, np.roll(usurf, 1, 1)
        sw, ss = np.roll(s, 1, 0), np.roll(w, 1, 0)
        sx = 0.5 * ((s - w) + (sw - ss)) / dx
        sy = 0.5 * ((s - sw) + (w - ss)) / dx
    else:
        p = np.pad(usurf, 1, mode="edge")
        sx = 0.5 * ((p[1:, 1:] - p[1:, :-1]) + (p[:-1, 1:] - p[:-1, :-1])) / dx
        sy = 0.5 * ((p[1:, 1:] - p[:-1, 1:]) + (p[1:, :-1] - p[:-1, :-1])) / dx
    return sx + background_slope[0], sy + background_slope[1]


def corner_coefficients(thk, usurf, arrhenius, dx, n=GLEN_N, periodic=False,
                        background_slope=(0.0, 0.0)):
    """Velocity coefficient Gamma (m a-1) and diffusivity D = Gamma H (m2 a-1) on the corners.

    ``thk``, ``usurf`` (m) and ``arrhenius`` (MPa^-n a^-1, scalar or array) are cell-centred.
    """
    h = corner_average(np.asarray(thk, dtype=float), periodic)
    a = corner_average(np.broadcast_to(np.asarray(arrhenius, dtype=float), np.shape(thk)),
                        periodic)
    sx, sy = _corner_slopes(np.asarray(usurf, dtype=float), dx, periodic, background_slope)
    slope2 = sx * sx + sy * sy
    gamma = 2.0 * a * RHO_G**n / (n + 2) * h ** (n + 1) * slope2 ** ((n - 1) / 2)
    return gamma, gamma * h


def _face_values(corner: np.ndarray, periodic: bool):
    """Corner values averaged onto the x-faces (ends above and below) and the y-faces (ends left
    and right). Non-periodic shapes: (ny, nx+1) and (ny+1, nx); periodic: (ny, nx) each, face
    (j, i) being the left/lower face of cell (j, i)."""
    if periodic:
        return 0.5 * (corner + np.roll(corner, -1, 0)), 0.5 * (corner + np.roll(corner, -1, 1))
    return 0.5 * (corner[1:, :] + corner[:-1, :]), 0.5 * (corner[:, 1:] + corner[:, :-1])


def _face_differences(usurf: np.ndarray, dx: float, periodic: bool, background_slope):
    """Compact surface differences across the x- and y-faces (dimensionless), zero on the faces
    of the domain boundary of a closed grid."""
    if periodic:
        return ((usurf - np.roll(usurf, 1, 1)) / dx + background_slope[0],
                (usurf - np.roll(usurf, 1, 0)) / dx + background_slope[1])
    p = np.pad(usurf, 1, mode="edge")
    return np.diff(p[1:-1, :], axis=1) / dx, np.diff(p[:, 1:-1], axis=0) / dx


def face_fields(thk, usurf, arrhenius, dx, n=GLEN_N, periodic=False,
                background_slope=(0.0, 0.0), flux=False):
    """Depth-averaged deformation velocity (m a-1), or the flux (m2 a-1) if ``flux``, normal to
    the x-faces and the y-faces (shapes as in ``_face_values``)."""
    gamma, diff = corner_coefficients(thk, usurf, arrhenius, dx, n, periodic, background_slope)
    cx, cy = _face_values(diff if flux else gamma, periodic)
    gx, gy = _face_differences(np.asarray(usurf, dtype=float), dx, periodic, background_slope)
    return -cx * gx, -cy * gy


def deformation_velocities(thk, usurf, arrhenius, dx, n=GLEN_N, periodic=False,
                           background_slope=(0.0, 0.0)) -> dict[str, np.ndarray]:
    """SIA deformation velocities (m a-1) at the cell centres in IGM names.

    The cell-centred depth average is the mean of the face velocities on the two faces of the
    cell in each direction; surface = (n + 2) / (n + 1) x depth average; base = 0.
    """
    ux, vy = face_fields(thk, usurf, arrhenius, dx, n, periodic, background_slope)
    if periodic:
        ubar = 0.5 * (ux + np.roll(ux, -1, 1))
        vbar = 0.5 * (vy + np.roll(vy, -1, 0))
    else:
        ubar = 0.5 * (ux[:, 1:] + ux[:, :-1])
        vbar = 0.5 * (vy[1:, :] + vy[:-1, :])
    ratio = (n + 2) / (n + 1)
    zero = np.zeros_like(ubar)
    return {"ubar": ubar, "vbar": vbar, "uvelsurf": ratio * ubar, "vvelsurf": ratio * vbar,
            "uvelbase": zero, "vvelbase": zero.copy()}


def flux_divergence(thk, usurf, arrhenius, dx, n=GLEN_N) -> np.ndarray:
    """div q (m a-1) of the Mahaffy fluxes on a closed grid (no flux through its boundary)."""
    qx, qy = face_fields(thk, usurf, arrhenius, dx, n, flux=True)
    return (np.diff(qx, axis=1) + np.diff(qy, axis=0)) / dx


def diffusive_time_step(thk, usurf, arrhenius, dx, n=GLEN_N, safety=0.9) -> float:
    """Largest stable explicit step (a) of dH/dt = -div q: safety * dx^2 / (2 (n + 1) max D).

    Linearised, the flux responds to a slope perturbation along the flow with n D (q grows
    like |grad s|^n) and across it with D, so the 2-D explicit bound is
    dt (4 n D + 4 D) / dx^2 <= 2, i.e. half the linear-diffusion bound dx^2 / (4 D) for
    n = 3; ``safety`` < 1 leaves room for D growing within a step. Infinite without ice.
    """
    _, diff = corner_coefficients(thk, usurf, arrhenius, dx, n)
    dmax = float(diff.max(initial=0.0))
    return np.inf if dmax == 0 else safety * dx * dx / (2.0 * (n + 1) * dmax)


def step_thickness(thk, topg, smb, arrhenius, dx, dt, n=GLEN_N):
    """One explicit Mahaffy step: returns the new thickness (m) after ``dt`` (a), clipped at 0,
    and the volume (m3) removed by the clipping."""
    div = flux_divergence(thk, topg + thk, arrhenius, dx, n)
    new = thk - dt * div + dt * smb
    clipped = -float(new[new < 0].sum()) * dx * dx
    return np.maximum(new, 0.0), clipped
