"""The first-order (Blatter-Pattyn) ice-flow energy on the grid, in ``keras.ops``: the loss of
physics-informed training (issue 20), whose minimiser is the first-order velocity.

Units m, a, MPa. The velocity (u, v) (m a-1) is given on ``levels`` terrain-following levels
zeta in [0, 1] (0 at the bed, 1 at the surface; ``level_heights``) at the cell centres of the
grid, as tensors (batch, y, x, levels). With Glen's law (n = 3, rate factor A in MPa-3 a-1)
and Weertman sliding tau_b = c |u_b|^(1/m - 1) u_b (m = 3, c in MPa a1/3 m-1/3), the energy
per unit area of the map (MPa m a-1), its sum over the grid divided by the number of corners, is

    E = mean over the grid of [ sum over layers of H dzeta (2n / (n + 1)) A^(-1/n) e^(1 + 1/n)
                             + (m / (m + 1)) c |u_b,par|^(1 + 1/m) (1 + |grad b|^2)^(1/2)
                             + rho g H grad s . u_bar ]

with the first-order effective strain rate
e^2 = u_x^2 + v_y^2 + u_x v_y + (u_y + v_x)^2 / 4 + u_z^2 / 4 + v_z^2 / 4 + e0^2
(e0 = STRAIN_FLOOR a-1). Its minimiser solves the first-order momentum balance with a
stress-free surface: the viscous term is the dissipation potential whose derivative is
Glen's stress, the sliding term the friction potential, the last the work of gravity.

Discretisation (as IGM's energy, written anew here): the strain rates at the grid's cell
corners (2 x 2 averages of differences, so u_x at a corner is the mean of the two x
differences beside it) and at the middle of each layer; horizontal derivatives along the
levels corrected to constant elevation, d/dx|_z = d/dx|_zeta - (dz/dx|_zeta) d/dz, with
z = b + zeta H and b = s - H; the surface slope comes in as input fields (``slopsurfx``,
``slopsurfy`` at the cell centres), so a periodic domain can carry a mean slope, as
ISMIP-HOM's does. ``periodic`` wraps the corners around the grid; otherwise only the
interior corners count. The sliding term sits at the cell centres, on the bed-parallel basal
velocity u_b,par = (u_b, v_b, u_b . grad b) per unit bed area, as the Stokes and hybrid solvers
take it (grad b = grad s - grad H, H's gradient by centred differences), so steep beds resist
sliding as theirs do; the gravity term sits at the corners with the depth-averaged velocity
(trapezoid rule over the levels).

Margins: the velocity of a cell without ice (thk <= ``glacier.constants.ICE_FREE_THK``) is rest,
whatever the network or the minimiser puts there. The grid's velocity on rock is a fiction that
counts only through the corners it shares with ice; left free, with no friction under it and a
viscous term weighted by the thin corner ice, it let the minimiser slide the margin downhill
along the terrain's slope: on a relaxed 100 m massif glacier of the v002 data (ticino_88,
t = 15 a), margin cells moved at a median 29.6 m a-1 against Stokes' 2.7 and velbar fidelity
against Stokes was -3.13; at rest it is 0.47 (the hybrid's there: 0.45; docs/emulators.md).
"""

import numpy as np
from keras import ops

from glacier.constants import GLEN_N, ICE_FREE_THK, RHO_G, WEERTMAN_M
from glacier.errors import InputError
from glacier.fields import FLOW_FIELDS

STRAIN_FLOOR = 1e-5
"""Regularisation e0 (a-1) of the effective strain rate, as the Stokes solver's floor."""

SPEED_FLOOR = 1e-3
"""Regularisation (m a-1) of the sliding speed in the friction potential."""


def level_heights(levels: int, refine: float = 1.0) -> np.ndarray:
    """The ``levels`` relative heights zeta_k = (k / (levels - 1))^refine in [0, 1]; ``refine``
    > 1 packs them towards the bed, where the shear concentrates."""
    if levels < 2:
        raise ValueError(f"the energy needs at least 2 levels, got {levels}")
    return (np.arange(levels) / (levels - 1.0)) ** float(refine)


def depth_average(w, zeta):
    """The depth average of level values ``w`` (..., levels) by the trapezoid rule over the
    levels' relative heights ``zeta``: exact for velocities linear between levels."""
    weights = ops.convert_to_tensor(np.diff(np.asarray(zeta)) / 2.0, dtype=w.dtype)
    return ops.sum((w[..., 1:] + w[..., :-1]) * weights, axis=-1)


