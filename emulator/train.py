"""Training an emulator on one instructor's store: ``train(store, config, out_dir)``.

Writes into ``out_dir``: ``model.keras`` (the best model: lowest validation loss),
``training.json`` (config, dataset identity, scales, trained ranges, history, validation
scores, timings, code version), ``history.csv``, ``learning_curve.png`` and
``checkpoints/`` (see emulator.checkpoint). Rerunning on an interrupted ``out_dir`` resumes
from the last finished epoch; on a finished one it returns the saved summary. A training given
a time limit stops after the first epoch that ends past it and writes the same files with
``complete: false`` in the summary (the best model so far); a rerun resumes it.
"""

import csv
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from glacier.dataset import open_store
from glacier.errors import InputError
from glacier.figures import pyplot, save_figure
from glacier.provenance import code_version
from emulator.config import TrainConfig, init_path, load_config
from emulator.data import field_scales, split_labels, trained_ranges
from emulator.metrics import FidelityAccumulator

log = logging.getLogger("icebench")
SUMMARY = "training.json"


def configure_determinism(seed: int, deterministic: bool) -> None:
    """Seed Python, NumPy and the backend; with ``deterministic``, make TensorFlow's ops
    deterministic (same seed, same weights on the same machine)."""
    import keras
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()


def compile_model(model, config: TrainConfig, steps_per_epoch: int, dx: float | None = None
                  ) -> None:
    """Adam with the configured schedule, the masked loss and per-field RMSE metrics (or, for
    ``loss: energy``, the first-order energy on a grid of spacing ``dx``, m, and no metric)."""
    import keras
    from emulator.energy import level_heights
    from emulator.losses import EnergyLoss, MaskedRMSE, MaskedVelocityLoss

    lr = config.learning_rate
    if config.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch),
            alpha=config.min_lr_fraction)
    if config.loss == "energy":
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                      loss=EnergyLoss(config.inputs, dx, level_heights(config.levels)))
        return
    metrics = [MaskedRMSE(None, name="ice_rmse")]
    metrics += [MaskedRMSE(i, name=f"rmse_{f}") for i, f in enumerate(config.outputs)]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss=MaskedVelocityLoss(config.weights(), config.loss, config.pairs()),
                  metrics=metrics)


def evaluate(model, data, split: str, inputs: list[str], outputs: list[str],
             ice_threshold: float = 1.0, batch_size: int = 8) -> dict:
    """Fidelity and relative L2 error (see emulator.metrics) of ``model`` on whole glaciers
    of one split of an opened store, plus the split's sample count."""
    import keras
    from emulator.batches import make_batches

    batches = make_batches(data, split, inputs, outputs, batch_size, ice_threshold=ice_threshold)
    acc = FidelityAccumulator(outputs)
    for i in range(len(batches)):
        x, y = batches[i]
        pred = keras.ops.convert_to_numpy(model(x, training=False))
        acc.add(pred, y[..., :-1], y[..., -1] > 0.5)
    return {**acc.scores(), "samples": int(len(batches.indices))}


def learning_curve(history: list[dict], path: Path, title: str) -> Path:
    """PNG of the training and validation loss and the learning rate per epoch."""
    plt = pyplot()

    epochs = [h["epoch"] + 1 for h in history]
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(6, 5.5), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1]})
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if all(key in h for h in history):
            ax.semilogy(epochs, [h[key] for h in history], marker=".", label=label)
    ax.set_ylabel("masked loss (m a-1)^2 or m a-1")
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    ax_lr.semilogy(epochs, [h["lr"] for h in history], color="gray")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("epoch")
    return save_figure(fig, path)


def _write_history(history: list[dict], path: Path) -> None:
    keys = sorted({k for h in history for k in h}, key=lambda k: (k != "epoch", k))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)


