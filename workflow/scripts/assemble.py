"""Rule assemble: the runs and start states -> one Zarr store for one instructor."""

from pathlib import Path

from glacier.dataset import assemble_config, write_store
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
runs = {tuple(key): Path(path) for key, path in zip(sm.params.files, sm.input)}
data = assemble_config(sm.params.data, sm.wildcards.instructor, runs)
write_store(data, sm.output[0])
log.info("%s: %d samples, %d excluded (not converged), %d with ice on the domain border (%s)",
         sm.wildcards.instructor, data.sizes["sample"], data.attrs["excluded_total"],
         data.attrs["border_ice_total"], "kept" if data.attrs["keep_border_ice"] else "left out")
