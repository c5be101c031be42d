"""``icebench train``, ``icebench publish`` and ``icebench mlflow-init``.

Imports nothing heavy at import time: Keras, TensorFlow and MLflow load when a command runs.
"""

import json


def cmd_train(args) -> int:
    from emulator.config import load_config
    from emulator.train import train

    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed),
                                   ("tracking_uri", args.tracking_uri), ("init", args.init))
                 if v is not None}
    if args.no_mlflow:
        overrides["mlflow"] = False
    config = load_config(args.config, **overrides)
    summary = train(args.data, config, args.out, time_limit_s=args.time_limit)
    scores = {k: round(v, 4) for k, v in summary["val_scores"].items() if k != "samples"}
    stopped = "" if summary.get("complete", True) else " (time limit: rerun to resume)"
    print(f"trained {args.out}: {summary['config']['architecture']}, {summary['parameters']} "
          f"parameters, {summary['epochs_run']} epochs in {summary['train_seconds']:.1f} s"
          f"{stopped}; validation {json.dumps(scores)}")
    return 0


def cmd_publish(args) -> int:
    from emulator.publish import publish

    bundle = publish(args.model, args.out, data=args.data, version=args.version, notes=args.notes)
    manifest = json.loads((bundle / "manifest.json").read_text())
    test = {k: round(v, 4) for k, v in manifest["scores"]["test"].items() if k != "samples"}
    print(f"published {bundle}: test {json.dumps(test)}")
    return 0


def cmd_mlflow_init(args) -> int:
    from emulator.tracking import init_tracking

    print(f"tracking store ready: {init_tracking(args.tracking_uri)}")
    return 0


def add_commands(sub, verify_sub) -> None:
    """Add ``train``, ``publish`` and ``mlflow-init`` to the icebench subcommands."""
    from emulator.tracking import DEFAULT_TRACKING_URI

    p = sub.add_parser("train", help="train a CNN emulator on an instructor's Zarr store")
    p.add_argument("--data", required=True, help="store, e.g. results/data/hybrid.zarr")
    p.add_argument("--config", help="training config (YAML/JSON); default: the paper's CNN")
    p.add_argument("--out", required=True, help="output folder (resumes if interrupted)")
    p.add_argument("--epochs", type=int, help="override the config's epochs")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--init", help="fine-tune a trained emulator: a bundle (e.g. library/hybrid/"
                                  "v001), a training folder or a .keras file")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop after the first epoch ending this long into the fit and save "
                        "the best model so far; a rerun resumes")
    p.add_argument("--tracking-uri", help=f"MLflow tracking URI (default {DEFAULT_TRACKING_URI})")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("publish", help="publish a trained emulator as a versioned bundle")
    p.add_argument("--model", required=True, help="training output folder (icebench train --out)")
    p.add_argument("--out", required=True, help="library folder, e.g. library")
    p.add_argument("--data", help="the store trained on, if moved since training")
    p.add_argument("--version", help="bundle version (default: next vNNN)")
    p.add_argument("--notes", help="markdown file shown in the model card after the scores "
                                   "(e.g. scores on held-out glaciers outside the store)")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("mlflow-init", help="create the MLflow tracking store once, before "
                                           "parallel trainings")
    p.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI)
    p.set_defaults(func=cmd_mlflow_init)