def time_limit(seconds: float):
    """A Keras callback that stops the fit after the first epoch ending ``seconds`` (wall
    clock) after the fit began; its ``reached`` says whether it did."""
    import keras

    class TimeLimit(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.reached, self.t0 = False, None

        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.t0 >= seconds:
                self.reached = self.model.stop_training = True

    return TimeLimit()


def _stale(finished: dict | None, state: dict | None, meta: dict) -> str:
    """Why a training found in the work folder (its ``training.json`` summary ``finished``, or
    its checkpoint ``state``) is not the one ``meta`` (config and dataset hash) asks for; ""
    if it is, or if there is none."""
    if finished is not None:
        found = {"config": finished.get("config"), "content_hash": finished.get("content_hash")}
    else:
        found = state["meta"] if state is not None else meta
    if found["content_hash"] != meta["content_hash"]:
        return "trained on another dataset"
    return "" if found["config"] == meta["config"] else "another training config"


def _single_spacing(data, need: str) -> float:
    """The one grid spacing (m) of a store's samples, which ``need`` (the energy loss, the
    coupling lengths) requires."""
    import numpy as np
    spacings = np.unique(np.round(data.dx.values, 6))
    if len(spacings) != 1:
        raise InputError(f"{need} needs samples of one grid spacing, the store has "
                         f"{spacings.tolist()} m")
    return float(spacings[0])


def initial_model(config: TrainConfig, instructor: str | None):
    """The model that ``config.init`` names (a bundle, a training folder or a .keras file; the
    model inside a symmetry average; ``{instructor}`` in the path is replaced by the store's
    instructor), checked to read the config's inputs and give its outputs, to be trained
    further: its architecture and field scales are kept, those of the config are not used."""
    from emulator.model import resolve
    from emulator.zoo import field_scaling, level_names, load_model, trainable_core
    init = init_path(config.init, instructor)
    model_file, _ = resolve(init)
    model = trainable_core(load_model(model_file, compile=False))
    inputs, outputs = (list(d) for d in field_scaling(model))
    wanted = level_names(config.levels) if config.level_velocities else list(config.outputs)
    if inputs != list(config.inputs) or outputs != wanted:
        raise InputError(f"the initial model '{init}' maps {inputs} to {outputs}, the "
                         f"config {list(config.inputs)} to {wanted}")
    return model


def train(store, config=None, out_dir="results/emulators/run", callbacks=(),
          verbose: int | None = None, replace_stale: bool = False,
          time_limit_s: float | None = None) -> dict:
    """Train (or resume, or return the finished summary of) an emulator; see the module doc.

    ``store``: path of an instructor's Zarr store; ``config``: TrainConfig, dict, file path
    or None; ``callbacks``: extra Keras callbacks (run after the checkpointing);
    ``time_limit_s``: stop after the first epoch that ends this many seconds (wall clock)
    into the fit, keeping what a finished training keeps with ``complete: false``;
    ``verbose``: Keras progress (default: a bar on a terminal, a line per epoch otherwise).
    ``replace_stale``: delete a training in ``out_dir`` made for another config or dataset
    and start afresh (the DAG's work folders), instead of raising InputError.
    Returns the summary written to ``training.json``.
    """
    import keras
    from emulator.batches import make_batches
    from emulator.checkpoint import EpochSetter, ResumableCheckpoint, read_state
    from emulator.energy import level_heights
    from emulator.layers import COMPRESSED_SPEED
    from emulator.zoo import (build_model, field_scaling, level_names, load_model, symmetrized,
                              with_velocity_fields)

    config = config if isinstance(config, TrainConfig) else load_config(config)
    out = Path(out_dir)
    summary_path = out / SUMMARY
    data = open_store(store)
    missing = [f for f in [*config.inputs, *config.outputs] if f != "dx" and f not in data]
    if missing:
        raise InputError(f"store '{store}' lacks field(s) {missing}")
    meta = json.loads(json.dumps({"config": config.to_dict(),
                                  "content_hash": data.attrs.get("content_hash")}))
    ckpt_dir = out / "checkpoints"
    finished = json.loads(summary_path.read_text()) if summary_path.exists() else None
    if finished is not None and not finished.get("complete", True):
        finished = None
    state = read_state(ckpt_dir)
    stale = _stale(finished, state, meta)
    if stale and not replace_stale:
        raise InputError(f"'{out}' holds a different training ({stale}); choose another --out "
                         "or delete it")
    if stale:
        log.warning("discarding the training in %s: %s", out, stale)
        shutil.rmtree(out)
        finished = state = None
    if finished is not None:
        log.info("%s is finished: %s", out, summary_path)
        return finished
    configure_determinism(config.seed, config.deterministic)

    energy = config.loss == "energy"
    targets = "inputs" if energy else "velocities"
    train_data = make_batches(data, "train", config.inputs, config.outputs, config.batch_size,
                              config.patch_size, config.augment, shuffle=True, seed=config.seed,
                              ice_threshold=config.ice_threshold, workers=config.workers,
                              targets=targets, runs_fraction=config.train_fraction,
                              repeats=config.epoch_repeats)
    val_data = make_batches(data, "val", config.inputs, config.outputs, config.batch_size,
                            ice_threshold=config.ice_threshold, workers=config.workers,
                            targets=targets)
    in_scales = field_scales(data, config.inputs, config.scales, config.scaling)
    out_scales = ([COMPRESSED_SPEED] * len(config.outputs) if config.log_outputs else
                  field_scales(data, config.outputs, config.scales, config.scaling))
    dx = _single_spacing(data, "the energy loss") if energy else None
    coupling = ([length / _single_spacing(data, "sia_coupling") for length in config.sia_coupling]
                if config.sia_coupling and not config.init else [])
    zeta = level_heights(config.levels)
    if state is None:
        if config.init:
            model = initial_model(config, data.attrs.get("instructor"))
            in_scales, out_scales = (list(d.values()) for d in field_scaling(model))
        elif config.level_velocities:
            levels = level_names(config.levels)
            model = build_model(config.architecture, config.inputs, levels, in_scales,
                                [max(out_scales)] * len(levels), config.model,
                                sia_input=config.sia_input, sia_coupling=coupling,
                                log_outputs=config.log_outputs)
        else:
            model = build_model(config.architecture, config.inputs, config.outputs, in_scales,
                                out_scales, config.model, sia_input=config.sia_input,
                                sia_coupling=coupling, log_outputs=config.log_outputs)
        if config.level_head and not energy:
            model = with_velocity_fields(model, zeta)
        compile_model(model, config, len(train_data), dx)
        initial_epoch = 0
    else:
        model = load_model(ckpt_dir / state["checkpoint"])
        initial_epoch = state["epoch"] + 1
        log.info("resuming %s after epoch %d", out, initial_epoch)
    checkpoint = ResumableCheckpoint(ckpt_dir, config.patience, meta, state)
    done = checkpoint.state["stopped_early"] or initial_epoch >= config.epochs
    limit = time_limit(time_limit_s) if time_limit_s is not None else None
    t0 = time.perf_counter()
    if not done:
        if verbose is None:
            verbose = 1 if sys.stderr.isatty() else 2
        model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                  initial_epoch=initial_epoch, verbose=verbose, shuffle=False,
                  callbacks=[EpochSetter(train_data), checkpoint, *callbacks,
                             *([limit] if limit else [])])
    fit_seconds = time.perf_counter() - t0
    state = checkpoint.state
    best = load_model(ckpt_dir / "best.keras", compile=False)
    if energy:
        best = with_velocity_fields(best, zeta)
    if config.level_velocities:
        out_scales = [max(out_scales)] * len(config.outputs)
    if config.symmetrize:
        best = symmetrized(best, config.inputs, config.outputs)
    best.save(out / "model.keras")
    history = state["history"]
    val_scores = evaluate(best, data, "val", config.inputs, config.outputs,
                          config.ice_threshold, config.batch_size)
    _write_history(history, out / "history.csv")
    learning_curve(history, out / "learning_curve.png",
                   f"{data.attrs.get('instructor')} emulator, {config.architecture}")
    summary = {
        "instructor": data.attrs.get("instructor"),
        "store": str(Path(store).resolve()),
        "content_hash": data.attrs.get("content_hash"),
        "dataset": {k: data.attrs.get(k) for k in ("config_hash", "seed", "code_version",
                                                   "format_version")},
        "samples": {s: int((split_labels(data) == s).sum()) for s in ("train", "val", "test")},
        "train_samples_used": len(train_data.indices),
        "grid": [int(data.sizes["y"]), int(data.sizes["x"])],
        "config": config.to_dict(),
        "parameters": int(best.count_params()),
        "input_scales": dict(zip(config.inputs, in_scales)),
        "output_scales": dict(zip(config.outputs, out_scales)),
        "trained_ranges": trained_ranges(data, config.ice_threshold, train_data.indices),
        "epochs_run": len(history),
        "complete": not (limit is not None and limit.reached
                         and len(history) < config.epochs and not state["stopped_early"]),
        "best_epoch": state["best_epoch"],
        "stopped_early": state["stopped_early"],
        "history": history,
        "val_scores": val_scores,
        "train_seconds": float(sum(h["seconds"] for h in history)),
        "last_fit_seconds": fit_seconds,
        "code_version": code_version(),
        "backend": keras.backend.backend(),
    }
    if config.mlflow:
        from emulator.tracking import log_training
        summary["mlflow"] = log_training(summary, out, best)
    (out / SUMMARY).write_text(json.dumps(summary, indent=1, default=float))
    log.info("trained %s: %d epochs, val fidelity %s", out, len(history),
             {k: round(v, 4) for k, v in val_scores.items() if k.startswith("fidelity")})
    return summary
