"""Rule century_compare: one glacier's century runs against the reference driver's."""

import json
from pathlib import Path

import xarray as xr

from glacier.metrics import json_ready
from glacier.progress import log_to_file
from evaluation.century import compare_drivers, table
from evaluation.figures import century_figure

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
runs = {}
for driver, path in zip(sm.params.drivers, sm.input.runs):
    with xr.open_dataset(path) as ds:
        runs[driver] = ds.load()
reference = sm.params.reference
rows = compare_drivers(runs, reference)
Path(sm.output.numbers).write_text(json.dumps(json_ready(rows), indent=2) + "\n")
Path(sm.output.table).write_text(
    f"# Century runs of {sm.wildcards.domain} against {reference}\n\n" + table(rows, reference))
century_figure(runs, reference, sm.output.figure, title=sm.wildcards.domain)
for r in rows:
    log.info("%s: %g a, %.1f s, end dV/V %+.3g, end thk RMSE %.3g m", r["driver"],
             r["years_reached"], r["seconds"], r["end_rel_volume_diff"], r["end_thk_rmse_m"])
