"""Rule century_run: one held-out glacier evolved by one driver, in resumable chunks."""

from pathlib import Path

import xarray as xr

from glacier.evolve import EvolveSettings
from glacier.fields import complete_state
from glacier.flow import flow_model_from_spec, get_flow_model
from glacier.progress import log_to_file
from evaluation.century import driver_run, file_digest, warming_climate

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
with xr.open_dataset(sm.input.run) as run:
    last = run.isel(time=-1).load()
state = complete_state(last[["thk", "usurf", "topg", "icemask", "arrhenius", "slidingco"]])
settings = EvolveSettings(**sm.params.simulation)
climate = warming_climate(sm.params.climate, float(last.time), settings.years,
                          sm.params.ela_rise)
identity = {"driver": sm.wildcards.driver, "start": f"{Path(sm.input.run).name} at "
            f"t = {float(last.time):g} a"}
if sm.params.instructor is None:
    model = flow_model_from_spec(sm.input.model[0], out_of_range="warn")
    identity["weights"] = file_digest(Path(sm.input.model[0]) / "model.keras")
else:
    spec = sm.params.instructor
    model = get_flow_model(spec["model"], **spec.get("options", {}))
    identity["instructor"] = spec
result = driver_run(state, model, climate, settings, sm.output[0],
                    sm.params.chunk_years, identity)
log.info("century %s on %s: %g a in %.1f s, end volume %.4f km3%s", sm.wildcards.driver,
         sm.wildcards.domain, float(result.time[-1]), result.attrs["wall_time_s"],
         float(result.volume[-1]) / 1e9,
         f", stopped {result.attrs['stopped']}" if "stopped" in result.attrs else "")
