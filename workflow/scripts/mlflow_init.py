"""Rule mlflow_init: create the tracking store."""

from emulator.tracking import init_tracking
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log_to_file(sm.log[0]).info("tracking store ready: %s", init_tracking(sm.params.uri))
