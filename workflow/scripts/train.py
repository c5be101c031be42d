"""Rule train: train (or resume) in the work folder, then move the result into place."""

import shutil
from pathlib import Path

from emulator.train import train
from glacier.io import atomic_path
from glacier.progress import log_to_file

sm = snakemake  # noqa: F821
log = log_to_file(sm.log[0])
workdir = Path(sm.params.workdir)
summary = train(sm.input.store, dict(sm.params.training), workdir, verbose=2, replace_stale=True)
with atomic_path(sm.output[0]) as tmp:
    shutil.copytree(workdir, tmp, ignore=shutil.ignore_patterns("checkpoints"))
log.info("trained %s: %d epochs, validation %s", sm.output[0], summary["epochs_run"],
         summary["val_scores"])