def _corners(a, periodic: bool):
    """Mean of the 4 cell centres around each corner: (b, y, x, ...) -> (b, y-1, x-1, ...)
    (periodic: (b, y, x, ...), corner (i, j) lying between centres i, i+1 and j, j+1)."""
    if periodic:
        a1 = ops.roll(a, -1, axis=1)
        return 0.25 * (a + ops.roll(a, -1, axis=2) + a1 + ops.roll(a1, -1, axis=2))
    return 0.25 * (a[:, :-1, :-1] + a[:, :-1, 1:] + a[:, 1:, :-1] + a[:, 1:, 1:])


def _corner_dx(a, dx: float, periodic: bool):
    """x and y differences of cell-centre values at the corners (units of a per m)."""
    if periodic:
        right, up = ops.roll(a, -1, axis=2), ops.roll(a, -1, axis=1)
        up_right = ops.roll(up, -1, axis=2)
        return (0.5 * (right - a + up_right - up) / dx, 0.5 * (up - a + up_right - right) / dx)
    a00, a01, a10, a11 = a[:, :-1, :-1], a[:, :-1, 1:], a[:, 1:, :-1], a[:, 1:, 1:]
    return 0.5 * (a01 - a00 + a11 - a10) / dx, 0.5 * (a10 - a00 + a11 - a01) / dx


def _centre_gradient(a, dx: float, periodic: bool):
    """x and y centred differences of cell-centre values at the cell centres (units of a per
    m); at the sides of a non-periodic grid the outer value is repeated (half the one-sided
    difference)."""
    if periodic:
        return ((ops.roll(a, -1, axis=2) - ops.roll(a, 1, axis=2)) / (2 * dx),
                (ops.roll(a, -1, axis=1) - ops.roll(a, 1, axis=1)) / (2 * dx))
    ax = ops.concatenate([a[:, :, :1], a, a[:, :, -1:]], axis=2)
    ay = ops.concatenate([a[:, :1], a, a[:, -1:]], axis=1)
    return (ax[:, :, 2:] - ax[:, :, :-2]) / (2 * dx), (ay[:, 2:] - ay[:, :-2]) / (2 * dx)


def energy(u, v, thk, slopsurfx, slopsurfy, arrhenius, slidingco, dx: float,
           zeta: np.ndarray, periodic: bool = False, sliding: bool = True,
           m: float = WEERTMAN_M):
    """The mean first-order energy per cell (MPa m a-1; see the module) of the velocities
    ``u``, ``v`` (batch, y, x, levels; m a-1) on the states given by the fields (batch, y, x):
    ``thk`` (m), the surface slopes (1), ``arrhenius`` (MPa-3 a-1), ``slidingco``
    (MPa a1/3 m-1/3); ``dx`` (m), ``zeta`` the levels' relative heights. ``sliding=False``
    drops the friction term: give basal velocities of zero for a frozen bed; ``m`` the
    friction exponent (3: Weertman, 1: linear, tau_b = c u_b). Velocities of cells without
    ice count as zero (see the module). One value per batch entry."""
    n = GLEN_N
    ice = ops.cast(thk > ICE_FREE_THK, u.dtype)
    u, v = u * ice[..., None], v * ice[..., None]
    dzeta = ops.convert_to_tensor(np.diff(zeta), dtype=u.dtype)
    mid = ops.convert_to_tensor(0.5 * (zeta[1:] + zeta[:-1]), dtype=u.dtype)
    h = _corners(thk, periodic)[..., None]
    hx, hy = _corner_dx(thk, dx, periodic)
    sx, sy = _corners(slopsurfx, periodic), _corners(slopsurfy, periodic)
    # dz/dx along a level at each layer's middle: b_x + zeta H_x with b = s - H
    zx = (sx - hx)[..., None] + mid * hx[..., None]
    zy = (sy - hy)[..., None] + mid * hy[..., None]

    def layer_gradients(w):
        wx, wy = _corner_dx(w, dx, periodic)
        wc = _corners(w, periodic)
        wz = (wc[..., 1:] - wc[..., :-1]) / ops.maximum(h * dzeta, 1e-3)
        def mean(a):
            return 0.5 * (a[..., 1:] + a[..., :-1])
        return mean(wx) - zx * wz, mean(wy) - zy * wz, wz

    ux, uy, uz = layer_gradients(u)
    vx, vy, vz = layer_gradients(v)
    strain2 = (ux * ux + vy * vy + ux * vy + 0.25 * (uy + vx) ** 2 + 0.25 * uz * uz
               + 0.25 * vz * vz + STRAIN_FLOOR**2)
    a_corner = _corners(arrhenius, periodic)[..., None]
    viscous = (2.0 * n / (n + 1.0)) * a_corner ** (-1.0 / n) * strain2 ** ((n + 1.0) / (2.0 * n))
    viscous = ops.sum(viscous * h * dzeta, axis=-1)

    ubar = _corners(depth_average(u, zeta), periodic)
    vbar = _corners(depth_average(v, zeta), periodic)
    gravity = RHO_G * h[..., 0] * (sx * ubar + sy * vbar)

    per_cell = _mean(viscous + gravity)
    if sliding:
        # Weertman friction on the bed-parallel sliding velocity (u_b, u_b . grad b) per unit
        # bed area, as the Stokes and hybrid solvers apply it; b = s - H
        thk_x, thk_y = _centre_gradient(thk, dx, periodic)
        bx, by = slopsurfx - thk_x, slopsurfy - thk_y
        ub, vb = u[..., 0], v[..., 0]
        area = ops.sqrt(1.0 + bx * bx + by * by)
        speed2 = ub * ub + vb * vb + (ub * bx + vb * by) ** 2 + SPEED_FLOOR**2
        friction = (m / (m + 1.0)) * slidingco * speed2 ** ((m + 1.0) / (2.0 * m)) * area * ice
        per_cell = per_cell + _mean(friction) * _cell_share(thk, periodic)
    return per_cell


