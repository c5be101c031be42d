"""Rule geometry: build one domain on the configured grid and write it."""

from glacier.geometry import build_domain
from glacier.io import write_dataset
from glacier.progress import log_to_file
from glacier.validation import validate_state

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
state = validate_state(build_domain(sm.params.spec, sm.params.grid))
state.attrs["domain"] = sm.wildcards.domain
write_dataset(state, sm.output[0])
log.info("domain %s: %d x %d cells", sm.wildcards.domain, state.sizes["x"], state.sizes["y"])
