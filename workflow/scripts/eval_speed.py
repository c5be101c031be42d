"""Rule speed: the speed ladder of every instructor and emulator on a test glacier."""

import json
from pathlib import Path

import xarray as xr

from glacier.fields import complete_state
from glacier.flow import flow_model_from_spec, get_flow_model
from glacier.metrics import json_ready
from glacier.progress import log_to_file
from evaluation.figures import speed_plot
from evaluation.speed import benchmark, format_table

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
with xr.open_dataset(sm.input.run) as run:
    last = run.isel(time=-1).load()
state = complete_state(last[["thk", "usurf", "topg", "icemask", "arrhenius", "slidingco"]])
models = {name: get_flow_model(spec["model"], **spec.get("options", {}))
          for name, spec in sm.params.instructors.items()}
for name, path in zip(sm.params.instructors, sm.input.models):
    models[f"emulator:{name}"] = flow_model_from_spec(path)
result = benchmark(state, models, list(sm.params.sizes), repeats=int(sm.params.repeats),
                   max_size=dict(sm.params.max_size))
result["input"] = f"{sm.input.run} at t = {float(last.time):g} a"
Path(sm.output.results).write_text(json.dumps(json_ready(result), indent=2) + "\n")
speed_plot(result["rows"], sm.output.plot)
log.info("\n%s", format_table(result["rows"]))
