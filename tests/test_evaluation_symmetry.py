"""The symmetric-dome check (evaluation/symmetry.py): an exactly symmetric flow model scores 0
asymmetry and 100 % outward flow; a model with a preferred direction does not."""

import numpy as np

from evaluation.symmetry import dome_check, dome_state, symmetry_scores
from glacier.flow import get_flow_model


def test_the_dome_is_symmetric_and_the_sia_flows_outward():
    state = dome_state()
    thk = state.thk.values
    assert thk.shape == (64, 64) and np.isclose(thk.max(), 300.0, rtol=1e-3)
    for turned in (thk.T, thk[::-1], thk[:, ::-1]):
        np.testing.assert_array_equal(turned, thk)
    result = dome_check(get_flow_model("sia", sliding=True))
    assert result["asymmetry"] < 1e-12 and result["outward"] == 1.0
    assert result["moving_cells"] > 1500


def test_a_drift_is_caught():
    """The SIA plus a uniform drift of 5 % of its largest speed along x: the drift breaks the
    symmetry by about its share of the flow, and ice near the summit, slower than the drift,
    flows back towards it on the upstream side."""
    state = dome_state()
    vel = get_flow_model("sia").velocity(state)
    drift = 0.05 * float(np.hypot(vel.ubar, vel.vbar).max())
    ice = state.thk > 1.0
    drifted = vel.assign(ubar=vel.ubar + drift * ice)
    result = symmetry_scores(drifted, state)
    assert result["asymmetry"] > 0.05
    assert result["outward"] < 0.99
