"""Speed benchmarks: wall time of one velocity field per flow model over a ladder of grid sizes
(``evaluation.resample``), speed-ups, the time of whole transient runs, the emulator's efficiency
(``evaluation.efficiency``) beside them, and their table.

Timing protocol (docs/design.md, ``evaluation.timing``): batch 1, same state, same machine; one
untimed warm-up call, then the median of ``repeats`` timed calls. Cores and device are recorded
with every row.
"""

import copy
import os
import time

import xarray as xr

from glacier.errors import InputError, SolverError
from glacier.flow import FlowModel
from glacier.progress import log
from glacier.provenance import machine_info
from evaluation.efficiency import (device_sgemm_rate, emulator_efficiency, keras_device,
                                   keras_model_of, sgemm_rate)
from evaluation.resample import resample
from evaluation.timing import quietly, time_call


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
                call = quietly(timing_model(model).velocity)
                timing = time_call(lambda: call(grid), repeats)
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


def benchmark(state: xr.Dataset, models: dict[str, FlowModel], sizes: list[int],
              repeats: int = 5, max_size: dict[str, int] | None = None) -> dict:
    """The speed benchmark of ``models`` on ``state``: ``rows`` (``speed_ladder``), ``machine``
    (``glacier.provenance.machine_info``), ``sgemm`` (numpy, and ``device_sgemm`` on a GPU)
    and the ``efficiency`` of every emulator among the models at each size it was timed on
    (the device sgemm only with an emulator on a GPU)."""
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
