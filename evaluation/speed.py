"""Speed benchmarks: wall time of one velocity field per flow model over a ladder of grid sizes,
speed-ups, the time of whole transient runs, and the emulator's efficiency (achieved FLOP/s of
inference against a same-machine sgemm rate).

Timing protocol (docs/design.md): batch 1, same state, same machine; one untimed warm-up call (form
compilation, graph tracing, caches), then the median of ``repeats`` timed calls
(``time.perf_counter``, s). Cores and device are recorded with every row.
"""

import copy
import logging
import os
import statistics
import sys
import time
import warnings

import numpy as np
import xarray as xr

from glacier.errors import InputError, SolverError
from glacier.fields import complete_state
from glacier.flow import FlowModel
from glacier.progress import log
from evaluation.score import timed_velocity

RESAMPLED = ("thk", "topg", "arrhenius", "slidingco", "icemask")
"""Fields carried over by ``resample``; ``usurf`` is rebuilt as topg + thk."""


def resample(state: xr.Dataset, n: int) -> xr.Dataset:
    """``state`` bilinearly resampled onto ``n`` cells along x covering the same x extent (m),
    with square cells: ``ny = round(n * Ly / Lx)`` cells along y, centred on the same y extent.

    Cell centres beyond the outermost old centres take the edge values (no extrapolation);
    thk stays >= 0 and icemask is 0/1.
    """
    if n < 3:
        raise InputError(f"grid size {n} too small: at least 3 cells")
    x, y = state.x.values, state.y.values
    dx = float(x[1] - x[0])
    lx, ly = x[-1] - x[0] + dx, y[-1] - y[0] + dx
    res = lx / n
    ny = max(3, int(round(ly / res)))
    new_x = x[0] - dx / 2 + res * (np.arange(n) + 0.5)
    new_y = (y[0] + y[-1]) / 2 + res * (np.arange(ny) - (ny - 1) / 2)
    fields = state[[k for k in RESAMPLED if k in state]]
    out = fields.interp(x=np.clip(new_x, x[0], x[-1]), y=np.clip(new_y, y[0], y[-1]),
                        method="linear")
    out = out.assign_coords(x=new_x, y=new_y)
    out["thk"] = out.thk.clip(min=0.0)
    if "icemask" in out:
        out["icemask"] = (out.icemask > 0.5).astype(float)
    out["usurf"] = out.topg + out.thk
    return complete_state(out)


def time_call(fn, repeats: int) -> dict:
    """Call ``fn()`` once untimed (warm-up), then ``repeats`` times timed; the median and all
    timed wall times (s) and the warm-up's."""
    if repeats < 1:
        raise InputError(f"repeats must be >= 1, got {repeats}")
    t0 = time.perf_counter()
    fn()
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "times": times, "warmup_seconds": warmup}


def cold_and_warm(model: FlowModel, state: xr.Dataset):
    """A cold solve and a warm one (the cold solution as ``guess``) of ``state``:
    ``(cold, cold seconds, warm, warm seconds)``."""
    cold, t_cold = timed_velocity(model, state)
    return (cold, t_cold) + timed_velocity(model, state, guess=cold)


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


def timing_model(model: FlowModel) -> FlowModel:
    """The model to time on resampled grids. An emulator refuses grid spacings it was not
    trained on (manifest ``out_of_range: error``); its cost does not depend on the values, so
    it is timed as a copy whose manifest says ``warn`` (the warnings are silenced)."""
    manifest = getattr(model, "manifest", None)
    if not isinstance(manifest, dict) or manifest.get("out_of_range") != "error":
        return model
    relaxed = copy.copy(model)
    relaxed.manifest = {**manifest, "out_of_range": "warn"}
    return relaxed


def _velocity_call(model: FlowModel, state: xr.Dataset):
    """A call of ``model.velocity(state)`` with the out-of-range warnings of a ``timing_model``
    silenced (both the Python warning and the log line: they would repeat at every call)."""
    logger = logging.getLogger("icebench")

    def call():
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.velocity(state)
        finally:
            logger.setLevel(level)
    return call


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


