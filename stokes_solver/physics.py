"""Full-Stokes ice flow as an action functional (icepack style), in m, a and MPa.

The velocity u (m a-1) and pressure p (MPa) make the action stationary:

    L(u, p) = int_Omega [ Psi(eps(u)) - p div u - f . u ] dx
              + int_bed [ Psi_b(u_t) + kappa/2 (u . n)^2 ] ds

* Glen's law, n = 3, rate factor A (MPa^-3 a^-1): the viscous dissipation density is
  Psi = 2n/(n+1) A^(-1/n) (eps_e^2 + eps_min^2)^((n+1)/(2n)) (MPa a-1), with the effective
  strain rate eps_e^2 = eps:eps / 2 (a^-2). Its derivative is the deviatoric stress
  tau = 2 eta eps, eta = A^(-1/n) (eps_e^2 + eps_min^2)^((1-n)/(2n)) / 2 (MPa a).
* Weertman friction tau_b = c |u_t|^(1/m - 1) u_t on the tangential basal velocity u_t
  (c in MPa a^(1/m) m^(-1/m); m = 3, or m = 1 for linear friction beta^2 = c): the potential is
  Psi_b = m/(m+1) c (|u_t|^2 + u_min^2)^((m+1)/(2m)) (MPa m a-1).
* Impenetrability u . n = 0 on a sliding bed of any slope: a penalty kappa/2 (u . n)^2. The
  normal n is the facet normal of the mesh by default, or a given continuous field (the model
  passes the bed normal of the grid's centred slopes). A continuous normal matters on rough
  terrain: the facets of a piecewise-bilinear bed meet at kinks, a continuous velocity cannot
  be tangent to the four facets around a bed vertex at once, and the penalty then locks the
  sliding (median basal speed 0.1 m a-1 instead of tens on a grown 200 m Aletsch window).
  The normal traction balances kappa u . n, so the leak through the bed is
  |u . n| = |sigma_nn| / kappa, about rho g H / kappa = 9e-4 m a-1 under 1000 m of ice with
  kappa = NORMAL_PENALTY: four orders below the flow speeds.
* f = rho g (body force, MPa m-1); the upper surface is stress free (natural condition).
"""

from dataclasses import dataclass

import math

import firedrake as fd
from ufl.domain import extract_unique_domain

from glacier.constants import GLEN_N, RHO_G

STRAIN_RATE_MIN = 1e-5
"""Regularisation eps_min of the effective strain rate (a^-1): bounds the viscosity by
about 230 MPa a at A = 100 where the ice does not deform."""

SLIDING_SPEED_MIN = 1e-3
"""Regularisation u_min of the sliding speed (m a-1) in the Weertman law."""

NORMAL_PENALTY = 1e4
"""kappa (MPa a m-1): penalty on the normal velocity at a sliding bed."""


@dataclass(frozen=True)
class Friction:
    """Weertman friction tau_b = c |u_t|^(1/m-1) u_t; c a UFL expression (MPa a^(1/m) m^(-1/m))."""

    coefficient: object
    exponent: float = 3.0


def strain_rate(u):
    """Strain-rate tensor eps(u) = sym grad u (a^-1)."""
    return fd.sym(fd.grad(u))


def effective_strain_rate_sq(u, eps_min=STRAIN_RATE_MIN):
    """eps_e^2 + eps_min^2 (a^-2), with eps_e^2 = eps:eps / 2."""
    eps = strain_rate(u)
    return 0.5 * fd.inner(eps, eps) + eps_min**2


def viscosity(u, arrhenius, n=GLEN_N, eps_min=STRAIN_RATE_MIN):
    """Glen viscosity eta = A^(-1/n) (eps_e^2 + eps_min^2)^((1-n)/(2n)) / 2 (MPa a)."""
    return 0.5 * arrhenius ** (-1.0 / n) * effective_strain_rate_sq(u, eps_min) ** ((1.0 - n) / (2 * n))


def viscous_dissipation(u, arrhenius, n=GLEN_N, eps_min=STRAIN_RATE_MIN):
    """Psi(eps(u)) = 2n/(n+1) A^(-1/n) (eps_e^2 + eps_min^2)^((n+1)/(2n)) (MPa a-1)."""
    return (2.0 * n / (n + 1)) * arrhenius ** (-1.0 / n) * \
        effective_strain_rate_sq(u, eps_min) ** ((n + 1.0) / (2 * n))


def friction_dissipation(u_t, friction: Friction, u_min=SLIDING_SPEED_MIN):
    """Psi_b(u_t) = m/(m+1) c (|u_t|^2 + u_min^2)^((m+1)/(2m)) (MPa m a-1)."""
    m = friction.exponent
    return (m / (m + 1.0)) * friction.coefficient * \
        (fd.inner(u_t, u_t) + u_min**2) ** ((m + 1.0) / (2 * m))


def tangential(u, normal):
    """Tangential part u - (u.n) n of a vector on a surface of unit normal n."""
    return u - fd.inner(u, normal) * normal


def action(u, p, arrhenius, body_force, *, dx, ds_bed=None, friction: Friction | None = None,
           n=GLEN_N, eps_min=STRAIN_RATE_MIN, normal_penalty=NORMAL_PENALTY,
           viscous=None, basal=None, bed_normal=None):
    """The Stokes action L(u, p) (MPa m^3 a-1 in 3-D, MPa m^2 a-1 on a flowline).

    ``viscous`` replaces the Glen dissipation and ``basal`` the friction potential (a
    function of the tangential basal velocity u_t; e.g. the linearised ones of a Picard step);
    ``friction`` (with ``ds_bed``) adds sliding and the impenetrability penalty on the normal
    ``bed_normal`` (a unit vector expression; default the facet normal). Stationary
    points give the weak Stokes equations.
    """
    psi = viscous if viscous is not None else viscous_dissipation(u, arrhenius, n, eps_min)
    total = (psi - p * fd.div(u) - fd.inner(body_force, u)) * dx
    if friction is not None:
        normal = fd.FacetNormal(extract_unique_domain(u)) if bed_normal is None else bed_normal
        u_t = tangential(u, normal)
        psi_b = basal(u_t) if basal is not None else friction_dissipation(u_t, friction)
        total += (psi_b + 0.5 * normal_penalty * fd.inner(u, normal) ** 2) * ds_bed
    return total


def linear_dissipation(u, viscosity_ref):
    """Newtonian dissipation 2 eta0 eps:eps / 2 of a fixed viscosity (MPa a-1): the Picard start."""
    eps = strain_rate(u)
    return viscosity_ref * fd.inner(eps, eps)


def body_force(dim: int, slope_x: float = 0.0, slope_y: float = 0.0, rho_g: float = RHO_G):
    """rho g (MPa m-1) in a frame tilted by the angles ``slope_x`` (and ``slope_y``, radians): a
    flat domain in that frame is an inclined slab; zero angles give plain gravity -rho g e_z."""
    if dim == 2:
        return fd.as_vector([rho_g * math.sin(slope_x), -rho_g * math.cos(slope_x)])
    return fd.as_vector([rho_g * math.sin(slope_x), rho_g * math.sin(slope_y),
                         -rho_g * math.cos(slope_x) * math.cos(slope_y)])
