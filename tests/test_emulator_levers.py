"""The training levers of the emulators (docs/emulators.md): the closed-form SIA channels, the
average over the grid's symmetries, the loss that is 1 - fidelity, the physical scales."""

import numpy as np
import pytest

from emulator.augment import transform
from emulator.config import TrainConfig
from glacier.errors import InputError
from glacier.fields import VELOCITY_FIELDS, surface_slopes
from glacier.metrics import fidelity_scores
from glacier.sia import sia_velocities

INPUTS = ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco"]
OUTPUTS = list(VELOCITY_FIELDS)


def _glacier(seed=0, ny=14, nx=11):
    """Inputs (1, ny, nx, 5) of a rough glacier without any grid symmetry, and its surface."""
    rng = np.random.default_rng(seed)
    thk = np.clip(rng.uniform(-100.0, 600.0, (ny, nx)), 0.0, None)
    usurf = 2500.0 + 40.0 * np.arange(nx)[None, :] + thk + rng.uniform(0, 50, (ny, nx))
    sx, sy = surface_slopes(usurf, 100.0)
    a, c = rng.uniform(20, 150, (ny, nx)), rng.uniform(0.01, 0.2, (ny, nx))
    return np.stack([thk, sx, sy, a, c], axis=-1)[None].astype("float32"), usurf


def test_sia_channels_are_the_closed_form_sia():
    """SiaVelocity decompressed equals glacier/sia.py's deformation and sliding velocities
    (float32 against float64: 1e-5 relative)."""
    from emulator.layers import SiaVelocity
    x, usurf = _glacier()
    thk, a, c = x[0, ..., 0].astype(float), x[0, ..., 3].astype(float), x[0, ..., 4].astype(float)
    ref = sia_velocities(thk, usurf, a, c, 100.0, sliding=True)
    q = np.asarray(SiaVelocity(INPUTS)(x))[0].astype(float)
    u = np.sign(q) * np.expm1(np.abs(q))            # reference_speed 1 m a-1
    expected = [ref["ubar"] - ref["uvelbase"], ref["vbar"] - ref["vvelbase"],
                ref["uvelbase"], ref["vvelbase"]]
    for i, e in enumerate(expected):
        np.testing.assert_allclose(u[..., i], e, rtol=1e-5, atol=1e-3)
    assert np.abs(expected[0]).max() > 1e3          # the compression has work to do
    with pytest.raises(ValueError, match="arrhenius"):
        SiaVelocity(["thk", "slopsurfx", "slopsurfy"])


@pytest.mark.parametrize("architecture, options", [("cnn", {"layers": 3, "filters": 8}),
                                                   ("unet", {"levels": 2, "filters": 4})])
def test_symmetrized_model_commutes_with_every_grid_symmetry(architecture, options):
    """Turning the input by any of the 8 symmetries turns the output the same way, to
    float32 round-off, where the bare model is off by O(1) of its output."""
    from emulator.zoo import build_model, symmetrized
    model = build_model(architecture, INPUTS, OUTPUTS, [300, 0.3, 0.3, 78, 0.05], [100] * 6,
                        options, sia_input=True)
    model_d4 = symmetrized(model, INPUTS, OUTPUTS)
    x, _ = _glacier(1)
    y, y_bare = np.asarray(model_d4(x)), np.asarray(model(x))
    scale = np.abs(y).max()
    assert scale > 0
    for k in range(8):
        turned = np.asarray(model_d4(transform(x, INPUTS, k)))
        assert np.abs(turned - transform(y, OUTPUTS, k)).max() <= 1e-5 * scale, k
    bare = np.asarray(model(transform(x, INPUTS, 3)))
    assert np.abs(bare - transform(y_bare, OUTPUTS, 3)).max() > 1e-3 * np.abs(y_bare).max()


