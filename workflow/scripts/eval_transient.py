"""Rule transient: the emulator and its instructor from the same initial state and climate."""

import json
from pathlib import Path

import xarray as xr

from glacier.evolve import EvolveSettings
from glacier.fields import complete_state
from glacier.flow import flow_model_from_spec, get_flow_model
from glacier.metrics import json_ready
from glacier.progress import log_to_file
from glacier.smb import ElaSmb
from evaluation.figures import thickness_maps, volume_plot
from evaluation.transient import transient_comparison

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
with xr.open_dataset(sm.input.run) as run:
    first = run.isel(time=0).load()
state = complete_state(first[["thk", "usurf", "topg", "icemask", "arrhenius", "slidingco"]])
spec = sm.params.instructor
reference = get_flow_model(spec["model"], **spec.get("options", {}))
settings = EvolveSettings(**sm.params.simulation)
numbers, run, ref = transient_comparison(state, flow_model_from_spec(sm.input.model), reference,
                                         ElaSmb(**sm.params.climate), settings)
numbers.update(reference=sm.wildcards.instructor, domain=sm.wildcards.domain,
               initial_state=f"{sm.input.run} at t = {float(first.time):g} a",
               velocity_interval_a=settings.velocity_interval)
Path(sm.output.numbers).write_text(json.dumps(json_ready(numbers), indent=2) + "\n")
volume_plot(numbers, sm.output.volume)
thickness_maps(run.x, run.y, run.thk.values[-1], ref.thk.values[run.sizes["time"] - 1],
               sm.output.thickness,
               labels=(numbers["model"], numbers["reference"]))
log.info("transient %s vs %s: max |dV/V| %.4g, end thk RMSE %.3g m, %.3g s vs %.3g s",
         numbers["model"], numbers["reference"], numbers["max_abs_rel_volume_diff"],
         numbers["end_thk_rmse_m"], numbers["seconds"], numbers["reference_seconds"])
