"""Emulator building blocks: symmetry augmentation, masked loss, model shapes, metrics, loader."""

import numpy as np
import pytest

from emulator.augment import allowed_transforms, transform
from emulator.metrics import fidelity
from glacier.fields import VELOCITY_FIELDS, surface_slopes
from glacier.sia import sia_velocities

INPUTS = ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco"]
OUTPUTS = list(VELOCITY_FIELDS)


def _asymmetric_glacier(ny=20, nx=20, dx=100.0):
    """An ice cap without any grid symmetry on a sloping bed, with varying A and c."""
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    thk = np.clip(220.0 - 2.0 * ((x - 8.3) ** 2 + 1.7 * (y - 11.1) ** 2) - 3.0 * x * y / nx, 0, None)
    topg = 2000.0 + 12.0 * x - 7.0 * y + 0.4 * x * y
    arrhenius = 60.0 + 2.0 * x + 0.5 * y
    slidingco = 0.05 + 0.002 * y + 0.001 * x
    return thk, topg, arrhenius, slidingco, dx


def _sia_fields(thk, topg, arrhenius, slidingco, dx):
    usurf = topg + thk
    vel = sia_velocities(thk, usurf, arrhenius, slidingco, dx, sliding=True)
    sx, sy = surface_slopes(usurf, dx)
    inputs = np.stack([thk, sx, sy, arrhenius, slidingco], axis=-1)
    outputs = np.stack([vel[f] for f in OUTPUTS], axis=-1)
    return inputs, outputs


