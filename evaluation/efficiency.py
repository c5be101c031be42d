"""The emulator's efficiency: FLOPs of one inference counted from its layers, achieved FLOP/s
against a same-machine sgemm rate (numpy on the CPU, ``keras.ops.matmul`` on a GPU), and the
device Keras runs on."""

import sys

import numpy as np

from glacier.flow import FlowModel
from evaluation.timing import time_call


def keras_model_of(flow_model: FlowModel):
    """The Keras model inside an emulator flow model (an attribute holding a ``keras.Model``),
    or None for the solvers. Keras not yet imported means no model can hold one."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    for value in vars(flow_model).values():
        if isinstance(value, keras.Model):
            return value
    return None


def keras_device() -> str:
    """Where Keras runs by default: ``"gpu: <name>"`` when the backend (jax or tensorflow) sees
    a GPU, ``"cpu"`` otherwise."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return f"gpu: {gpus[0].device_kind}" if gpus else "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
            return f"gpu: {name}"
    return "cpu"


def _layer_flops(layer, in_shapes: list[tuple], out_shape: tuple) -> int:
    from keras import layers

    if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
        kh, kw = layer.kernel_size
        cin = in_shapes[0][-1]
        positions = out_shape[1] * out_shape[2] if isinstance(layer, layers.Conv2D) else \
            in_shapes[0][1] * in_shapes[0][2]
        macs = kh * kw * (cin // getattr(layer, "groups", 1)) * layer.filters * positions
        bias = out_shape[1] * out_shape[2] * layer.filters if layer.use_bias else 0
        return out_shape[0] * (2 * macs + bias)
    if isinstance(layer, layers.Dense):
        positions = int(np.prod(out_shape[:-1]))
        return positions * (2 * in_shapes[0][-1] * layer.units + (layer.units if layer.use_bias else 0))
    return 0


def _graph_flops(model, input_shape: tuple) -> int:
    """FLOPs of a functional model on a concrete input shape, nested models included, every
    call of a shared layer counted (the 8 calls of the model inside a D4 average)."""
    import keras

    nodes = [node for depth in sorted(model._nodes_by_depth, reverse=True)
             for node in model._nodes_by_depth[depth]
             if not isinstance(node.operation, keras.layers.InputLayer)]
    tensors = []
    for node in nodes:
        tensors += list(node.input_tensors) + list(node.output_tensors)
    probe = keras.Model(model.inputs, tensors)
    specs = probe.compute_output_spec(keras.KerasTensor(input_shape))
    shapes = iter([tuple(s.shape) for s in specs])
    total = 0
    for node in nodes:
        ins = [next(shapes) for _ in node.input_tensors]
        out = [next(shapes) for _ in node.output_tensors][0]
        layer = node.operation
        total += _graph_flops(layer, ins[0]) if isinstance(layer, keras.Model) else \
            _layer_flops(layer, ins, out)
    return total


def emulator_flops(model, ny: int, nx: int) -> int:
    """Floating-point operations of one inference of a Keras model on a (1, ny, nx, C) input.

    Counted analytically from the layers: a Conv2D costs 2 k_h k_w (C_in/groups) C_out H W (one
    multiply and one add per weight and output cell) plus C_out H W for its bias; Conv2DTranspose
    likewise over its input cells; Dense 2 C_in C_out per position plus its bias. Activations,
    pooling, up-sampling, concatenation and scaling are counted as zero (a few per cent of the
    total at most for the zoo's networks). Nested models are counted through, once per call:
    a ``symmetrized`` model (emulator/zoo.py) costs 8 times its core.
    """
    channels = model.inputs[0].shape[-1]
    return int(_graph_flops(model, (1, int(ny), int(nx), int(channels))))


def sgemm_rate(n: int = 2048, repeats: int = 3) -> dict:
    """Single-precision matrix-multiply rate (FLOP/s) of numpy on this machine: n x n float32
    matmul, 2 n^3 FLOPs, median of ``repeats`` timed calls after one warm-up."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    timing = time_call(lambda: a @ b, repeats)
    return {"n": n, "seconds": timing["seconds"], "flops_per_s": 2.0 * n ** 3 / timing["seconds"],
            "device": "cpu", "library": "numpy"}


def device_sgemm_rate(n: int = 8192, repeats: int = 5) -> dict | None:
    """The same with ``keras.ops.matmul`` on the Keras device when it is a GPU (None on CPU)."""
    device = keras_device()
    if device == "cpu":
        return None
    import keras

    a = keras.random.normal((n, n), dtype="float32", seed=0)
    b = keras.random.normal((n, n), dtype="float32", seed=1)
    timing = time_call(lambda: keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0]), repeats)
    return {"n": n, "seconds": timing["seconds"], "flops_per_s": 2.0 * n ** 3 / timing["seconds"],
            "device": device, "library": f"keras.ops ({keras.backend.backend()})"}


def emulator_efficiency(model, ny: int, nx: int, repeats: int = 5, gemm: dict | None = None) -> dict:
    """Achieved FLOP/s of one batch-1 inference of Keras ``model`` on a (1, ny, nx, C) input
    (``predict_on_batch``, warm, median of ``repeats``) against the sgemm rate of the device it
    runs on (``gemm``, a ``sgemm_rate``/``device_sgemm_rate`` result; measured if None)."""
    channels = model.inputs[0].shape[-1]
    x = np.random.default_rng(0).standard_normal((1, ny, nx, channels)).astype(np.float32)
    timing = time_call(lambda: model.predict_on_batch(x), repeats)
    flops = emulator_flops(model, ny, nx)
    gemm = gemm or device_sgemm_rate() or sgemm_rate()
    achieved = flops / timing["seconds"]
    return {"nx": nx, "ny": ny, "flops": flops, "seconds": timing["seconds"],
            "flops_per_s": achieved, "sgemm_flops_per_s": gemm["flops_per_s"],
            "fraction_of_sgemm": achieved / gemm["flops_per_s"], "device": gemm["device"]}
