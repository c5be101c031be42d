"""Rule start_state: one glacier's start state (on a bed estimated again when the rule gives
``thickness``) under its own A and c, solved once by every instructor."""

from glacier.datagen import sample_parameters, solve_start
from glacier.fields import grid_spacing
from glacier.geometry import reestimated_glacier
from glacier.io import read_state, write_dataset
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
state = read_state(sm.input[0])
if sm.params.thickness is not None:
    state = reestimated_glacier(state, **sm.params.thickness)
    log.info("thickness estimated again (%s): up to %.0f m", sm.params.thickness,
             float(state.thk.max()))
params = sample_parameters(sm.params.parameters, sm.params.seed, sm.params.draw,
                           sm.wildcards.domain, state.thk.shape, grid_spacing(state))
run = solve_start(state, params, dict(sm.params.instructors), sm.params.driver)
run.attrs.update(domain=sm.wildcards.domain, climate_name="start",
                 param_sample=int(sm.wildcards.sample), seed=sm.params.seed)
write_dataset(run, sm.output[0])
for name in sm.params.instructors:
    log.info("%s: %s in %.1f s", name,
             "converged" if bool(run[f"{name}_converged"].values[0]) else "did not converge",
             float(run[f"{name}_seconds"].values[0]))