def speed_ladder(state: xr.Dataset, models: dict[str, FlowModel], sizes: list[int],
                 repeats: int = 5, max_size: dict[str, int] | None = None) -> list[dict]:
    """Time one velocity field of each model on ``state`` resampled to each size in ``sizes``
    (cells along x), skipping the sizes above ``max_size[label]`` for the models it names
    (e.g. Stokes, too slow on the largest grids).

    Rows: ``model``, ``nx``, ``ny``, ``dx_m``, ``ice_cells``, ``seconds`` (median), ``times``,
    ``warmup_seconds``, ``device`` (cpu, or the GPU emulators run on), ``cores`` (os.cpu_count),
    ``speedup_vs_stokes`` and ``speedup_vs_hybrid`` (reference time / this time on the same
    grid; None where the reference was not run). A solve that fails (SolverError) is a row with
    ``seconds`` None and its ``error``; the benchmark goes on.
    """
    rows = []
    cores = os.cpu_count()
    for n in sizes:
        grid = resample(state, n)
        ice = int((grid.thk.values > 1.0).sum())
        if ice == 0:
            raise InputError(f"the state resampled to {n} cells along x holds no ice (thk > 1 m)")
        for label, model in models.items():
            if n > (max_size or {}).get(label, n):
                continue
            try:
                timing = time_call(_velocity_call(timing_model(model), grid), repeats)
            except SolverError as exc:
                timing = {"seconds": None, "times": [], "warmup_seconds": None, "error": str(exc)}
                log.warning("speed: %s on %s cells failed: %s", label, n, exc)
            device = keras_device() if keras_model_of(model) is not None else "cpu"
            rows.append({"model": label, "nx": grid.sizes["x"], "ny": grid.sizes["y"],
                         "dx_m": float(grid.x[1] - grid.x[0]), "ice_cells": ice, **timing,
                         "device": device, "cores": cores})
    return add_speedups(rows)


def add_speedups(rows: list[dict]) -> list[dict]:
    """Set ``speedup_vs_stokes`` and ``speedup_vs_hybrid`` of every row (same nx, ny)."""
    ref = {(r["model"], r["nx"], r["ny"]): r["seconds"] for r in rows}
    for r in rows:
        for base in ("stokes", "hybrid"):
            t = ref.get((base, r["nx"], r["ny"]))
            ok = t is not None and r["seconds"] is not None and r["seconds"] > 0
            r[f"speedup_vs_{base}"] = t / r["seconds"] if ok else None
    return rows


def transient_times(state: xr.Dataset, models: dict[str, FlowModel], smb, settings) -> list[dict]:
    """Wall time (s) of one whole ``glacier.evolve`` run per model (same state, climate and
    settings; no warm-up: a run is long against any set-up) and the end volume (m3)."""
    from glacier.evolve import evolve

    rows = []
    for label, model in models.items():
        t0 = time.perf_counter()
        run = evolve(state, model, smb, settings, show_progress=False)
        rows.append({"model": label, "nx": state.sizes["x"], "ny": state.sizes["y"],
                     "years": settings.years, "seconds": time.perf_counter() - t0,
                     "end_volume_m3": float(run.volume[-1])})
    return rows


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
    """FLOPs of a functional model on a concrete input shape, nested models included."""
    import keras

    layer_list = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    nodes = [layer._inbound_nodes[0] for layer in layer_list]
    tensors = []
    for node in nodes:
        tensors += list(node.input_tensors) + list(node.output_tensors)
    probe = keras.Model(model.inputs, tensors)
    specs = probe.compute_output_spec(keras.KerasTensor(input_shape))
    shapes = iter([tuple(s.shape) for s in specs])
    total = 0
    for layer, node in zip(layer_list, nodes):
        ins = [next(shapes) for _ in node.input_tensors]
        out = [next(shapes) for _ in node.output_tensors][0]
        total += _graph_flops(layer, ins[0]) if isinstance(layer, keras.Model) else \
            _layer_flops(layer, ins, out)
    return total


