"""Upwind transport: conservation to round-off, CFL step, SMB source, ELA balance."""

import numpy as np
import pytest

from glacier.errors import InputError
from glacier.smb import ElaSmb, value_at
from glacier.transport import cfl_time_step, flux_divergence, step_thickness


def test_mass_conserved_to_round_off_with_zero_smb():
    rng = np.random.default_rng(1)
    thk = rng.uniform(0, 300, (20, 30))
    thk[:, :3] = 0.0
    u = rng.normal(0, 50, thk.shape)
    v = rng.normal(0, 50, thk.shape)
    dx = 100.0
    vol0 = thk.sum()
    for _ in range(200):
        dt = cfl_time_step(u, v, dx, cfl=0.2, dt_max=1.0)
        thk, clipped = step_thickness(thk, u, v, np.zeros_like(thk), dx, dt)
        assert clipped == 0.0
    assert abs(thk.sum() - vol0) / vol0 < 1e-13


def test_divergence_sums_to_zero_and_uniform_flow_is_upwinded():
    thk = np.zeros((5, 6))
    thk[2, 2] = 10.0
    u = np.full_like(thk, 4.0)
    div = flux_divergence(thk, u, np.zeros_like(thk), dx=2.0)
    assert div.sum() == 0.0
    assert div[2, 2] == pytest.approx(20.0) and div[2, 3] == pytest.approx(-20.0)


def test_cfl_step():
    u = np.full((4, 4), 50.0)
    assert cfl_time_step(u, 0 * u, 100.0, cfl=0.3, dt_max=10.0) == pytest.approx(0.6)
    assert cfl_time_step(0 * u, 0 * u, 100.0, cfl=0.3, dt_max=2.0) == 2.0


def test_smb_source_and_clipping():
    thk = np.array([[0.0, 1.0, 5.0]])
    smb = np.array([[-2.0, -2.0, 1.0]])
    zero = np.zeros_like(thk)
    new, clipped = step_thickness(thk, zero, zero, smb, dx=10.0, dt=1.0)
    np.testing.assert_allclose(new, [[0.0, 0.0, 6.0]])
    assert clipped == pytest.approx(3.0 * 100.0)


def test_ela_balance():
    smb = ElaSmb(ela=3000.0, grad_abl=0.01, grad_acc=0.005, max_acc=2.0)
    s = np.array([2500.0, 3000.0, 3200.0, 4000.0])
    np.testing.assert_allclose(smb(s, 0.0), [-5.0, 0.0, 1.0, 2.0])
    mask = np.array([1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(smb(s, 0.0, mask), [-5.0, 0.0, -10.0, -10.0])


def test_time_dependent_ela():
    smb = ElaSmb(ela=[(0.0, 3000.0), (100.0, 2800.0)])
    assert value_at(smb.ela, 50.0) == pytest.approx(2900.0)
    assert value_at(smb.ela, 500.0) == pytest.approx(2800.0)
    np.testing.assert_allclose(smb(np.array([2900.0]), 50.0), [0.0])


def test_bad_smb_parameters():
    with pytest.raises(InputError, match="grad_abl"):
        ElaSmb(grad_abl=-1.0)
    with pytest.raises(InputError, match="increasing times"):
        ElaSmb(ela=[(10.0, 3000.0), (0.0, 2900.0)])


def test_diffusive_step_is_the_sia_limit():
    """For pure SIA flow, D = H |u_bar| / |grad s| is the SIA diffusivity; dt = dx^2 / (8 D)."""
    from glacier.transport import diffusive_time_step
    thk = np.full((5, 5), 100.0)
    usurf = 0.1 * 100.0 * np.arange(5)[None, :] + 0 * thk  # slope 0.1 along x, dx = 100 m
    u = np.full_like(thk, 20.0)
    zero = np.zeros_like(thk)
    d = 100.0 * 20.0 / 0.1
    assert diffusive_time_step(thk, u, zero, zero, zero, usurf, 100.0) == pytest.approx(0.125 * 1e4 / d)
    assert diffusive_time_step(thk, u, zero, u, zero, usurf, 100.0) == np.inf  # pure sliding
