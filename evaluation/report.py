"""``results/summary.md``: the evaluation's numbers in one file a person reads in a terminal.

Sections: the datasets (first lines of each store summary), fidelity per glacier (emulator
against its instructor, and the cross-instructor row), the transient comparison, the speed table
with speed-ups and the emulator's efficiency, and the provenance (date, machine, code version,
config hash). Inputs are the JSON files the workflow's evaluation rules write.
"""

import json
import math
from datetime import datetime, timezone
from pathlib import Path

from glacier.metrics import SCORED

DATASET_LINES = 2
"""Lines of each store summary quoted (instructor, sample counts per split)."""


def _num(value, fmt: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]

    def line(cells):
        return "| " + " | ".join(f"{str(c):<{w}}" for c, w in zip(cells, widths)) + " |"
    return [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def _score_cell(fidelity, rel_l2) -> str:
    text = _num(fidelity)
    return text if text == "-" else f"{text} ({_num(rel_l2, '.3f')})"


def fidelity_section(scores: list[dict]) -> list[str]:
    """One row per (model, reference, glacier) and a pooled row per pair: fidelity with the
    relative L2 error in brackets, per field."""
    head = ["model", "reference", "glacier", "samples", *SCORED]
    rows = []
    for result in scores:
        for glacier, row in [*result["per_domain"].items(), ("all", result["all"])]:
            rows.append([result["model"], result["reference"], glacier, str(row["samples"]),
                         *(_score_cell(row["fidelity"][f], row["rel_l2"][f]) for f in SCORED)])
    return ["## Fidelity (test split)", "",
            "fidelity = 1 - sum|u - u_ref| / sum|u_ref| over thk > 1 m, |.| the vector magnitude "
            "(velbar = (ubar, vbar), velsurf, velbase; speed = surface speed); relative L2 error "
            "in brackets; '-' where the reference is zero (e.g. no sliding).", "",
            *_table(head, rows), ""]


def transient_section(transients: list[dict]) -> list[str]:
    head = ["glacier", "model", "reference", "grid", "years", "max abs dV/V", "end dV/V",
            "end dA/A", "end thk RMSE (m)", "model run (s)", "reference run (s)"]
    rows = [[t.get("domain", "-"), t["model"], t["reference"], f"{t['nx']}x{t['ny']}", _years(t),
             _num(t["max_abs_rel_volume_diff"]), _num(t["end_rel_volume_diff"]),
             _num(t["end_rel_area_diff"]), _num(t["end_thk_rmse_m"], ".2f"),
             _num(t["seconds"], ".3g"), _num(t["reference_seconds"], ".3g")] for t in transients]
    stopped = [f"- {t['model']}{' on ' + t['domain'] if t.get('domain') else ''} stopped "
               f"{t['stopped']}" for t in transients if t.get("stopped")]
    return ["## Transient fidelity", "",
            "same initial state and climate; dV/V = (V - V_ref) / V_ref, A the area with thk > 1 m, "
            "thickness RMSE over the cells where either run has ice; a run the model drove out of "
            "the valid ranges is compared up to the years it reached (years: reached / asked).", "",
            *_table(head, rows), *(["", *stopped] if stopped else []), ""]


def _years(numbers: dict) -> str:
    """The run's length (a), as reached / asked when the model's run stopped early."""
    asked = _num(numbers["years"], "g")
    if not numbers.get("stopped"):
        return asked
    return f"{_num(numbers['years_reached'], 'g')} / {asked}"


def speed_section(speed: dict) -> list[str]:
    from evaluation.speed import format_table

    lines = ["## Speed", "", "```", format_table(speed["rows"])]
    for gemm in filter(None, (speed.get("sgemm"), speed.get("device_sgemm"))):
        lines.append(f"sgemm ({gemm['library']} float32, n={gemm['n']}, {gemm['device']}): "
                     f"{gemm['flops_per_s'] / 1e9:.1f} GFLOP/s")
    for e in speed.get("efficiency", []):
        lines.append(f"{e['model']} {e['nx']}x{e['ny']}: {e['flops'] / 1e9:.3f} GFLOP per "
                     f"inference in {e['seconds']:.4g} s = {e['flops_per_s'] / 1e9:.2f} GFLOP/s, "
                     f"{100 * e['fraction_of_sgemm']:.1f}% of sgemm on {e['device']}")
    lines += ["```", ""]
    return lines


def render_summary(datasets: dict[str, str], scores: list[dict], transients: list[dict],
                   speed: dict | None, provenance: dict) -> str:
    """The summary as Markdown text.

    ``datasets``: instructor -> the text of its store summary; ``scores``: results of
    ``score_store``/``score_store_pair``; ``transients``: ``transient_comparison`` numbers;
    ``speed``: the ``bench speed`` results (rows, machine, sgemm, efficiency) or None;
    ``provenance``: date, machine, code_version, config_hash (strings).
    """
    lines = ["# icebench evaluation summary", "", "## Datasets", ""]
    for name, text in sorted(datasets.items()):
        lines += [f"- {line.strip()}" for line in text.strip().splitlines()[:DATASET_LINES]]
    lines.append("")
    if scores:
        lines += fidelity_section(scores)
    if transients:
        lines += transient_section(transients)
    if speed:
        lines += speed_section(speed)
    lines += ["## Provenance", ""]
    lines += [f"- {key}: {value}" for key, value in provenance.items()]
    return "\n".join(lines) + "\n"


def machine_line(machine: dict) -> str:
    """One line naming the machine from ``glacier.provenance.machine_info()``."""
    return (f"{machine.get('processor')}, {machine.get('cores')} cores, GPU "
            f"{machine.get('gpu') or 'none'}, {machine.get('platform')}")


def write_score_csv(results: list[dict], path) -> Path:
    """The fidelity tables as CSV: one row per (model, reference, glacier, field) with the
    fidelity and the relative L2 error (empty where undefined)."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "reference", "glacier", "samples", "field", "fidelity", "rel_l2"])
        for result in results:
            for glacier, row in [*result["per_domain"].items(), ("all", result["all"])]:
                for field in SCORED:
                    values = (_num(row[k][field], ".6f") for k in ("fidelity", "rel_l2"))
                    writer.writerow([result["model"], result["reference"], glacier, row["samples"],
                                     field, *("" if v == "-" else v for v in values)])
    return path


def _load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def write_summary(path, dataset_files: list, score_files: list, transient_files: list,
                  speed_file, config: dict) -> Path:
    """Read the evaluation's JSON outputs and store summaries and write the summary to ``path``."""
    from glacier.provenance import code_version, config_hash, machine_info

    datasets = {Path(f).name.removesuffix("_summary.txt"): Path(f).read_text() for f in dataset_files}
    speed = _load_json(speed_file) if speed_file else None
    machine = speed["machine"] if speed else machine_info()
    provenance = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "machine": machine_line(machine), "code_version": code_version(),
                  "config_hash": config_hash(config)}
    text = render_summary(datasets, [_load_json(f) for f in score_files],
                          [_load_json(f) for f in transient_files], speed, provenance)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
