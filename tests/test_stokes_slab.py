"""Inclined slab against the exact solution (stokes_solver.slab derives it).

u(z) is a quartic in z (n + 1 = 4) that Q2 cannot hold exactly; the surface speed converges at
the rate measured here: errors 1.6e-3, 1.0e-4, 6.2e-6 with 2, 4, 8 layers (no slip), i.e.
O(dz^4), a superconvergence of the nodal values of the vertical profile. The hydrostatic
pressure is linear in z, so Q1 holds it to round-off.
"""

import numpy as np
import pytest

pytest.importorskip("firedrake")

from stokes_solver.slab import exact_surface_speed, solve_slab  # noqa: E402
from glacier.constants import RHO_G  # noqa: E402


@pytest.mark.parametrize("beta2", [None, 2e-3], ids=["no_slip", "linear_sliding"])
def test_slab_surface_speed_and_hydrostatic_pressure(beta2):
    r = solve_slab(layers=4, beta2=beta2)
    assert r["report"]["converged"]
    assert r["relative_error"] < 5e-3
    assert r["pressure_relative_error"] < 1e-2
    if beta2 is None:
        assert r["basal_speed"] == 0.0
    else:
        tau_b = RHO_G * 500.0 * np.sin(np.deg2rad(3.0))
        assert r["basal_speed"] == pytest.approx(tau_b / beta2, rel=1e-4)


def test_exact_solution_formula():
    # 2A/(n+1) (rho g sin a)^n H^(n+1) by hand for A = 100, H = 500, a = 3 deg
    expected = 0.5 * 100 * (8.92710e-3 * 0.0523360) ** 3 * 500.0 ** 4
    assert exact_surface_speed(100.0, 500.0, np.deg2rad(3.0)) == pytest.approx(expected, rel=1e-4)


def test_slab_mesh_convergence_rate():
    errors = [solve_slab(layers=n)["relative_error"] for n in (2, 4, 8)]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[0] > errors[1] > errors[2]
    assert np.all(rates > 3.5), rates
