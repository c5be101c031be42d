"""Speed benchmarks: wall time of one velocity field per flow model over a ladder of grid sizes
(``evaluation.resample``), speed-ups, the time of whole transient runs, the emulator's efficiency
(``evaluation.efficiency``) beside them, and their table.

Timing protocol (docs/design.md, ``evaluation.timing``): batch 1, same state, same machine; one
untimed warm-up call, then the median of ``repeats`` timed calls, then one call on the next
snapshot started from the last solution (what a step of a transient run costs). Cores, MPI ranks
and device are recorded with every row.
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
from evaluation.timing import quietly, time_call, timed_velocity

NEXT_SNAPSHOT_GROWTH = 0.01
"""Relative thickening of the ice (same mask) that makes the next snapshot of a warm solve: about
one time step of a growing glacier."""


def mpi_ranks() -> int:
    """The number of MPI ranks this process runs among (1 without mpi4py)."""
    try:
        from mpi4py import MPI
    except ImportError:
        return 1
    return MPI.COMM_WORLD.size


def next_snapshot(state: xr.Dataset, growth: float = NEXT_SNAPSHOT_GROWTH) -> xr.Dataset:
    """``state`` one step of a transient run later, as a warm solve sees it: the ice ``growth``
    thicker (relative) on the same ice mask, the surface raised with it."""
    thk = state.thk * (1.0 + growth)
    return state.assign(thk=thk, usurf=state.topg + thk)


def timed_ladder_step(model: FlowModel, grid: xr.Dataset, repeats: int) -> dict:
    """``time_call`` of ``model``'s velocity on ``grid`` (its warm-up is the cold call: set-up,
    compilation and solve), plus ``warm_seconds``: the wall time (s) of one call on
    ``next_snapshot(grid)`` with the last solution as ``guess``, as in an evolve loop (a Stokes
    solve then keeps its mesh and starts Newton from the previous 3-D solution)."""
    timed = timing_model(model)
    velocity = quietly(timed.velocity)
    last = {}

    def solve():
        last["velocity"] = velocity(grid)

    timing = time_call(solve, repeats)
    _, warm = quietly(timed_velocity)(timed, next_snapshot(grid), guess=last["velocity"])
    return {**timing, "warm_seconds": warm}


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
    ``warmup_seconds`` (the cold call), ``warm_seconds`` (the next snapshot from the last
    solution: ``timed_ladder_step``), ``device`` (cpu, or the GPU emulators run on), ``cores``
    (os.cpu_count), ``ranks`` (MPI) and the speed-ups of ``add_speedups`` (None where the
    reference was not run). A solve that fails (SolverError) is a row with ``seconds`` None and
    its ``error``; the benchmark goes on.
    """
    rows = []
    cores, ranks = os.cpu_count(), mpi_ranks()
    for n in sizes:
        grid = resample(state, n)
        ice = int((grid.thk.values > 1.0).sum())
        if ice == 0:
            raise InputError(f"the state resampled to {n} cells along x holds no ice (thk > 1 m)")
        for label, model in models.items():
            if n > (max_size or {}).get(label, n):
                continue
            log.info("speed: %s on %d x %d cells (%d of ice)", label, grid.sizes["x"],
                     grid.sizes["y"], ice)
            try:
                timing = timed_ladder_step(model, grid, repeats)
            except SolverError as exc:
                timing = {"seconds": None, "times": [], "warmup_seconds": None,
                          "warm_seconds": None, "error": str(exc)}
                log.warning("speed: %s on %s cells failed: %s", label, n, exc)
            device = keras_device() if keras_model_of(model) is not None else "cpu"
            rows.append({"model": label, "nx": grid.sizes["x"], "ny": grid.sizes["y"],
                         "dx_m": float(grid.x[1] - grid.x[0]), "ice_cells": ice, **timing,
                         "device": device, "cores": cores, "ranks": ranks})
    return add_speedups(rows)


def add_speedups(rows: list[dict]) -> list[dict]:
    """Set ``speedup_vs_stokes`` and ``speedup_vs_hybrid`` (reference median / this median) and
    ``warm_speedup_vs_stokes`` and ``warm_speedup_vs_hybrid`` (the same of ``warm_seconds``: a
    step of a transient run) of every row (same nx, ny); None where a time is missing."""
    for key, prefix in (("seconds", "speedup"), ("warm_seconds", "warm_speedup")):
        ref = {(r["model"], r["nx"], r["ny"]): r.get(key) for r in rows}
        for r in rows:
            for base in ("stokes", "hybrid"):
                t, own = ref.get((base, r["nx"], r["ny"])), r.get(key)
                r[f"{prefix}_vs_{base}"] = t / own if t is not None and own else None
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


TABLE_BLOCKS = (
    ("seconds", "wall time of one velocity field (s, batch 1): median of the repeated calls on the "
                "same state after the warm-up"),
    ("warmup_seconds", "the first call on each grid (s): cold, with set-up and compilation"),
    ("warm_seconds", "the next snapshot (ice 1 % thicker) from the last solution (s): warm, "
                     "one step of a transient run"),
    ("speedup_vs_stokes", "speed-up vs stokes (its median / the model's median)"),
    ("warm_speedup_vs_stokes", "warm speed-up vs stokes (its warm time / the model's)"),
    ("speedup_vs_hybrid", "speed-up vs hybrid (its median / the model's median)"),
    ("warm_speedup_vs_hybrid", "warm speed-up vs hybrid (its warm time / the model's)"),
)
"""The blocks of ``format_table``: the row key and its heading."""


def format_table(rows: list[dict]) -> str:
    """A readable table: one block per entry of ``TABLE_BLOCKS`` that any row has a value of,
    one line per grid, one column per model (with its device when not the CPU; a failed solve
    reads ``failed``), then the cores and MPI ranks."""
    labels = list(dict.fromkeys(r["model"] for r in rows))
    devices = {r["model"]: r["device"] for r in rows}
    heads = [m if devices[m] == "cpu" else f"{m} [{devices[m]}]" for m in labels]
    width = max(12, *(len(h) for h in heads))
    grids = list(dict.fromkeys((r["nx"], r["ny"]) for r in rows))
    by_key = {(r["model"], r["nx"], r["ny"]): r for r in rows}
    ice = {(r["nx"], r["ny"]): r["ice_cells"] for r in rows}
    lines = []
    for key, heading in TABLE_BLOCKS:
        if not any(r.get(key) for r in rows):
            continue
        lines += [heading, f"{'grid':>9} {'ice':>6} " + " ".join(f"{h:>{width}}" for h in heads)]
        for nx, ny in grids:
            cells = [by_key.get((m, nx, ny)) for m in labels]
            lines.append(f"{f'{nx}x{ny}':>9} {ice[nx, ny]:>6} " + " ".join(
                f"{'-':>{width}}" if c is None
                else f"{'failed':>{width}}" if c["seconds"] is None
                else f"{'-':>{width}}" if c.get(key) is None
                else f"{c[key]:>{width}.4g}" for c in cells))
    lines.append(f"cores {rows[0]['cores']}, MPI ranks {rows[0].get('ranks', 1)}")
    return "\n".join(lines)
