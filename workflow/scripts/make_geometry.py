"""Rule geometry: build one domain and write it."""

from glacier.geometry import build_domain
from glacier.io import write_dataset
from glacier.progress import log_to_file
from glacier.validation import validate_state

log = log_to_file(snakemake.log[0])  # noqa: F821
state = validate_state(build_domain(snakemake.params.spec, snakemake.params.resolution))  # noqa: F821
state.attrs["domain"] = snakemake.wildcards.domain  # noqa: F821
write_dataset(state, snakemake.output[0])  # noqa: F821
log.info("domain %s: %d x %d cells", state.attrs["domain"], state.sizes["x"], state.sizes["y"])
