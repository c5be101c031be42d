"""Publishing a trained emulator as a versioned bundle of the emulator library.

``publish(train_dir, library)`` writes ``<library>/<instructor>/vNNN/``:

- ``model.keras``: the full model (physical inputs -> velocities in m a-1, scaling inside);
- ``manifest.json``: see emulator.manifest (inputs/outputs with units and scales, validity,
  instructor settings, dataset hash, training config, val/test scores, code version, date),
  the ``lineage`` (every training the weights went through, followed back through ``init``)
  and the publisher's ``notes``;
- ``MODEL_CARD.md``, ``learning_curve.png`` and ``coverage.png`` (what the store covers: the
  histograms of glacier/coverage.py per split and held-out glacier);
- ``igm/<dx>/model.h5``, ``fieldin.dat``, ``fieldout.dat``: the IGM export (IGM's
  ``iceflow_v1`` layout: one folder per resolution in m; each ``.dat`` line is
  ``<field> <scale>``; IGM divides the inputs by their scales, runs ``model.h5`` and
  multiplies the outputs by theirs). A U-Net needs IGM's ``multiple_window_size`` set to
  the manifest's ``pad_multiple``. Models with the ``dx`` channel have no IGM export.
"""

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from glacier.coverage import coverage_figure
from glacier.dataset import open_store
from glacier.errors import InputError
from glacier.fields import FIELDS
from glacier.io import atomic_path
from glacier.provenance import code_version
from emulator.config import init_path
from emulator.manifest import GRID_SPACING, MANIFEST, MANIFEST_VERSION, validate_manifest
from emulator.metrics import PAIRS

UNITS = {**{k: v.units for k, v in FIELDS.items()}, GRID_SPACING: "m"}


