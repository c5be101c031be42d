"""MLflow tracking of emulator trainings.

The tracking URI comes from the training config (default an SQLite file,
``sqlite:///results/mlflow/mlflow.db``; ``MLFLOW_TRACKING_URI``-style remote servers such as
``http://host:5000`` work the same). Each instructor has one experiment,
``icebench-<instructor>``; each training is one run with its parameters, per-epoch metrics,
validation fidelity, learning curve and model, registered as the model ``icebench-<instructor>``
with the aliases ``current`` and ``<architecture>``.

First-time creation of an SQLite store runs MLflow's schema migrations; two trainings doing
that at once race. Call ``init_tracking(uri)`` (``icebench mlflow-init``) once before parallel
trainings, e.g. from a Snakemake rule of its own that the training rules depend on.
"""

import json
import logging
from pathlib import Path

log = logging.getLogger("icebench")

DEFAULT_TRACKING_URI = "sqlite:///results/mlflow/mlflow.db"
"""The default tracking store: embedded SQLite under results/."""


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def init_tracking(uri: str) -> str:
    """Create the tracking store at ``uri`` if needed (directory, SQLite schema) and return
    the URI. Safe to call again; not safe to call concurrently on a new SQLite file."""
    import mlflow
    from mlflow.tracking import MlflowClient

    path = _sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    return uri


def experiment(uri: str, name: str) -> str:
    """The id of experiment ``name``, created if needed; with an SQLite store its artefacts go
    to ``artifacts/<name>`` beside the database (not to ./mlruns of the working directory)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    path = _sqlite_path(uri)
    location = f"{(path.parent.resolve() / 'artifacts' / name).as_uri()}" if path else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by a parallel training
        return client.get_experiment_by_name(name).experiment_id


def model_signature(n_inputs: int, n_outputs: int):
    """MLflow signature with free batch, height and width: (-1, -1, -1, C) float32 tensors."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, n_inputs),
                                                    "fields")]),
                          outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, -1, n_outputs),
                                                     "velocities")]))


def log_training(summary: dict, out_dir: Path, model) -> dict:
    """Log a finished training (the summary of emulator.train) to MLflow; return the run id,
    experiment and registered model version."""
    import keras
    import mlflow
    from mlflow.tracking import MlflowClient

    config = summary["config"]
    uri = init_tracking(config["tracking_uri"])
    instructor = summary["instructor"]
    name = f"icebench-{instructor}"
    experiment(uri, name)
    mlflow.set_experiment(name)
    with mlflow.start_run(run_name=f"{config['architecture']}-seed{config['seed']}") as run:
        mlflow.log_params({
            "architecture": config["architecture"], "model_options": json.dumps(config["model"]),
            "data_hash": summary["content_hash"], "seed": config["seed"],
            "epochs": config["epochs"], "epochs_run": summary["epochs_run"],
            "batch_size": config["batch_size"], "patch_size": config["patch_size"],
            "learning_rate": config["learning_rate"], "lr_schedule": config["lr_schedule"],
            "loss": config["loss"], "augment": config["augment"],
            "inputs": ",".join(config["inputs"]), "outputs": ",".join(config["outputs"]),
            "parameters": summary["parameters"], "backend": summary["backend"],
            "code_version": summary["code_version"],
        })
        mlflow.set_tags({"instructor": instructor, "store": summary["store"]})
        for h in summary["history"]:
            mlflow.log_metrics({k: v for k, v in h.items() if k != "epoch"}, step=h["epoch"])
        mlflow.log_metrics({f"val_{k}": v for k, v in summary["val_scores"].items()
                            if k != "samples"})
        mlflow.log_metric("train_seconds", summary["train_seconds"])
        for artefact in ("learning_curve.png", "history.csv"):
            mlflow.log_artifact(str(Path(out_dir) / artefact))
        info = mlflow.keras.log_model(
            model, name="model",
            signature=model_signature(len(config["inputs"]), len(config["outputs"])),
            registered_model_name=name if config["register"] else None,
            pip_requirements=[f"keras=={keras.__version__}"])
    result = {"tracking_uri": uri, "experiment": name, "run_id": run.info.run_id}
    if config["register"] and info.registered_model_version is not None:
        version = str(info.registered_model_version)
        client = MlflowClient(tracking_uri=uri)
        for alias in ("current", config["architecture"]):
            client.set_registered_model_alias(name, alias, version)
        result.update(registered_model=name, version=version)
    log.info("mlflow: run %s in experiment %s (%s)", run.info.run_id, name, uri)
    return result
