"""Rule cross_instructor: one instructor's store against another's on the same test snapshots."""

import json
from pathlib import Path

from glacier.dataset import open_store
from glacier.metrics import json_ready
from glacier.progress import log_to_file
from glacier.provenance import provenance
from evaluation.report import write_score_csv
from evaluation.score import score_store_pair

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
result = score_store_pair(open_store(sm.input.store), open_store(sm.input.reference), split="test")
result.update(store=sm.input.store, reference_store=sm.input.reference,
              provenance=provenance(sm.params.config))
Path(sm.output.scores).write_text(json.dumps(json_ready(result), indent=2) + "\n")
write_score_csv([json_ready(result)], sm.output.table)
log.info("%s vs %s: fidelity %s (%d unmatched snapshots)", result["model"], result["reference"],
         result["all"]["fidelity"], result["unmatched"])