def test_relative_l1_loss_is_one_minus_fidelity():
    """Per sample, the loss with only velbar weighted is 1 - fidelity of glacier/metrics.py
    with RELATIVE_FLOOR m a-1 per ice cell added to the reference; samples without ice do not
    count; a perfect prediction gives 0 up to the smoothing of the magnitude at 0."""
    from emulator.losses import RELATIVE_FLOOR, MaskedVelocityLoss
    rng = np.random.default_rng(2)
    truth = rng.normal(0.0, 50.0, (2, 9, 9, 6))
    pred = truth + rng.normal(0.0, 10.0, truth.shape)
    thk = rng.uniform(0.0, 300.0, (9, 9))
    mask = np.stack([thk > 100.0, np.zeros_like(thk, dtype=bool)])[..., None]
    y_true = np.concatenate([truth, mask], axis=-1).astype("float32")
    config = TrainConfig(field_weights={"uvelsurf": 0, "vvelsurf": 0, "uvelbase": 0,
                                        "vvelbase": 0})
    loss = MaskedVelocityLoss(config.weights(), "relative_l1", config.pairs())
    ice = thk > 100.0
    err = np.hypot(*(pred[0, ..., i] - truth[0, ..., i] for i in (0, 1)))[ice].sum()
    ref = np.hypot(truth[0, ..., 0], truth[0, ..., 1])[ice].sum() + RELATIVE_FLOOR * ice.sum()
    assert float(loss(y_true, pred.astype("float32"))) == pytest.approx(err / ref, rel=1e-5)
    as_fields = [{f: a[0, ..., i] for i, f in enumerate(OUTPUTS)} for a in (pred, truth)]
    fidelity = fidelity_scores(*as_fields, thk, threshold=100.0)["fidelity"]["velbar"]
    assert 1.0 - fidelity == pytest.approx(err / (ref - RELATIVE_FLOOR * ice.sum()), rel=1e-9)
    # a perfect prediction leaves the smoothing of |e| = sqrt(e^2 + 1e-6): 1e-3 m a-1 a cell
    assert float(loss(y_true, truth.astype("float32"))) <= 1.01e-3 * ice.sum() / ref


def test_pooled_l1_loss_weighs_samples_by_their_speed():
    """pooled_l1 adds the error and reference sums of the batch's samples before dividing, as
    the fidelity of a glacier pools its snapshots: a slow sample with the same relative error
    as a fast one barely moves it, while relative_l1 averages the two ratios."""
    from emulator.losses import RELATIVE_FLOOR, MaskedVelocityLoss
    shape = (2, 6, 6)
    truth = np.zeros((*shape, 6))
    truth[0, ..., 0], truth[1, ..., 0] = 200.0, 2.0   # a fast and a nearly still sample
    pred = truth.copy()
    pred[0, ..., 0] *= 1.1   # 10 % too fast
    pred[1, ..., 0] *= 3.0   # 200 % too fast
    y_true = np.concatenate([truth, np.ones((*shape, 1))], axis=-1).astype("float32")
    config = TrainConfig(field_weights={"uvelsurf": 0, "vvelsurf": 0, "uvelbase": 0,
                                        "vvelbase": 0})
    cells = 36
    err = np.array([20.0, 4.0]) * cells
    ref = (np.array([200.0, 2.0]) + RELATIVE_FLOOR) * cells
    pooled = MaskedVelocityLoss(config.weights(), "pooled_l1", config.pairs())
    per_sample = MaskedVelocityLoss(config.weights(), "relative_l1", config.pairs())
    got = float(pooled(y_true, pred.astype("float32")))
    assert got == pytest.approx(err.sum() / ref.sum(), rel=1e-4)
    assert float(per_sample(y_true, pred.astype("float32"))) == pytest.approx(
        np.mean(err / ref), rel=1e-4)
    assert got < 0.15 < np.mean(err / ref)


def test_pairs_and_scales():
    from emulator.data import PHYSICAL_SCALES, field_scales
    assert TrainConfig().pairs() == [[0, 1], [2, 3], [4, 5]]
    assert TrainConfig(outputs=["vbar", "ubar", "uvelsurf"]).pairs() == [[1, 0], [2]]
    data = type("Store", (), {"attrs": {"normalisation": {"thk": {"mean": 3.0, "std": 4.0}}}})()
    assert field_scales(data, ["thk"]) == [5.0]
    assert field_scales(data, ["thk", "ubar"], scaling="physical") == [
        PHYSICAL_SCALES["thk"], PHYSICAL_SCALES["ubar"]]
    assert field_scales(data, ["thk"], {"thk": 7.0}, scaling="physical") == [7.0]


