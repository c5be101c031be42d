"""ISMIP-HOM benchmark geometries (Pattyn et al. 2008, The Cryosphere 2, 95-108), in the
project's units (m, a, MPa).

Experiments A and C are 3-D and doubly periodic on [0, L]^2; B and D are flowline (x-z)
versions. A, B: no slip on a bumpy bed under a surface inclined by 0.5 degree. C, D: a flat
bed 1000 m below a surface inclined by 0.1 degree, with linear sliding of variable beta^2.
Results are reported along y = L/4 (A, C) or along the flowline (B, D).
"""

import numpy as np

from glacier.constants import pa3a_to_mpa3a

EXPERIMENTS = ("A", "B", "C", "D")
LENGTHS_KM = (5, 10, 20, 40, 80, 160)
ARRHENIUS = pa3a_to_mpa3a(1e-16)
"""A = 1e-16 Pa^-3 a^-1 = 100 MPa^-3 a^-1."""
THICKNESS = 1000.0
"""Mean ice thickness (m)."""


def slope_angle(exp: str) -> float:
    """Surface inclination alpha (radians): 0.5 deg for A/B, 0.1 deg for C/D."""
    return np.deg2rad(0.5 if exp in ("A", "B") else 0.1)


def is_flowline(exp: str) -> bool:
    """B and D are 2-D flowline experiments."""
    return exp in ("B", "D")


def surface(exp: str, x, y=0.0):
    """Surface elevation s = -x tan(alpha) (m)."""
    return -np.asarray(x) * np.tan(slope_angle(exp)) + 0.0 * np.asarray(y)


def bed(exp: str, x, y, length: float):
    """Bed elevation (m): bumps of 500 m amplitude under A (sin wx sin wy) and B (sin wx)."""
    w = 2 * np.pi / length
    s = surface(exp, x, y)
    if exp == "A":
        return s - THICKNESS + 500.0 * np.sin(w * np.asarray(x)) * np.sin(w * np.asarray(y))
    if exp == "B":
        return s - THICKNESS + 500.0 * np.sin(w * np.asarray(x)) + 0.0 * np.asarray(y)
    return s - THICKNESS


def beta2(exp: str, x, y, length: float, sin=np.sin):
    """Linear friction coefficient beta^2 of C and D in MPa a m-1 (tau_b = beta^2 u_b);
    Pattyn's 1000 + 1000 sin(wx) sin(wy) Pa a m-1 times 1e-6. ``x``, ``y`` (m) are arrays (the
    result has their broadcast shape), or UFL expressions with ``sin=ufl.sin`` (the exact field
    at every quadrature point)."""
    w = 2 * np.pi / length
    if exp == "C":
        return 1e-3 * (1.0 + sin(w * x) * sin(w * y))
    if exp == "D":
        return 1e-3 * (1.0 + sin(w * x)) + 0.0 * y
    raise ValueError(f"experiment {exp} has no sliding")


def profile_y(length: float) -> float:
    """The y of the reported profile (m): L/4."""
    return 0.25 * length
