"""Rule assemble: the runs -> one Zarr store for one instructor."""

from pathlib import Path

from glacier.dataset import assemble, assign_splits, write_store
from glacier.progress import log_to_file
from glacier.provenance import provenance

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
config = sm.params.data  # the data's slice of the config (rule assemble)
instructor = sm.wildcards.instructor
runs = {}
for path in map(Path, sm.input):
    domain, climate, sample = path.parent.parent.name, path.parent.name, int(path.stem[1:])
    runs[(domain, climate, sample)] = path
domains = sorted(config["domains"])
real = [d for d in domains if "topography" in config["domains"][d]]
splits = assign_splits(domains, list(config["splits"]["test"]), list(config["splits"].get("val", [])), real)
meta = provenance(config)
meta["solver_settings"] = config["instructors"][instructor]
data = assemble(runs, instructor, splits, meta, config["assembly"]["keep_border_ice"])
write_store(data, sm.output[0])
log.info("%s: %d samples, %d excluded (not converged), %d with ice on the domain border (%s)",
         instructor, data.sizes["sample"], data.attrs["excluded_total"],
         data.attrs["border_ice_total"], "kept" if data.attrs["keep_border_ice"] else "left out")
