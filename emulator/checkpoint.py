"""Resumable training state: per-epoch checkpoints, early stopping, the learning history.

``<out>/checkpoints/`` holds ``epoch-NNNN.keras`` (the model with its optimizer state, the
learning-rate schedule position included), ``best.keras`` (the model with the lowest
validation loss so far) and ``state.json``: the last finished epoch, the checkpoint file,
the early-stopping counters and the history (one dict of metrics per epoch). Files are
written under temporary names and moved into place, the state last, so a run killed at any
moment resumes from the last complete epoch.
"""

import json
import time
from pathlib import Path

import keras

from glacier.io import atomic_path

STATE = "state.json"


def read_state(directory: Path) -> dict | None:
    """The saved state of a training in ``directory``, or None if it never finished an epoch."""
    path = Path(directory) / STATE
    return json.loads(path.read_text()) if path.exists() else None


def write_json_atomic(data: dict, path: Path) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=float))


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """``model.save`` to ``path`` (.keras) via a temporary file and a rename."""
    with atomic_path(path) as tmp:
        model.save(tmp)


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves a checkpoint and the state after every epoch; stops training after ``patience``
    epochs without a lower ``val_loss`` (early stopping that survives a restart).

    ``state``: the state read from a previous, interrupted run (None for a fresh one);
    ``meta``: what identifies the training (config, data hash), kept in the state so a
    different training cannot resume from it.
    """

    def __init__(self, directory: Path, patience: int, meta: dict, state: dict | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.patience = int(patience)
        self.state = state or {"meta": meta, "epoch": -1, "checkpoint": None, "best": None,
                               "best_epoch": None, "wait": 0, "stopped_early": False,
                               "history": []}
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        lr = self.model.optimizer.learning_rate
        logs["lr"] = float(keras.ops.convert_to_numpy(lr))
        logs["seconds"] = time.perf_counter() - self._t0
        state = self.state
        state["history"].append({"epoch": epoch, **logs})
        val = logs.get("val_loss", logs.get("loss"))
        if state["best"] is None or val < state["best"]:
            state.update(best=val, best_epoch=epoch, wait=0)
            save_model_atomic(self.model, self.directory / "best.keras")
        else:
            state["wait"] += 1
        name = f"epoch-{epoch:04d}.keras"
        save_model_atomic(self.model, self.directory / name)
        previous = state["checkpoint"]
        state.update(epoch=epoch, checkpoint=name)
        if state["wait"] >= self.patience:
            state["stopped_early"] = True
            self.model.stop_training = True
        write_json_atomic(state, self.directory / STATE)
        if previous and previous != name:
            (self.directory / previous).unlink(missing_ok=True)


class EpochSetter(keras.callbacks.Callback):
    """Tells a GlacierBatches which epoch is starting (its shuffling and augmentation are
    functions of the seed and the epoch)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.epoch = epoch