def test_config_names_what_a_lever_lacks():
    with pytest.raises(InputError, match="sia_input needs the input.*arrhenius"):
        TrainConfig(inputs=["thk", "slopsurfx", "slopsurfy"], sia_input=True)
    with pytest.raises(InputError, match="scaling must be"):
        TrainConfig(scaling="rms")
    with pytest.raises(InputError, match="relative_l1"):
        TrainConfig(loss="huber")


def test_coupled_sia_channels_average_the_driving_stress_over_the_ice():
    """CoupledSiaVelocity: with a coupling length far below a cell it gives SiaVelocity's
    channels (float32: 1e-5 relative); on a uniform slab (constant H, slope, A, c) it gives the
    same away from the margin and, as the ice-free cells do not count, at the margin too; it is
    zero off the ice and turns with the grid (any of the 8 symmetries, to float32 round-off)."""
    from emulator.layers import CoupledSiaVelocity, SiaVelocity, gaussian_taps
    x, _ = _glacier(3)
    local = np.asarray(SiaVelocity(INPUTS)(x))
    sharp = np.asarray(CoupledSiaVelocity(INPUTS, [0.05])(x))
    np.testing.assert_allclose(sharp, local, rtol=1e-5, atol=1e-5)
    assert np.isclose(sum(gaussian_taps(2.5)), 1.0) and len(gaussian_taps(2.5)) == 17

    slab = np.zeros((1, 20, 24, 5), dtype="float32")
    slab[0, 4:16, 3:21] = [400.0, -0.05, 0.02, 78.0, 0.1]
    wide = np.asarray(CoupledSiaVelocity(INPUTS, [3.0, 1.5])(slab))
    flat = np.asarray(SiaVelocity(INPUTS)(slab))
    np.testing.assert_allclose(wide[..., :4], flat, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(wide[..., 4:], flat, rtol=1e-4, atol=1e-5)
    assert np.all(wide[0, :4] == 0) and np.abs(flat).max() > 4  # 85 m a-1 of deformation

    layer = CoupledSiaVelocity(INPUTS, [2.0])
    names = ["ubar", "vbar", "uvelbase", "vvelbase"]  # two vectors, as the layer gives them
    y = np.asarray(layer(x))
    for k in range(8):
        turned = np.asarray(layer(transform(x, INPUTS, k)))
        # the filter sums signed float32 terms in another order when turned: where they
        # nearly cancel, 1e-4 of the compressed value (1e-4 relative in speed)
        np.testing.assert_allclose(turned, transform(y, names, k), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="coupling lengths"):
        CoupledSiaVelocity(INPUTS, [0.0])
    with pytest.raises(InputError, match="sia_coupling lengths"):
        TrainConfig(sia_coupling=[-100.0])


def test_log_outputs_expand_what_the_network_compresses(tmp_path):
    """``log_outputs``: the output layer is the exact inverse of z = asinh(u / 1 m a-1) over
    the speeds of glaciers (1e-3 to 1e4 m a-1, float32: 1e-5 relative), its cap bounds what
    an untrained network can return, and the model round-trips through save and load."""
    import keras
    from emulator.layers import COMPRESSED_MAX, COMPRESSED_SPEED, FieldScaling
    from emulator.zoo import build_model, load_model
    u = np.array([-1e4, -30.0, -1e-3, 0.0, 2e-3, 0.7, 450.0, 9e3], dtype="float32")
    z = np.arcsinh(u / COMPRESSED_SPEED)
    expand = FieldScaling(["ubar"], [COMPRESSED_SPEED], inverse=True, compressed=True)
    np.testing.assert_allclose(np.asarray(expand(z[:, None]))[:, 0], u, rtol=1e-5, atol=1e-9)
    assert np.asarray(expand(np.array([[50.0]], "float32"))).item() == pytest.approx(
        np.sinh(COMPRESSED_MAX), rel=1e-5)
    with pytest.raises(ValueError, match="inverse"):
        FieldScaling(["thk"], [300.0], compressed=True)
    model = build_model("unet", INPUTS, OUTPUTS, [300, 0.3, 0.3, 78, 0.05],
                        [COMPRESSED_SPEED] * 6, {"levels": 2, "filters": 4}, sia_input=True,
                        log_outputs=True)
    assert model.get_layer("velocities").compressed
    x, _ = _glacier(2)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras", compile=False)
    assert isinstance(again, keras.Model) and again.get_layer("velocities").compressed
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), rtol=1e-6)
