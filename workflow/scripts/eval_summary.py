"""Rule summary: results/summary.md from the evaluation outputs."""

from glacier.progress import log_to_file
from evaluation.report import write_summary

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
write_summary(sm.output[0], list(sm.input.datasets), [*sm.input.scores, *sm.input.cross],
              list(sm.input.transient), sm.input.speed, sm.params.config)
log.info("wrote %s", sm.output[0])