def _mean(a):
    """Mean over the grid axes (1, 2) in the tensor's own precision (Keras' JAX ``mean``
    computes float64 tensors in float32)."""
    return ops.sum(a, axis=(1, 2)) / float(a.shape[1] * a.shape[2])


def _cell_share(thk, periodic: bool) -> float:
    """Cells per corner of the sums above: 1 when periodic, (ny nx) / ((ny-1)(nx-1)) else,
    so that the centre and corner terms are means over the same area."""
    if periodic:
        return 1.0
    ny, nx = thk.shape[1], thk.shape[2]
    return ny * nx / ((ny - 1.0) * (nx - 1.0))


def minimise_energy(thk, slopsurfx, slopsurfy, arrhenius, slidingco, dx: float, levels: int = 10,
                    refine: float = 1.0, periodic: bool = False, sliding: bool = True,
                    m: float = WEERTMAN_M, walls: bool = False, tol: float = 1e-12,
                    max_iterations: int = 20000) -> dict:
    """The first-order velocity of one state (fields (y, x) as numpy arrays, units of
    ``energy``) found by minimising the energy directly, with no network: L-BFGS (scipy) on
    the level velocities, gradients by automatic differentiation (TensorFlow or JAX, the Keras
    backend), from rest. A frozen bed (``sliding=False``) keeps the bed level at 0; ``walls``
    keeps the outermost cells at rest, as the Stokes solver's walls where ice reaches the
    window's sides. Returns
    ``u``, ``v`` (y, x, levels; m a-1), ``zeta``, ``energy`` (MPa m a-1), ``iterations`` and
    scipy's ``message``."""
    import keras
    from scipy.optimize import minimize

    names = FLOW_FIELDS
    arrays = (thk, slopsurfx, slopsurfy, arrhenius, slidingco)
    shapes = {name: np.shape(a) for name, a in zip(names, arrays)}
    if len(set(shapes.values())) != 1 or len(np.shape(thk)) != 2:
        raise InputError(f"the fields must be 2-D arrays of one shape, got {shapes}")
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)   # before any array of this solve exists
    zeta = level_heights(levels, refine)
    fields = [ops.convert_to_tensor(np.asarray(f, dtype="float64")[None]) for f in arrays]
    shape = (1, *np.shape(thk), levels)
    free = np.ones(shape[1:])
    if not sliding:
        free[..., 0] = 0.0
    if walls:
        free[[0, -1], :, :] = free[:, [0, -1], :] = 0.0
    free = ops.convert_to_tensor(free[None])

    def total(x):
        x = ops.reshape(x, (2, *shape))
        return ops.sum(energy(x[0] * free, x[1] * free, *fields, dx, zeta, periodic, sliding, m))

    value_and_grad = _value_and_grad(total, backend)

    def fun(x):
        value, grad = value_and_grad(x)
        return float(value), np.asarray(grad, dtype="float64")

    result = minimize(fun, np.zeros(2 * int(np.prod(shape))), jac=True, method="L-BFGS-B",
                      options={"ftol": tol, "gtol": tol, "maxiter": max_iterations,
                               "maxcor": 30})
    u, v = result.x.reshape(2, *shape[1:]) * np.asarray(free)[0]
    return {"u": u, "v": v, "zeta": zeta, "energy": float(result.fun),
            "iterations": int(result.nit), "message": str(result.message)}


def _value_and_grad(fn, backend: str):
    """``x -> (fn(x), dfn/dx)`` for a float64 numpy vector ``x``, by the backend's autodiff."""
    if backend == "jax":
        import jax
        compiled = jax.jit(jax.value_and_grad(fn))
        return lambda x: compiled(np.asarray(x, dtype="float64"))
    import tensorflow as tf

    @tf.function(jit_compile=False, reduce_retracing=True)
    def compiled(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)

    return lambda x: [t.numpy() for t in compiled(tf.constant(x, dtype=tf.float64))]