def emulator_flops(model, ny: int, nx: int) -> int:
    """Floating-point operations of one inference of a Keras model on a (1, ny, nx, C) input.

    Counted analytically from the layers: a Conv2D costs 2 k_h k_w (C_in/groups) C_out H W (one
    multiply and one add per weight and output cell) plus C_out H W for its bias; Conv2DTranspose
    likewise over its input cells; Dense 2 C_in C_out per position plus its bias. Activations,
    pooling, up-sampling, concatenation and scaling are counted as zero (a few per cent of the
    total at most for the zoo's networks). Nested models are counted through.
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


def benchmark(state: xr.Dataset, models: dict[str, FlowModel], sizes: list[int],
              repeats: int = 5, max_size: dict[str, int] | None = None) -> dict:
    """The speed benchmark of ``models`` on ``state``: ``rows`` (``speed_ladder``), ``machine``
    (``icebench.cli.machine_info``), ``sgemm`` (numpy, and ``device_sgemm`` on a GPU) and the
    ``efficiency`` of every emulator among the models at each size it was timed on (the
    device sgemm only with an emulator on a GPU)."""
    from icebench.cli import machine_info

    rows = speed_ladder(state, models, sizes, repeats, max_size)
    nets = {label: keras_model_of(model) for label, model in models.items()}
    nets = {label: net for label, net in nets.items() if net is not None}
    gemm = sgemm_rate()
    device_gemm = device_sgemm_rate() if nets else None
    efficiency = []
    for label, net in nets.items():
        for r in (r for r in rows if r["model"] == label):
            efficiency.append({"model": label, **emulator_efficiency(
                net, r["ny"], r["nx"], repeats, gemm=device_gemm or gemm)})
    return {"rows": rows, "machine": machine_info(), "repeats": repeats, "sgemm": gemm,
            "device_sgemm": device_gemm, "efficiency": efficiency}


def format_table(rows: list[dict]) -> str:
    """A readable table: one line per grid, the median seconds of each model (with its device
    when not the CPU) and the speed-ups against Stokes and hybrid."""
    labels = list(dict.fromkeys(r["model"] for r in rows))
    devices = {r["model"]: r["device"] for r in rows}
    heads = [m if devices[m] == "cpu" else f"{m} [{devices[m]}]" for m in labels]
    width = max(12, *(len(h) for h in heads))
    lines = ["wall time of one velocity field (s, median, warm, batch 1)",
             f"{'grid':>9} {'ice':>6} " + " ".join(f"{h:>{width}}" for h in heads)]
    grids = list(dict.fromkeys((r["nx"], r["ny"]) for r in rows))
    by_key = {(r["model"], r["nx"], r["ny"]): r for r in rows}
    for nx, ny in grids:
        cells = [by_key.get((m, nx, ny)) for m in labels]
        ice = next(c["ice_cells"] for c in cells if c is not None)
        lines.append(f"{f'{nx}x{ny}':>9} {ice:>6} " + " ".join(
            f"{'-':>{width}}" if c is None else f"{'failed':>{width}}" if c["seconds"] is None
            else f"{c['seconds']:>{width}.4g}" for c in cells))
    for base in ("stokes", "hybrid"):
        timed = [(nx, ny) for nx, ny in grids
                 if by_key.get((base, nx, ny), {}).get("seconds") is not None]
        if not timed:
            continue
        lines.append(f"speed-up vs {base} (its time / the model's time):")
        for nx, ny in timed:
            cells = [by_key.get((m, nx, ny)) for m in labels]
            lines.append(f"{f'{nx}x{ny}':>9} {'':>6} " + " ".join(
                f"{c[f'speedup_vs_{base}']:>{width}.4g}" if c and c[f"speedup_vs_{base}"]
                else f"{'-':>{width}}" for c in cells))
    lines.append(f"cores {rows[0]['cores']}")
    return "\n".join(lines)
