"""The emulator's fast path for time loops (emulator/step.py): the same velocities as its
``velocity()`` call, and the same run in the evolution driver."""

import numpy as np
import pytest

pytest.importorskip("keras")

import keras  # noqa: E402

from emulator.model import EmulatorFlowModel, load_flow_model  # noqa: E402
from emulator.step import gradient  # noqa: E402
from emulator.zoo import build_model, symmetrized  # noqa: E402
from glacier.errors import InputError  # noqa: E402
from glacier.evolve import EvolveSettings, evolve  # noqa: E402
from glacier.fields import VELOCITY_FIELDS, complete_state  # noqa: E402
from glacier.flow import PreparedFlowModel  # noqa: E402
from glacier.geometry import synthetic_valley  # noqa: E402
from glacier.smb import ElaSmb  # noqa: E402
from glacier.validation import MAX_THICKNESS, check_thickness  # noqa: E402

# every kind of channel: moving (thk, usurf, slopes), fixed fields, the grid spacing
INPUTS = ["thk", "usurf", "slopsurfx", "slopsurfy", "arrhenius", "slidingco", "dx"]
SCALES = [300.0, 3000.0, 0.3, 0.3, 78.0, 0.05, 100.0]


def _emulator(symmetric: bool = False) -> EmulatorFlowModel:
    """An untrained (seeded) CNN with SIA channels, as an EmulatorFlowModel at 100 m."""
    keras.utils.set_random_seed(3)
    model = build_model("cnn", INPUTS, list(VELOCITY_FIELDS), SCALES, [100.0] * 6,
                        {"layers": 3, "filters": 8}, sia_input=True)
    if symmetric:
        model = symmetrized(model, INPUTS, list(VELOCITY_FIELDS))
    manifest = {"inputs": [{"name": f} for f in INPUTS],
                "outputs": [{"name": f} for f in VELOCITY_FIELDS],
                "instructor": {"name": "test"}, "ice_threshold_m": 1.0, "out_of_range": "error",
                "valid": {"dx_m": [100.0], "dx_tolerance": 0.01, "arrhenius": [20.0, 150.0],
                          "slidingco": [0.01, 1.0]}}
    return EmulatorFlowModel(model, manifest, "test emulator")


@pytest.fixture(scope="module")
def valley():
    """A glacier on a synthetic valley at 100 m: thin margins, ice-free cells, a steep bed."""
    state = complete_state(synthetic_valley(2, nx=24, ny=20, resolution=100.0),
                           arrhenius=78.0, slidingco=0.05)
    thk = np.clip(200.0 - 0.02 * ((state.x - state.x.mean()) ** 2).values[None, :]
                  / 100.0, 0.0, None) * np.ones(state.thk.shape)
    state["thk"] = (("y", "x"), thk)
    state["usurf"] = state.topg + state.thk
    return state


def test_gradient_is_numpys():
    """Centred inside, one-sided at the edges: numpy.gradient's rule, to float32 rounding."""
    a = np.random.default_rng(0).normal(size=(7, 9)).astype(np.float32)
    gx, gy = gradient(keras.ops.convert_to_tensor(a[None]), 50.0)
    ny, nx = np.gradient(a.astype(float), 50.0)
    np.testing.assert_allclose(np.asarray(gx)[0], nx, atol=1e-7)
    np.testing.assert_allclose(np.asarray(gy)[0], ny, atol=1e-7)


@pytest.mark.parametrize("symmetric", [False, True])
def test_fast_path_gives_the_velocity_call(valley, symmetric):
    emulator = _emulator(symmetric)
    assert isinstance(emulator, PreparedFlowModel)
    step = emulator.prepare(valley)
    slow = emulator.velocity(valley)
    fast = step(valley.thk.values)
    top = max(float(np.abs(slow[f]).max()) for f in VELOCITY_FIELDS)
    assert top > 0
    for f in VELOCITY_FIELDS:
        # float32 network either way; the slopes differ by the rounding of the surface
        # elevation (float32 of ~2000 m: 1e-4 m over 200 m) in the velocity() call
        np.testing.assert_allclose(fast[f], slow[f].values, atol=1e-4 * top, err_msg=f)
        assert np.all(fast[f][valley.thk.values <= 1.0] == 0.0)


def test_fast_path_checks_the_state_once_and_the_shape_always(valley):
    emulator = _emulator()
    with pytest.raises(InputError, match="arrhenius"):
        emulator.prepare(valley.assign(arrhenius=valley.arrhenius * 0 + 500.0))
    step = emulator.prepare(valley)
    with pytest.raises(ValueError, match="built for grids of"):
        step(valley.thk.values[:-1])


class _Plain:
    """The same emulator without its fast path: the driver then calls velocity()."""

    def __init__(self, emulator):
        self.name, self.velocity = emulator.name, emulator.velocity


def test_evolve_takes_the_fast_path_with_the_same_result(valley, monkeypatch):
    """The companion library's hybrid emulator (trained, so the glacier stays physical; an
    untrained network piles ice up and amplifies any difference) drives the same run through
    the fast path as through velocity(): the float32 network gives the same velocities to
    ~1e-7 of their size, so the thickness agrees to a millimetre after 5 years."""
    emulator = load_flow_model(instructor="hybrid")
    settings = EvolveSettings(years=5.0, output_interval=2.5)
    smb = ElaSmb(ela=2900.0)
    slow = evolve(valley, _Plain(emulator), smb, settings, show_progress=False)
    calls = []
    monkeypatch.setattr(emulator, "velocity", lambda *a, **k: calls.append(1))
    fast = evolve(valley, emulator, smb, settings, show_progress=False)
    assert not calls  # the driver never built a Dataset for the emulator
    assert np.all(slow.time.values == fast.time.values)
    assert float(fast.thk.max()) > 200.0
    np.testing.assert_allclose(fast.thk.values, slow.thk.values, atol=1e-3)
    for f in VELOCITY_FIELDS:
        np.testing.assert_allclose(fast[f].values, slow[f].values, atol=1e-3, err_msg=f)


def test_thickness_check_of_the_fast_path(valley):
    check_thickness(valley, valley.thk.values)
    thick = valley.thk.values.copy()
    thick[3, 4] = MAX_THICKNESS + 1.0
    with pytest.raises(InputError, match=r"field 'thk': thicker than 5000.*j=3, i=4"):
        check_thickness(valley, thick)
