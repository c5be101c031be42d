"""Century runs: one glacier evolved by several drivers (Stokes, hybrid, each emulator) from
the same state under the same warming climate and the same velocity-renewal schedule, each
run resumable in chunks, then compared with a reference driver (issue 21).

``warming_climate`` makes the climate: the ELA of a config climate at the start, rising
linearly by ``ela_rise`` m over the run. ``driver_run`` runs one driver in chunks
(``glacier.evolve.evolve_in_chunks``) into a partial file beside its output and moves it into
place once complete, so an interrupted run continues where it stopped and never leaves a
half-written output. ``compare_drivers`` gives, per driver, the volume and area differences
and the end thickness RMSE against the reference (``evaluation.transient.compare_runs``) beside
the whole run's wall time and its speed-ups over the reference and the hybrid.
"""

import hashlib
import os
from pathlib import Path

import xarray as xr

from glacier.evolve import EvolveSettings, evolve_in_chunks
from glacier.flow import FlowModel
from glacier.metrics import fidelity_scores
from glacier.smb import ElaSmb, value_at
from evaluation.transient import compare_runs


def warming_climate(climate: dict, start: float, years: float, ela_rise: float) -> dict:
    """The keyword arguments of ``ElaSmb`` for a run of ``years`` (a): the config ``climate``'s
    gradients, its ELA at time ``start`` (a) held at first and rising linearly by ``ela_rise``
    (m) over the run."""
    ela0 = float(value_at(climate["ela"], start))
    return {**climate, "ela": [[0.0, ela0], [float(years), ela0 + float(ela_rise)]]}


def file_digest(path) -> str:
    """sha256 of a file, or of the files of a folder (sorted by name): what identifies a
    trained emulator in a run's identity."""
    path = Path(path)
    digest = hashlib.sha256()
    for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if part.is_file():
            digest.update(part.name.encode())
            digest.update(part.read_bytes())
    return digest.hexdigest()


def driver_run(state: xr.Dataset, model: FlowModel, climate: dict, settings: EvolveSettings,
               output, chunk_years: float, identity: dict,
               show_progress: bool = False) -> xr.Dataset:
    """Evolve ``state`` with ``model`` under ``ElaSmb(**climate)`` for ``settings.years``, in
    chunks of ``chunk_years`` written to ``<output>.partial``; once complete (or stopped: a
    model that drives the ice out of the valid ranges ends its run there, with the attribute
    ``stopped``) the file is moved to ``output``. ``identity`` (what defines the run besides
    the climate and the settings, e.g. the driver's spec and the digest of its weights) is
    stored in the file; a partial file of another identity is refused. An ``output`` already
    in place is returned as it is when its identity is the same (refused otherwise): the run is
    not made twice. ``show_progress``: the evolution's progress bar and snapshot log lines."""
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    key = {**identity, "model": model.name, "climate": climate,
           "settings": vars(settings), "start_volume_m3": float(state.thk.sum())}
    done = output.exists()
    run = evolve_in_chunks(state, model, ElaSmb(**climate), settings,
                           output if done else partial, chunk_years, key,
                           show_progress=show_progress, stop_on_failure=True)
    if not done:
        os.replace(partial, output)
    return run


def compare_drivers(runs: dict[str, xr.Dataset], reference: str) -> list[dict]:
    """One row per driver of ``runs`` (label -> ``driver_run`` output): the comparison with the
    run of ``reference`` (volume and area differences over time, end thickness RMSE; where
    either run stopped early, as far as both got), ``start_fidelity``: the fidelity of its
    velocities at t = 0 against the reference's (``glacier.metrics``; every run starts from the
    same state and solves it first, so this scores one solve), the years reached, the whole
    run's wall time (s) and its speed-ups over the reference's and the hybrid's runs (None
    where that driver did not run, or the run stopped early: a shorter run is not a faster
    one)."""
    ref = runs[reference]
    seconds = {label: float(run.attrs["wall_time_s"]) for label, run in runs.items()}
    full = {label: "stopped" not in run.attrs for label, run in runs.items()}
    rows = []
    for label, run in runs.items():
        n = min(run.sizes["time"], ref.sizes["time"])   # as far as both got
        numbers = compare_runs(run.isel(time=slice(0, n)), ref.isel(time=slice(0, n)))
        start, ref_start = run.isel(time=0), ref.isel(time=0)
        row = {"driver": label, "model": run.attrs.get("flow_model", label),
               "years_reached": float(run.time[-1]), "stopped": run.attrs.get("stopped"),
               "seconds": seconds[label], **numbers,
               "start_fidelity": fidelity_scores(start, ref_start, ref_start.thk)["fidelity"]}
        for base in (reference, "hybrid"):
            ok = base in runs and full[label] and full[base]
            row[f"speedup_vs_{base}"] = seconds[base] / seconds[label] if ok else None
        rows.append(row)
    return rows


def table(rows: list[dict], reference: str) -> str:
    """A Markdown table of ``compare_drivers`` rows: wall time and speed-ups beside the
    fidelity of the same run (the velbar fidelity of its first solve, volume and area at the
    end, largest volume gap, thickness RMSE)."""
    def speedup(value):
        return "-" if value is None else f"{value:.3g}x"

    lines = [f"| driver | years | wall time (s) | speed-up vs {reference} | speed-up vs hybrid | "
             "velbar fidelity at t = 0 | end volume (km3) | end dV/V | max abs dV/V | end dA/A | "
             "end thk RMSE (m) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['driver']} | {r['years_reached']:g} | {r['seconds']:.1f} | "
            f"{speedup(r[f'speedup_vs_{reference}'])} | {speedup(r.get('speedup_vs_hybrid'))} | "
            f"{r['start_fidelity']['velbar']:.3f} | "
            f"{r['volume_m3'][-1] / 1e9:.4f} | {r['end_rel_volume_diff']:+.2%} | "
            f"{r['max_abs_rel_volume_diff']:.2%} | {r['end_rel_area_diff']:+.2%} | "
            f"{r['end_thk_rmse_m']:.1f} |")
    return "\n".join(lines) + "\n"
