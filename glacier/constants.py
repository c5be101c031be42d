"""Physical constants in the project's units (m, a, MPa)."""

RHO_ICE = 910.0
"""Ice density (kg m^-3)."""

GRAVITY = 9.81
"""Gravitational acceleration (m s^-2)."""

RHO_G = RHO_ICE * GRAVITY * 1e-6
"""rho * g in MPa m^-1 (8.927e-3): multiply by a thickness in m to get a pressure in MPa."""

GLEN_N = 3.0
"""Glen's flow-law exponent."""

WEERTMAN_M = 3.0
"""Weertman sliding exponent m in tau_b = c |u_b|^(1/m - 1) u_b."""

SECONDS_PER_YEAR = 31556926.0
"""Seconds in a year (a), as in IGM and ISMIP-HOM."""

ARRHENIUS_TEMPERATE = 78.0
"""Rate factor A of temperate ice (MPa^-3 a^-1)."""

SLIDINGCO_DEFAULT = 0.05
"""Default Weertman coefficient c (MPa a^(1/3) m^(-1/3))."""

ICE_FREE_THK = 1.0
"""Thickness (m) below which a cell counts as ice-free for scores and masks."""


def pa3s_to_mpa3a(a_pa3_s: float) -> float:
    """Convert a rate factor from Pa^-3 s^-1 to MPa^-3 a^-1."""
    return a_pa3_s * 1e18 * SECONDS_PER_YEAR


def pa3a_to_mpa3a(a_pa3_a: float) -> float:
    """Convert a rate factor from Pa^-3 a^-1 to MPa^-3 a^-1 (ISMIP-HOM's 1e-16 -> 100)."""
    return a_pa3_a * 1e18