def portable_path(path) -> str:
    """``path`` as a manifest records it: relative to the working directory when it lies below
    it (the workflow's ``results/``), else its name alone, never a machine's absolute path (the
    content hash beside it identifies the data)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def next_version(base: Path) -> str:
    """``v001`` for a new emulator, else one more than the highest existing version."""
    numbers = [int(p.name[1:]) for p in base.glob("v[0-9]*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:03d}"


def instructor_settings(data) -> dict:
    """The instructor's settings and the simulation settings from the store's provenance."""
    try:
        config = json.loads(data.attrs.get("config", "{}"))
    except (TypeError, json.JSONDecodeError):
        config = {}
    name = data.attrs.get("instructor")
    return {"name": name, "settings": config.get("instructors", {}).get(name, {}),
            "simulation": config.get("simulation", {}), "driver": config.get("driver")}


def lineage(train_dir) -> list[dict]:
    """The trainings a model went through, last first: for each, the store (path as
    ``portable_path`` writes it, content hash, samples per split), the epochs run and kept,
    the learning rate and the wall time; followed back through ``init`` while it names a
    training folder (a bundle ends the chain with its name and version, an initial model that
    no longer exists with its path and ``"missing": true``)."""
    from emulator.model import resolve
    chain, folder = [], Path(train_dir)
    while folder is not None:
        summary = json.loads((folder / "training.json").read_text())
        config = summary["config"]
        chain.append({"training": portable_path(folder), "store": portable_path(summary["store"]),
                      "content_hash": summary["content_hash"], "samples": summary["samples"],
                      "epochs_run": summary["epochs_run"], "best_epoch": summary["best_epoch"],
                      "learning_rate": config["learning_rate"],
                      "train_seconds": summary["train_seconds"]})
        folder = None
        init = config.get("init") and init_path(config["init"], summary["instructor"])
        if init and not Path(init).exists():
            chain.append({"training": portable_path(init), "missing": True})
        elif init:
            model_file, parent = resolve(init)
            if "manifest_version" in parent:
                chain.append({"bundle": f"{parent['name']} {parent['version']}"})
            elif (model_file.parent / "training.json").exists():
                folder = model_file.parent
    return chain


def _samples(counts: dict) -> str:
    return ", ".join(f"{split} {n}" for split, n in counts.items())


def _lineage_table(chain: list[dict]) -> str:
    rows = ["| step | training | store (content hash) | samples | epochs (kept) "
            "| learning rate | wall time |", "|---|---|---|---|---|---|---|"]
    for k, step in enumerate(reversed(chain), 1):
        if "bundle" in step or step.get("missing"):
            what = (f"bundle {step['bundle']}" if "bundle" in step
                    else f"`{step['training']}` (no longer there)")
            rows.append(f"| {k} | {what} | | | | | |")
            continue
        n = step["samples"]
        rows.append(f"| {k} | `{step['training']}` | `{step['store']}` "
                    f"({step['content_hash'][:8]}...) | {_samples(n)} "
                    f"| {step['epochs_run']} ({step['best_epoch'] + 1}) "
                    f"| {step['learning_rate']:g} | {step['train_seconds']:.0f} s |")
    return "\n".join(rows)


def write_dat(path: Path, names: list[str], scales: list[float]) -> None:
    """An IGM field list: one ``<name> <scale>`` line per field."""
    path.write_text("".join(f"{n} {s:f} \n" for n, s in zip(names, scales)))


def igm_export(model, directory: Path, inputs: list[str], outputs: list[str],
               in_scales: list[float], out_scales: list[float]) -> Path:
    """Write the core network as ``model.h5`` (Keras HDF5) with ``fieldin.dat`` and
    ``fieldout.dat`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    model.get_layer("core").save(directory / "model.h5")
    write_dat(directory / "fieldin.dat", inputs, in_scales)
    write_dat(directory / "fieldout.dat", outputs, out_scales)
    return directory


def _score_table(scores: dict) -> str:
    rows = ["| field | fidelity | relative L2 |", "|---|---|---|"]
    for pair, (u, v) in PAIRS.items():
        if f"fidelity_{pair}" in scores:
            rows.append(f"| {pair} ({u}, {v}) | {scores[f'fidelity_{pair}']:.4f} | "
                        f"{scores[f'rel_l2_{pair}']:.4f} |")
    return "\n".join(rows)


def model_card(m: dict) -> str:
    """The markdown model card of a manifest."""
    t, v = m["training"], m["valid"]
    io = "\n".join(f"| {e['name']} | {'input' if e in m['inputs'] else 'output'} | {e['units']} "
                   f"| {e['scale']:.4g} |" for e in [*m["inputs"], *m["outputs"]])
    igm = m.get("igm_export")
    igm_text = (f"`{igm['path']}/` (`model.h5`, `fieldin.dat`, `fieldout.dat`); in IGM set the "
                f"emulator folder to `{Path(igm['path']).parent}`"
                + (f" and `multiple_window_size` to {igm['multiple_window_size']}"
                   if igm["multiple_window_size"] > 1 else "")
                if igm else f"none ({m.get('igm_export_note', '')})")
    return f"""# {m['name']} {m['version']}

CNN emulator of the **{m['instructor']['name']}** instructor: maps
({', '.join(e['name'] for e in m['inputs'])}) to ({', '.join(e['name'] for e in m['outputs'])}),
on any grid, at the resolution(s) it was trained on. Published {m['created']}, code
{m['code_version']}.

## Model
- architecture: `{m['architecture']}` {json.dumps(t['config']['model'])}, {m['parameters']} parameters
- loss: masked {t['config']['loss']} over ice (thk > {m['ice_threshold_m']} m), m a-1;
  Adam {t['config']['learning_rate']:g} ({t['config']['lr_schedule']}), batch {t['config']['batch_size']},
  patches {t['config']['patch_size']}, augmentation {t['config']['augment']}, seed {t['config']['seed']}
- trained {t['epochs_run']} epochs (best {t['best_epoch'] + 1}) in {t['train_seconds']:.0f} s
  ({t['backend']} backend)

| field | role | units | scale |
|---|---|---|---|
{io}

## Lineage
Each step starts from the weights of the one above it (`init`); the last is this model.

{_lineage_table(m['lineage'])}

## Valid inputs
- grid spacing: {v['dx_m']} m (+-{100 * v['dx_tolerance']:g} %)
- arrhenius A: {v['arrhenius'][0]:.4g} .. {v['arrhenius'][1]:.4g} MPa-3 a-1 (over ice)
- slidingco c: {v['slidingco'][0]:.4g} .. {v['slidingco'][1]:.4g} MPa a1/3 m-1/3 (over ice)
- outside these: {m['out_of_range']}

## Data
Store hash `{m['dataset']['content_hash']}`, samples {_samples(m['dataset']['samples'])}, on a
{m['dataset']['grid'][0]} x {m['dataset']['grid'][1]} grid; split by glacier.
Coverage over the ice: thickness, surface slope, speed, A and c per split and per held-out glacier.

![data coverage](coverage.png)

## Scores (fidelity = 1 - sum|u_emu - u_ref| / sum|u_ref| over thk > {m['ice_threshold_m']} m, vector magnitudes)
### Test split
{_score_table(m['scores'].get('test', {}))}

### Validation split
{_score_table(m['scores'].get('val', {}))}
{chr(10) + m['notes'] + chr(10) if m.get('notes') else ''}

## Learning curve
![learning curve](learning_curve.png)

## Use
- icebench: `icebench solve --model <this folder> ...` or the flow model `emulator` with `path`.
- IGM export: {igm_text}.
"""


def publish(train_dir, library, data=None, version: str | None = None,
            notes=None) -> Path:
    """Publish the training in ``train_dir`` into ``library``; ``data`` overrides the store
    path recorded at training (for the test-split scores); ``notes``: a markdown file whose
    text the model card shows after the scores and the manifest keeps (``notes``), e.g. scores
    on held-out glaciers outside the store. Returns the bundle directory."""
    from emulator.train import evaluate
    from emulator.zoo import load_model

    train_dir = Path(train_dir)
    summary_path = train_dir / "training.json"
    if not summary_path.exists():
        raise InputError(f"'{train_dir}' holds no finished training (no training.json)")
    if notes and not Path(notes).is_file():
        raise InputError(f"notes file '{notes}' does not exist")
    text = Path(notes).read_text().strip() if notes else None
    summary = json.loads(summary_path.read_text())
    config = summary["config"]
    store = open_store(data or summary["store"])
    if store.attrs.get("content_hash") != summary["content_hash"]:
        raise InputError(f"store '{data or summary['store']}' is not the one trained on "
                         f"(content hash {store.attrs.get('content_hash')} != "
                         f"{summary['content_hash']})")
    model = load_model(train_dir / "model.keras", compile=False)
    test = evaluate(model, store, "test", config["inputs"], config["outputs"],
                    config["ice_threshold"], config["batch_size"]) \
        if summary["samples"]["test"] else {}
    instructor = summary["instructor"]
    base = Path(library) / instructor
    version = version or next_version(base)
    bundle = base / version
    if bundle.exists():
        raise InputError(f"bundle '{bundle}' exists already; versions are immutable")
    with atomic_path(bundle) as tmp:
        write_bundle(tmp, train_dir, model, store, summary, version, test, text)
    return bundle


def write_bundle(tmp: Path, train_dir: Path, model, store, summary: dict, version: str,
                 test: dict, notes: str | None = None) -> None:
    """Write a bundle's files into the folder ``tmp`` (see ``publish``)."""
    from emulator.zoo import pad_multiple

    config = summary["config"]
    instructor = summary["instructor"]
    tmp.mkdir()
    shutil.copy2(train_dir / "model.keras", tmp / "model.keras")
    shutil.copy2(train_dir / "learning_curve.png", tmp / "learning_curve.png")
    coverage_figure(store, tmp / "coverage.png")
    in_scales = list(summary["input_scales"].values())
    out_scales = list(summary["output_scales"].values())
    ranges = summary["trained_ranges"]
    manifest = {
        "manifest_version": MANIFEST_VERSION, "name": f"icebench-{instructor}",
        "version": version, "instructor": instructor_settings(store),
        "architecture": config["architecture"], "parameters": summary["parameters"],
        "inputs": [{"name": f, "units": UNITS[f], "scale": s}
                   for f, s in summary["input_scales"].items()],
        "outputs": [{"name": f, "units": UNITS[f], "scale": s}
                    for f, s in summary["output_scales"].items()],
        "pad_multiple": pad_multiple(config["architecture"], config["model"]),
        "valid": {**ranges, "dx_tolerance": 0.01}, "out_of_range": "error",
        "ice_threshold_m": config["ice_threshold"],
        "dataset": {"content_hash": summary["content_hash"],
                    "store": portable_path(summary["store"]), "samples": summary["samples"],
                    "grid": summary["grid"], **summary["dataset"]},
        "training": {**{k: summary[k] for k in ("epochs_run", "best_epoch", "stopped_early",
                                                "train_seconds", "backend")},
                     "config": {**config, "init": config.get("init") and portable_path(
                         config["init"])}},
        "lineage": lineage(train_dir), "notes": notes,
        "scores": {"test": test, "val": summary["val_scores"]},
        "code_version": code_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_file": "model.keras", "mlflow": summary.get("mlflow"),
    }
    no_igm = [why for flag, why in (
        (GRID_SPACING in config["inputs"], "the dx input channel has no IGM counterpart"),
        (config.get("sia_input") or config.get("sia_coupling"),
         "the SIA channels are computed inside the model, not by IGM"),
        (config.get("symmetrize"), "the symmetry average wraps the core IGM would load"),
        (config.get("log_outputs"), "the outputs are log-compressed, which IGM's output "
                                    "scaling does not expand"),
        (config.get("loss") == "energy", "the network predicts velocities on levels, which "
                                         "IGM's iceflow_v1 does not read"))
        if flag]
    if no_igm:
        manifest["igm_export"] = None
        manifest["igm_export_note"] = "; ".join(no_igm)
    else:
        folder = f"igm/{int(round(ranges['dx_m'][0]))}"
        igm_export(model, tmp / folder, config["inputs"], config["outputs"], in_scales, out_scales)
        manifest["igm_export"] = {"path": folder, "fieldin": config["inputs"],
                                  "fieldout": config["outputs"],
                                  "multiple_window_size": manifest["pad_multiple"]}
    validate_manifest(manifest)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=float))
    (tmp / "MODEL_CARD.md").write_text(model_card(manifest))
