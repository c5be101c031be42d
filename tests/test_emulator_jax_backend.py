"""The emulators run on the JAX backend as on TensorFlow (Keras 3 picks its backend once, at
import, so the other backend runs in a subprocess: this file run as a script under
``KERAS_BACKEND=<other>``).

This process (TensorFlow, normally) builds each zoo architecture with fixed weights, runs it on
physical-unit input fields and saves it: the whole model (``.keras``, custom layers inside) and
its weights alone (``.weights.h5``); it also saves a compiled, once-trained tiny model (the
checkpoint that a resumed training loads: masked loss, metrics, Adam with its cosine schedule
and state) and a training directory (``model.keras`` + ``training.json``) for the inference
FlowModel. The subprocess, on the other backend, loads all of them, predicts, trains the tiny
model on, and writes what it got; the test compares.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

INPUTS = ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco"]
OUTPUTS = ["ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase", "vvelbase"]
IN_SCALES = [150.0, 0.2, 0.2, 78.0, 0.07]
OUT_SCALES = [40.0, 40.0, 50.0, 50.0, 15.0, 15.0]
# The architectures at their default (training config) sizes: the paper's 16 x 32 CNN (140k
# parameters) and the 3-level U-Net (filters 32).
ARCHITECTURES = {"cnn": {}, "unet": {}}
# The tiny model to train: kernels of the CNN's shapes (under JAX every new weight shape costs
# an XLA compilation of its random initializer, ~0.5 s each).
TINY = {"architecture": "cnn", "model": {"layers": 2, "filters": 32}, "inputs": INPUTS,
        "outputs": OUTPUTS, "epochs": 4, "learning_rate": 1e-3, "lr_schedule": "cosine",
        "mlflow": False}
GRID = (21, 27)        # not a multiple of 8: the U-Net pads and crops
TINY_STEPS = 4         # full-batch Adam steps on each backend after the saved one
RESULTS = "results.npz"

# Tolerance. Both backends evaluate the same float32 network; they differ only in how their
# convolutions (oneDNN/Eigen under TensorFlow, XLA under JAX) order and block the sum behind
# each output value, n = 9 * C_in products (45 to 2304 here). A reordered float32 sum differs
# by ~sqrt(n) * u relative (round-off as a random walk; u = 2^-24 = 6e-8 the unit round-off),
# so 4e-7 to 3e-6 per layer, of random sign, adding up over the 17 (CNN) or 18 (U-Net) conv
# layers to a few 1e-6 at most (Glorot weights keep each layer's gain ~1). The networks are
# continuous (LeakyReLU, max pooling, zero padding), so a round-off flip at a kink or a tie in a
# pooling window changes nothing discontinuously. Measured on x86 CPUs: max |TF - JAX| ~1e-6 of
# max |output| (README). Allowed: 1e-5 of max |output|, ten times the measurement and still
# orders of magnitude below a real discrepancy (a wrong weight, layout or padding changes
# outputs by O(1) of their scale).
RTOL = 1e-5


def fields(seed: int, batch: int = 2, grid=GRID) -> np.ndarray:
    """Input fields in their physical units: thickness 0-300 m (a third of cells ice-free),
    slopes +-0.3, A 60-90 MPa-3 a-1, c 0.05-0.1 MPa a1/3 m-1/3."""
    rng = np.random.default_rng(seed)
    shape = (batch, *grid)
    thk = np.clip(rng.uniform(-150.0, 300.0, shape), 0.0, None)
    return np.stack([thk, rng.uniform(-0.3, 0.3, shape), rng.uniform(-0.3, 0.3, shape),
                     rng.uniform(60.0, 90.0, shape), rng.uniform(0.05, 0.1, shape)],
                    axis=-1).astype("float32")


def tiny_data():
    """One batch for the tiny model: inputs and targets (velocities, then the ice mask)."""
    x = fields(7, batch=4, grid=(12, 12))
    ice = (x[..., :1] > 1.0).astype("float32")
    u = 30.0 * np.tanh(x[..., 1:3] * 5.0) * x[..., :1] / 150.0      # a smooth field to learn
    y = np.concatenate([u, u, 0.3 * u, ice], axis=-1).astype("float32")
    return x, y


def flow_state():
    """A 24 x 20 state at 200 m with an ice cap, for the inference FlowModel."""
    from glacier.fields import complete_state, make_state
    x, y = 200.0 * np.arange(20), 200.0 * np.arange(24)
    X, Y = np.meshgrid(x, y)
    thk = np.clip(250.0 - ((X - 1900) ** 2 + (Y - 2300) ** 2) / 8000.0, 0.0, None)
    state = make_state(x, y, topg=2500.0 - 0.08 * X + 0.03 * Y, thk=thk)
    return complete_state(state, arrhenius=78.0, slidingco=0.07)


def compiled_tiny():
    from emulator.config import load_config
    from emulator.train import compile_model
    from emulator.zoo import build_model
    config = load_config(TINY)
    model = build_model(config.architecture, INPUTS, OUTPUTS, IN_SCALES, OUT_SCALES, config.model)
    compile_model(model, config, steps_per_epoch=1)
    return model


def slab_minimiser() -> np.ndarray:
    """The first-order energy minimised on a 4 x 4 periodic slab at 5 levels (m a-1)."""
    from emulator.energy import minimise_energy
    shape = (4, 4)
    return minimise_energy(np.full(shape, 500.0), np.full(shape, 0.05), np.zeros(shape),
                           np.full(shape, 78.0), np.full(shape, 0.05), 100.0, levels=5,
                           periodic=True)["u"]


def losses(model, x, y, steps: int) -> list[float]:
    """The masked loss of each of ``steps`` full-batch training steps (before its update)."""
    return [float(model.train_on_batch(x, y, return_dict=True)["loss"]) for _ in range(steps)]


def other_side(directory: Path) -> None:
    """Run on the other backend: load what the reference side saved and record the results."""
    from emulator.model import EmulatorFlowModel
    from emulator.zoo import build_model, load_model

    results = {"backend": np.array(keras.backend.backend())}
    for arch, options in ARCHITECTURES.items():
        x = np.load(directory / f"{arch}_x.npy")
        rebuilt = build_model(arch, INPUTS, OUTPUTS, IN_SCALES, OUT_SCALES, options)
        rebuilt.load_weights(directory / f"{arch}.weights.h5")
        results[f"{arch}_weights"] = np.asarray(rebuilt.predict_on_batch(x))
        loaded = load_model(directory / f"{arch}.keras", compile=False)
        results[f"{arch}_keras"] = np.asarray(loaded.predict_on_batch(x))
        results[f"{arch}_layers"] = np.array([type(l).__name__ for l in loaded.layers])
    levers = load_model(directory / "levers.keras", compile=False)
    results["levers_keras"] = np.asarray(levers.predict_on_batch(np.load(directory / "cnn_x.npy")))
    results["slab_u"] = slab_minimiser()
    tiny = load_model(directory / "tiny.keras")        # compile=True: loss, metrics, optimizer
    results["tiny_iterations"] = np.asarray(keras.ops.convert_to_numpy(tiny.optimizer.iterations))
    results["tiny_losses"] = np.array(losses(tiny, *tiny_data(), TINY_STEPS))
    flow = EmulatorFlowModel.load(directory / "run")
    results["flow_ubar"] = flow.velocity(flow_state()).ubar.values
    np.savez(directory / RESULTS, **results)


def run_other_backend(directory: Path) -> tuple[str, dict]:
    backend = keras.backend.backend()
    assert backend in ("tensorflow", "jax"), f"run this test on tensorflow or jax, not {backend}"
    other = "jax" if backend == "tensorflow" else "tensorflow"
    env = {**os.environ, "KERAS_BACKEND": other, "TF_CPP_MIN_LOG_LEVEL": "2",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, __file__, str(directory)], env=env, text=True,
                          capture_output=True, timeout=300, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, f"{other} side failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    with np.load(directory / RESULTS) as f:
        return other, {k: f[k] for k in f.files}


def test_models_agree_across_backends(tmp_path):
    from emulator.model import EmulatorFlowModel
    from emulator.zoo import build_model, symmetrized

    reference = {}
    for arch, options in ARCHITECTURES.items():
        keras.utils.set_random_seed(3)
        model = build_model(arch, INPUTS, OUTPUTS, IN_SCALES, OUT_SCALES, options)
        rng = np.random.default_rng(4)    # non-zero biases too, so they are checked as well
        model.set_weights([w + rng.normal(0.0, 0.05, w.shape).astype(w.dtype) * (w.ndim == 1)
                           for w in model.get_weights()])
        x = fields(5)
        reference[arch] = np.asarray(model.predict_on_batch(x))
        np.save(tmp_path / f"{arch}_x.npy", x)
        model.save(tmp_path / f"{arch}.keras")
        model.save_weights(tmp_path / f"{arch}.weights.h5")
        if arch == "cnn":       # a training directory for EmulatorFlowModel.load
            run = tmp_path / "run"
            run.mkdir()
            model.save(run / "model.keras")
            (run / "training.json").write_text(json.dumps({
                "config": {"ice_threshold": 1.0}, "instructor": "sia",
                "input_scales": dict(zip(INPUTS, IN_SCALES)),
                "output_scales": dict(zip(OUTPUTS, OUT_SCALES)),
                "trained_ranges": {"dx_m": [200.0], "arrhenius": [60.0, 90.0],
                                   "slidingco": [0.05, 0.1]}}))
            reference["flow_ubar"] = EmulatorFlowModel.load(run).velocity(flow_state()).ubar.values

    # the training levers' layers: SIA channels (local and coupled) inside, the average over the
    # grid symmetries
    keras.utils.set_random_seed(3)
    levers = symmetrized(build_model("cnn", INPUTS, OUTPUTS, IN_SCALES, OUT_SCALES,
                                     {"layers": 3, "filters": 8}, sia_input=True,
                                     sia_coupling=[1.5]), INPUTS, OUTPUTS)
    reference["levers"] = np.asarray(levers.predict_on_batch(fields(5)))
    levers.save(tmp_path / "levers.keras")

    # the checkpoint of a training one step in: the other side resumes from it
    keras.utils.set_random_seed(3)
    tiny = compiled_tiny()
    x, y = tiny_data()
    tiny.train_on_batch(x, y)
    tiny.save(tmp_path / "tiny.keras")
    tiny_losses = losses(tiny, x, y, TINY_STEPS)

    other, got = run_other_backend(tmp_path)
    assert str(got["backend"]) == other
    report = {}
    for arch in ARCHITECTURES:
        ref = reference[arch]
        scale = float(np.max(np.abs(ref)))
        assert scale > 1.0 and np.all(np.isfinite(ref))        # m a-1: a non-trivial output
        for how in ("weights", "keras"):
            diff = float(np.max(np.abs(got[f"{arch}_{how}"] - ref)))
            report[f"{arch}_{how}"] = (diff, diff / scale)
            assert diff <= RTOL * scale, f"{arch} ({how}): max |diff| {diff:.3g}, scale {scale:.3g}"
        # the custom layers came back as themselves
        assert {"FieldScaling"} <= set(got[f"{arch}_layers"].tolist())
    assert "PadToMultiple" in got["unet_layers"] and "CropLike" in got["unet_layers"]
    levers_scale = float(np.max(np.abs(reference["levers"])))
    levers_diff = float(np.max(np.abs(got["levers_keras"] - reference["levers"])))
    report["levers_keras"] = (levers_diff, levers_diff / levers_scale)
    assert levers_scale > 0 and levers_diff <= RTOL * levers_scale
    flow_scale = float(np.max(np.abs(reference["flow_ubar"])))
    flow_diff = float(np.max(np.abs(got["flow_ubar"] - reference["flow_ubar"])))
    report["flow_ubar"] = (flow_diff, flow_diff / flow_scale)
    assert flow_scale > 1.0 and flow_diff <= RTOL * flow_scale

    # the energy minimiser (float64, autodiff of each backend) finds the same velocities
    slab = slab_minimiser()
    report["slab_u"] = (float(np.abs(got["slab_u"] - slab).max()), 0.0)
    np.testing.assert_allclose(got["slab_u"], slab, rtol=1e-6)

    # training goes on from the checkpoint on the other backend: optimizer state restored, the
    # loss falls at every step and follows the reference backend's. The first loss is of the
    # same saved weights (round-off only, RTOL). The later ones carry the round-off of the
    # gradients through the Adam updates, which divide by sqrt(v) and so keep it relative;
    # only near-zero gradients can flip an update's sign, and those move the loss to second
    # order. Measured: ~1e-6 relative after 4 steps; allowed: 1e-4.
    assert int(got["tiny_iterations"]) == 1
    other_losses = got["tiny_losses"].tolist()
    assert np.all(np.diff(other_losses) < 0), other_losses
    assert np.all(np.diff(tiny_losses) < 0), tiny_losses
    np.testing.assert_allclose(other_losses[0], tiny_losses[0], rtol=RTOL)
    np.testing.assert_allclose(other_losses, tiny_losses, rtol=1e-4)
    print(f"\n{keras.backend.backend()} vs {other}: max |diff| (m a-1, relative to max|output|)")
    for key, (diff, rel) in report.items():
        print(f"  {key}: {diff:.3g} ({rel:.2g})")
    rel = np.max(np.abs(np.array(other_losses) / tiny_losses - 1.0))
    print(f"  tiny training losses: {[round(v, 3) for v in tiny_losses]}, max rel. diff {rel:.2g}")


if __name__ == "__main__":
    other_side(Path(sys.argv[1]))