@pytest.mark.parametrize("k", range(8))
def test_transform_commutes_with_sia(k):
    """Transforming a glacier's scalar fields and recomputing slopes and SIA velocities gives
    the transformed slopes and velocities of the original glacier, to round-off."""
    thk, topg, a, c, dx = _asymmetric_glacier()
    inputs, outputs = _sia_fields(thk, topg, a, c, dx)
    scalars = np.stack([thk, topg, a, c], axis=-1)
    t = transform(scalars, ["thk", "topg", "arrhenius", "slidingco"], k)
    inputs_t, outputs_t = _sia_fields(t[..., 0], t[..., 1], t[..., 2], t[..., 3], dx)
    scale = np.abs(outputs).max()
    np.testing.assert_allclose(transform(inputs, INPUTS, k), inputs_t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(transform(outputs, OUTPUTS, k), outputs_t, rtol=0,
                               atol=1e-12 * scale)
    if k:  # a non-trivial symmetry really moves this asymmetric glacier
        assert np.abs(transform(outputs, OUTPUTS, k) - outputs).max() > 0.1 * scale


def test_transform_without_vector_turn_is_wrong():
    """Moving the velocity like a scalar (the reference implementation's bug) breaks the
    pairing: the check above would catch it."""
    thk, topg, a, c, dx = _asymmetric_glacier()
    _, outputs = _sia_fields(thk, topg, a, c, dx)
    t = transform(np.stack([thk, topg, a, c], axis=-1), ["thk", "topg", "a", "c"], 3)
    _, outputs_t = _sia_fields(t[..., 0], t[..., 1], t[..., 2], t[..., 3], dx)
    as_scalars = transform(outputs, [f"s{i}" for i in range(6)], 3)
    assert np.abs(as_scalars - outputs_t).max() > 1.0


def test_transform_group_and_shapes():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((2, 6, 5, 6))
    assert allowed_transforms(6, 5) == (0, 2, 4, 6)
    assert len(allowed_transforms(4, 4)) == 8
    for k in range(8):
        once = transform(f, OUTPUTS, k)
        assert once.shape == ((2, 5, 6, 6) if k & 1 else f.shape)
    # reflections are involutions; transpose + flip x applied four times is the identity
    for k in (1, 2, 4, 6, 7):
        np.testing.assert_array_equal(transform(transform(f, OUTPUTS, k), OUTPUTS, k), f)
    r = f[:, :5, :5]
    for _ in range(4):
        r = transform(r, OUTPUTS, 3)
    np.testing.assert_array_equal(r, f[:, :5, :5])
    with pytest.raises(ValueError, match="both components"):
        transform(f[..., :1], ["ubar"], 1)


def test_masked_loss_ignores_ice_free_cells():
    import keras
    from emulator.losses import MaskedRMSE, MaskedVelocityLoss

    rng = np.random.default_rng(1)
    ref = rng.standard_normal((2, 8, 8, 6)).astype("float32") * 50
    mask = np.zeros((2, 8, 8, 1), "float32")
    mask[:, 2:5, 3:7] = 1.0
    y_true = np.concatenate([ref, mask], axis=-1)
    pred = ref + 3.0 * mask            # off by 3 m/a on ice
    pred += 1000.0 * (1 - mask)        # wildly off where there is no ice: must not count
    mse = float(MaskedVelocityLoss([1.0] * 6)(y_true, pred))
    mae = float(MaskedVelocityLoss([1.0] * 6, kind="mae")(y_true, pred))
    assert mse == pytest.approx(9.0, rel=1e-5)
    assert mae == pytest.approx(3.0, rel=1e-5)
    # per-field weights: only ubar wrong, weight 3 of a total 8
    pred2 = ref.copy()
    pred2[..., 0] += 2.0
    loss = MaskedVelocityLoss([3.0, 1, 1, 1, 1, 1])(y_true, pred2)
    assert float(loss) == pytest.approx(3.0 * 4.0 / 8.0, rel=1e-5)
    metric = MaskedRMSE(0)
    metric.update_state(keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(pred2))
    assert float(metric.result()) == pytest.approx(2.0, rel=1e-5)


@pytest.mark.parametrize("architecture,options", [("cnn", {}), ("unet", {"levels": 2, "filters": 8})])
@pytest.mark.parametrize("shape", [(17, 23), (32, 32), (9, 40)])
def test_models_run_on_any_grid(architecture, options, shape):
    from emulator.zoo import build_model

    model = build_model(architecture, INPUTS, OUTPUTS, [100, 0.2, 0.2, 78, 0.05], [50.0] * 6,
                        options)
    x = np.random.default_rng(2).random((2, *shape, 5)).astype("float32")
    y = np.asarray(model(x))
    assert y.shape == (2, *shape, 6)
    assert np.all(np.isfinite(y))
    # fully convolutional: a sample alone gives the same output as in a batch
    np.testing.assert_allclose(np.asarray(model(x[1:])), y[1:], rtol=1e-5, atol=1e-4)


def test_baseline_parameter_count():
    from emulator.zoo import build_model

    model = build_model("cnn", INPUTS, OUTPUTS, [1.0] * 5, [1.0] * 6)
    # 5*9*32+32 + 15*(32*9*32+32) + 32*6+6 = 140390, the paper's ~140k
    assert model.count_params() == 140390
    assert len([l for l in model.get_layer("core").layers if "Conv2D" in type(l).__name__]) == 17


def test_fidelity_definition():
    ref = np.zeros((1, 2, 2, 6))
    ref[..., 0], ref[..., 1] = 3.0, 4.0          # |u| = 5
    pred = ref.copy()
    pred[..., 0] += 1.0                           # error magnitude 1 on velbar
    ice = np.array([[[True, True], [True, False]]])
    pred[0, 1, 1, 0] += 100.0                     # not ice: ignored
    scores = fidelity(pred, ref, ice, OUTPUTS)
    assert scores["fidelity_velbar"] == pytest.approx(1 - 3 / 15)
    assert scores["rel_l2_velbar"] == pytest.approx(np.sqrt(3 / 75))
    assert np.isnan(scores["fidelity_velsurf"])  # no reference speed at all



def test_manifest_names_the_store_without_a_machine_path(tmp_path, monkeypatch):
    """A published manifest records the store relative to the working directory (the
    workflow's results/), or by its name alone when it lies elsewhere."""
    from emulator.publish import portable_path

    monkeypatch.chdir(tmp_path)
    assert portable_path(tmp_path / "results" / "data" / "sia.zarr") == "results/data/sia.zarr"
    assert portable_path("results/data/sia.zarr") == "results/data/sia.zarr"
    assert portable_path(tmp_path.parent / "elsewhere" / "sia.zarr") == "sia.zarr"
