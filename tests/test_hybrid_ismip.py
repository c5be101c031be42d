"""ISMIP-HOM with the hybrid model: the limits it must reproduce exactly (Pattyn et al. 2008
geometry, A = 100 MPa^-3 a^-1, H = 1000 m)."""

import numpy as np
import pytest

from glacier import ismip_hom as geo
from glacier.constants import RHO_G
from sia_ssa_solver.ismip_hom import run_case


def sia_surface_speed(exp: str, thickness: float) -> float:
    """Closed-form SIA surface speed (m a-1) under the ISMIP surface slope."""
    tau = RHO_G * np.tan(geo.slope_angle(exp))
    return 2 * geo.ARRHENIUS / 4 * tau**3 * thickness**4


def test_frozen_bed_tends_to_the_sia_as_the_length_grows():
    """A (no sliding): at L = 160 km (aspect ratio 1/160) the hybrid is the SIA to within the
    sampling of the 1500 m peak; at L = 5 km the membrane stresses spread the driving stress
    over the bumps and the speed is far below the SIA's and near the full-Stokes ensemble's."""
    small, large = run_case("A", 5, nx=20), run_case("A", 160, nx=40)
    # cell centres and the staggered (four-cell) averages sample the 1500 m peak at dx = L/40:
    # an O(dx^2) deficit of 2.4 %
    assert large["max_surface_speed"] == pytest.approx(sia_surface_speed("A", 1500.0), rel=0.05)
    assert small["max_surface_speed"] < 0.5 * sia_surface_speed("A", 1500.0)
    # FS ensemble at 5 km: max 14.2-14.8 m/a (Pattyn et al. 2008)
    assert 10.0 < small["max_surface_speed"] < 20.0


@pytest.mark.parametrize("exp", ["C", "D"])
def test_short_wavelength_sliding_averages_the_friction(exp):
    """At L = 5 km the membrane stresses make the sliding uniform: u_b = tau_d / mean(beta^2)
    with mean(beta^2) = 1e-3 MPa a m-1, plus the SIA deformation at the surface."""
    r = run_case(exp, 5, nx=20)
    expected = RHO_G * 1000.0 * np.tan(geo.slope_angle(exp)) / 1e-3 + \
        sia_surface_speed(exp, 1000.0)
    assert r["newton_iterations"] > 0 and r["dofs"] > 0
    assert r["max_surface_speed"] == pytest.approx(expected, rel=0.01)
    assert r["min_surface_speed"] == pytest.approx(expected, rel=0.01)


def test_long_wavelength_sliding_follows_the_local_friction():
    """At L = 160 km friction balances the driving stress nearly locally: the speed swings
    towards tau_d / min(beta^2) and tau_d / max(beta^2), far from uniform."""
    r = run_case("C", 160, nx=20)
    tau = RHO_G * 1000.0 * np.tan(geo.slope_angle("C"))
    assert r["max_surface_speed"] > 5 * r["min_surface_speed"]
    assert r["min_surface_speed"] > 0.9 * tau / 2e-3
