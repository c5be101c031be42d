"""Rule simulate: grow a glacier with the configured flow model and write its snapshots."""

from glacier.evolve import EvolveSettings, evolve
from glacier.flow import get_flow_model
from glacier.io import read_state, write_dataset
from glacier.progress import log_to_file
from glacier.smb import ElaSmb


sm = snakemake  # noqa: F821
log_to_file(sm.log[0])
sim = dict(sm.params.simulation)
state = read_state(sm.input[0], arrhenius=sim.get("arrhenius"), slidingco=sim.get("slidingco"))
model = get_flow_model(sim["flow_model"], **sim.get("flow_options", {}))
settings = EvolveSettings(years=sim["years"], output_interval=sim["output_interval"],
                          cfl=sim["cfl"], dt_max=sim["dt_max"],
                          velocity_interval=sim.get("velocity_interval", 0.0))
run = evolve(state, model, ElaSmb(**sm.params.climate), settings, show_progress=False)
run.attrs.update(domain=sm.wildcards.domain, climate=sm.wildcards.climate)
write_dataset(run, sm.output[0])
