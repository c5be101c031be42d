"""Rule score: an emulator against its instructor on the test split, per glacier, with maps."""

import json
from pathlib import Path

from glacier.dataset import open_store
from glacier.errors import InputError
from glacier.flow import flow_model_from_spec
from glacier.metrics import json_ready
from glacier.progress import log_to_file
from glacier.provenance import provenance
from evaluation.figures import error_maps
from evaluation.report import write_score_csv
from evaluation.score import last_samples, score_store, store_state, store_velocity

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
data = open_store(sm.input.store)
model = flow_model_from_spec(sm.input.model)
result = score_store(data, model, split="test")
result.update(store=sm.input.store, emulator=sm.input.model, provenance=provenance(sm.params.config))
Path(sm.output.scores).write_text(json.dumps(json_ready(result), indent=2) + "\n")
write_score_csv([json_ready(result)], sm.output.table)
latest = last_samples(data, "test")
for domain, path in zip(sm.params.domains, sm.output.maps):
    if domain not in latest:
        raise InputError(f"test glacier '{domain}' has no sample in {sm.input.store}")
    state = store_state(data, latest[domain])
    error_maps(state.x, state.y, state.thk.values, model.velocity(state),
               store_velocity(data, latest[domain]), path,
               title=f"{domain}, t = {float(data.time[latest[domain]]):.0f} a: {model.name} "
                     f"vs {result['reference']}")
log.info("%s vs %s: fidelity %s", model.name, result["reference"], result["all"]["fidelity"])
