"""The training levers of the emulators, measured: one training per lever on the same store,
scored on the same held-out glaciers; prints a table (run it, do not import it).

Each lever is a set of overrides of the training config (``LEVERS``, keys of
emulator/config.py TrainConfig): the base config is the ``training`` section of a workflow
config file, filled with the schema's defaults, so ``baseline`` is what the workflow trains.
A lever's training goes to ``<out>/<lever>`` and is resumed or reused if it is there. Columns:
the lever, its overrides, epochs run (best epoch), training wall time, parameters, the
velbar fidelity on the validation glaciers and, on the test glaciers (the store's ``test``
split: glaciers no training saw), the fidelity of velbar, velsurf and velbase (1 - sum|e| /
sum|u_ref| over the ice, glacier/metrics.py) and the inference time (ms) of one state of the
store's grid (median of 5, after a first call).

    python evaluation/bench_levers.py --store results/data/stokes.zarr \\
        --config config/config.yaml --out results/levers/stokes [--levers a,b] [--json]
"""

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

LEVERS = {
    "baseline": {},
    "relative_l1": {"loss": "relative_l1"},
    "physical_scales": {"scaling": "physical"},
    "sia_input": {"sia_input": True},
    "symmetrize": {"symmetrize": True},
    "all_four": {"loss": "relative_l1", "scaling": "physical", "sia_input": True,
                 "symmetrize": True},
}
"""Lever name -> training config overrides (emulator/config.py TrainConfig keys)."""


def base_config(config_file: str) -> dict:
    """The ``training`` section of a workflow config, with the schema's defaults filled in."""
    import yaml
    from glacier.schema import defaults
    section = yaml.safe_load(Path(config_file).read_text()).get("training", {})
    return {**defaults("training"), **section, "mlflow": False}


def inference_ms(model, data) -> float:
    """Median wall time (ms) of 5 predictions of one whole state of the store's grid."""
    shape = (1, data.sizes["y"], data.sizes["x"], model.inputs[0].shape[-1])
    x = np.ones(shape, dtype="float32")
    model.predict_on_batch(x)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def measure(store: str, config: dict, out: Path) -> dict:
    from emulator.train import evaluate, train
    from emulator.zoo import load_model
    from glacier.dataset import open_store

    summary = train(store, config, out, verbose=0)
    data = open_store(store)
    model = load_model(out / "model.keras", compile=False)
    test = evaluate(model, data, "test", config["inputs"], config["outputs"],
                    config["ice_threshold"], config["batch_size"])
    return {"epochs_run": summary["epochs_run"], "best_epoch": summary["best_epoch"],
            "train_s": summary["train_seconds"], "parameters": summary["parameters"],
            "val_velbar": summary["val_scores"].get("fidelity_velbar"),
            "test": {k: test.get(f"fidelity_{k}") for k in ("velbar", "velsurf", "velbase")},
            "test_samples": test["samples"], "ms": inference_ms(model, data)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="an instructor's Zarr store")
    parser.add_argument("--config", default="config/config.yaml",
                        help="workflow config whose training section is the baseline")
    parser.add_argument("--out", required=True, help="folder of the trainings (one per lever)")
    parser.add_argument("--levers", default=",".join(LEVERS), help="comma-separated names")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    names = args.levers.split(",")
    unknown = sorted(set(names) - set(LEVERS))
    if unknown:
        parser.error(f"unknown lever(s) {unknown}; known: {sorted(LEVERS)}")
    base = base_config(args.config)
    from glacier.provenance import machine_info
    info = machine_info()
    print(f"# Training levers on {args.store} ({datetime.date.today()}, {platform.node()}, "
          f"{info['cores']} cores, keras {info.get('keras')}, base: training of {args.config})\n")
    print("| lever | overrides | epochs (best) | train s | parameters | val velbar | "
          "test velbar | test velsurf | test velbase | ms / state |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []

    def cell(value):
        return "-" if value is None else f"{value:.3f}"

    for name in names:
        row = {"lever": name, "overrides": LEVERS[name],
               **measure(args.store, {**base, **LEVERS[name]}, Path(args.out) / name)}
        rows.append(row)
        t = row["test"]
        print(f"| {name} | {json.dumps(LEVERS[name]) if LEVERS[name] else '-'} | "
              f"{row['epochs_run']} ({row['best_epoch']}) | {row['train_s']:.0f} | "
              f"{row['parameters']} | {cell(row['val_velbar'])} | {cell(t['velbar'])} | "
              f"{cell(t['velsurf'])} | {cell(t['velbase'])} | {row['ms']:.1f} |", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
