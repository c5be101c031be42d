"""Rule train: train (or resume) in the work folder, then move the result into place."""

import shutil
import uuid
from pathlib import Path

from emulator.train import train
from glacier.io import replace_path
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
workdir = Path(sm.params.workdir)
summary = train(sm.input.store, dict(sm.params.training), workdir, verbose=2)
out = Path(sm.output[0])
tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
shutil.copytree(workdir, tmp, ignore=shutil.ignore_patterns("checkpoints"))
replace_path(tmp, out)
log.info("trained %s: %d epochs, validation %s", out, summary["epochs_run"], summary["val_scores"])
