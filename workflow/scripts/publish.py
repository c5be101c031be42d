"""Rule publish: a new library version of one emulator, recorded in a small JSON file."""

import json
from pathlib import Path

from emulator.publish import publish
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
bundle = publish(sm.input.model, sm.params.library, data=sm.input.store)
manifest = json.loads((bundle / "manifest.json").read_text())
record = {"bundle": str(bundle), "version": manifest["version"], "scores": manifest["scores"]}
Path(sm.output[0]).write_text(json.dumps(record, indent=2))
log.info("published %s", bundle)
