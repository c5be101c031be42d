"""Rule simulate: one transient run with every instructor on its snapshots."""

from glacier.datagen import sample_parameters, simulate_run
from glacier.fields import grid_spacing
from glacier.io import read_state, write_dataset
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
state = read_state(sm.input[0])
sample = int(sm.wildcards.sample)
params = sample_parameters(sm.params.parameters, sm.params.seed, sample, sm.wildcards.domain,
                           state.thk.shape, grid_spacing(state))
run = simulate_run(state, dict(sm.params.climate), params, dict(sm.params.simulation),
                   dict(sm.params.instructors), sm.params.driver)
run.attrs.update(domain=sm.wildcards.domain, climate_name=sm.wildcards.climate,
                 param_sample=sample, seed=sm.params.seed)
write_dataset(run, sm.output[0])
for name in sm.params.instructors:
    ok, solved = run[f"{name}_converged"].values, run[f"{name}_solved"].values
    log.info("%s: %d of %d snapshots solved converged", name, int(ok.sum()), int(solved.sum()))
log.info("%d of %d snapshots with ice on the domain border", int(run.touches_border.sum()),
         run.sizes["time"])
