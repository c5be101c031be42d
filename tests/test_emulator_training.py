"""Emulator data loading, training, determinism, resumption, MLflow, publishing and the IGM
export, on a small real store of SIA-grown glaciers (emulator.testing_data)."""

import json
import shutil

import keras
import numpy as np
import pytest

from emulator.testing_data import build_sia_store
from glacier.errors import InputError

FAST = {"epochs": 3, "batch_size": 4, "patch_size": 16, "learning_rate": 3e-3, "mlflow": False}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """40 samples (train 20 / val 10 / test 10) on 32 x 32 cells at 200 m."""
    return build_sia_store(tmp_path_factory.mktemp("data") / "sia.zarr")


@pytest.fixture(scope="module")
def reference_run(store, tmp_path_factory):
    """An uninterrupted 3-epoch training (no MLflow)."""
    from emulator.train import train
    out = tmp_path_factory.mktemp("runs") / "reference"
    return out, train(store, FAST, out, verbose=0)


def _weights(path):
    from emulator.zoo import load_model
    return np.concatenate([w.ravel() for w in load_model(path, compile=False).get_weights()])


def test_loader_shapes_mask_and_chunked_shuffle(store, monkeypatch):
    import emulator.batches
    from emulator.batches import make_batches
    from emulator.data import split_indices
    from glacier.dataset import open_store

    data = open_store(store)
    inputs = ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco", "dx"]
    outputs = ["ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase", "vvelbase"]
    whole = make_batches(data, "val", inputs, outputs, batch_size=4)
    x, y = whole[0]
    assert x.shape == (4, 32, 32, 6) and y.shape == (4, 32, 32, 7)
    assert len(whole) == 3 and whole[2][0].shape[0] == 2          # 10 val samples
    np.testing.assert_array_equal(y[..., -1], (x[..., 0] > 1.0).astype("float32"))
    assert np.all(x[..., 5] == 200.0)
    val = data.isel(sample=split_indices(data, "val")[:4]).load()
    np.testing.assert_array_equal(x[..., 0], val.thk.values)
    np.testing.assert_array_equal(y[..., 3], val.vvelsurf.values)

    train = make_batches(data, "train", inputs, outputs, batch_size=4, patch_size=12,
                         augment=True, shuffle=True, seed=5)
    x, y = train[1]
    assert x.shape == (4, 12, 12, 6) and y.shape == (4, 12, 12, 7)
    assert np.all(y[..., -1].sum(axis=(1, 2)) > 0)                  # patches hold ice
    x_again, _ = train[1]
    np.testing.assert_array_equal(x, x_again)                        # (seed, epoch, index)
    order0 = train._order.copy()
    train.epoch = 1
    train[0]
    assert not np.array_equal(order0, train._order)                 # reshuffled per epoch
    assert sorted(train._order) == list(range(len(train.indices)))   # in memory: a permutation
    chunks = train.indices[train._order] // 16                       # store chunks of 16
    assert np.count_nonzero(np.diff(chunks)) > len(np.unique(chunks)) - 1  # runs mixed

    monkeypatch.setattr(emulator.batches, "IN_MEMORY_MB", 0.0)      # a store too big to cache
    lazy = make_batches(data, "train", inputs, outputs, batch_size=4, shuffle=True, seed=5)
    lazy[0]
    chunks = lazy.indices[lazy._order] // 16
    assert lazy._cache is None
    assert np.count_nonzero(np.diff(chunks)) == len(np.unique(chunks)) - 1  # chunk by chunk


def test_epoch_repeats_visit_every_sample_that_often(store):
    """``repeats``: an epoch of k visits of each training sample, each visit its own patch."""
    from emulator.batches import make_batches

    inputs, outputs = ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco"], ["ubar", "vbar"]
    once = make_batches(store, "train", inputs, outputs, 4, 12, True, True, seed=3)
    thrice = make_batches(store, "train", inputs, outputs, 4, 12, True, True, seed=3, repeats=3)
    assert len(once) == 5 and len(thrice) == 15
    visits = np.concatenate([thrice._positions(i) for i in range(len(thrice))])
    assert np.array_equal(np.bincount(visits), np.full(20, 3))
    np.testing.assert_array_equal(once[0][0], make_batches(
        store, "train", inputs, outputs, 4, 12, True, True, seed=3, repeats=1)[0][0])
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        make_batches(store, "train", inputs, outputs, 4, repeats=0)


def test_a_share_of_the_training_runs(store):
    from emulator.batches import make_batches
    from emulator.config import TrainConfig
    from emulator.data import run_subset, split_indices, trained_ranges
    from glacier.dataset import open_store

    data = open_store(store)
    idx = split_indices(data, "train")
    run = np.array([f"{d}/{c}/{p}" for d, c, p in zip(data.domain.values, data.climate.values,
                                                      data.param_sample.values)])
    runs = np.unique(run[idx])
    assert len(runs) >= 2
    half = run_subset(data, idx, 0.5, seed=3)
    kept = np.unique(run[half])
    assert len(kept) == max(1, round(0.5 * len(runs)))
    for key in kept:                                                  # whole runs only
        np.testing.assert_array_equal(half[run[half] == key], idx[run[idx] == key])
    np.testing.assert_array_equal(half, run_subset(data, idx, 0.5, seed=3))
    assert len(np.unique(run[run_subset(data, idx, 1e-6, seed=3)])) == 1   # at least one run
    np.testing.assert_array_equal(run_subset(data, idx, 1.0, seed=3), idx)
    batches = make_batches(data, "train", ["thk"], ["ubar"], 4, runs_fraction=0.5, seed=3)
    np.testing.assert_array_equal(batches.indices, half)
    sub = data.isel(sample=half)
    ice_a = sub.arrhenius.values[sub.thk.values > 1.0]
    assert trained_ranges(data, 1.0, half)["arrhenius"] == pytest.approx(
        [ice_a.min(), ice_a.max()])                                    # what was used
    with pytest.raises(InputError, match="fraction"):
        run_subset(data, idx, 0.0, seed=3)
    with pytest.raises(InputError, match="train_fraction"):
        TrainConfig(train_fraction=1.5)


@pytest.mark.slow
def test_tiny_training_lowers_the_loss(store, tmp_path):
    from emulator.train import train

    config = {**FAST, "epochs": 12, "batch_size": 2, "patch_size": None, "augment": False,
              "learning_rate": 1e-3}
    summary = train(store, config, tmp_path / "run", verbose=0)
    losses = [h["loss"] for h in summary["history"]]
    assert summary["epochs_run"] == 12
    assert min(losses[-3:]) < 0.6 * losses[0]
    assert summary["history"][-1]["val_loss"] < summary["history"][0]["val_loss"]
    for name in ("model.keras", "training.json", "history.csv", "learning_curve.png"):
        assert (tmp_path / "run" / name).exists()


def test_same_seed_same_weights(store, reference_run, tmp_path):
    from emulator.train import train

    ref_dir, ref = reference_run
    again = train(store, FAST, tmp_path / "again", verbose=0)
    assert [h["loss"] for h in again["history"]] == [h["loss"] for h in ref["history"]]
    np.testing.assert_array_equal(_weights(tmp_path / "again" / "model.keras"),
                                  _weights(ref_dir / "model.keras"))
    other = train(store, {**FAST, "seed": 1, "epochs": 1}, tmp_path / "other", verbose=0)
    assert other["history"][0]["loss"] != ref["history"][0]["loss"]


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise RuntimeError("simulated crash after epoch 1")


def test_resume_after_interruption(store, reference_run, tmp_path):
    """A training killed after its first epoch resumes there and ends where an
    uninterrupted one ends: same number of epochs, same history, same weights."""
    from emulator.train import train

    ref_dir, ref = reference_run
    out = tmp_path / "resumed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(store, FAST, out, callbacks=[_Crash()], verbose=0)
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 0 and not (out / "training.json").exists()
    summary = train(store, FAST, out, verbose=0)
    assert summary["epochs_run"] == ref["epochs_run"] == 3
    assert [h["epoch"] for h in summary["history"]] == [0, 1, 2]
    np.testing.assert_allclose([h["loss"] for h in summary["history"]],
                               [h["loss"] for h in ref["history"]], rtol=1e-6)
    np.testing.assert_allclose(_weights(out / "checkpoints" / "epoch-0002.keras"),
                               _weights(ref_dir / "checkpoints" / "epoch-0002.keras"),
                               rtol=0, atol=1e-6)
    assert sorted(p.name for p in (out / "checkpoints").glob("epoch-*")) == ["epoch-0002.keras"]
    with pytest.raises(InputError, match="different training .another training config"):
        train(store, {**FAST, "seed": 9}, out, verbose=0)          # finished, other config
    (out / "training.json").unlink()
    with pytest.raises(InputError, match="different training .another training config"):
        train(store, {**FAST, "seed": 9}, out, verbose=0)          # checkpointed, other config


def test_time_limit_keeps_the_best_so_far_and_resumes(store, reference_run, tmp_path):
    """A training past its time limit stops after that epoch with the files of a finished one
    (``complete: false``); a rerun resumes it and ends as an uninterrupted training ends."""
    from emulator.train import train

    _, ref = reference_run
    out = tmp_path / "limited"
    partial = train(store, FAST, out, verbose=0, time_limit_s=0.0)
    assert partial["epochs_run"] == 1 and partial["complete"] is False
    assert (out / "model.keras").exists() and "fidelity_velbar" in partial["val_scores"]
    summary = train(store, FAST, out, verbose=0)
    assert summary["complete"] is True and summary["epochs_run"] == ref["epochs_run"] == 3
    np.testing.assert_allclose([h["loss"] for h in summary["history"]],
                               [h["loss"] for h in ref["history"]], rtol=1e-6)
    assert train(store, FAST, out, verbose=0, time_limit_s=0.0)["complete"] is True


def test_stale_training_is_replaced_when_asked(store, reference_run, tmp_path):
    """The DAG's work folder: a finished training for another config is discarded, not
    returned as if it were the one asked for (it was, before: a rerun after new data
    published the old model)."""
    import shutil

    from emulator.train import train

    out = tmp_path / "work"
    shutil.copytree(reference_run[0], out)
    summary = train(store, {**FAST, "epochs": 1}, out, verbose=0, replace_stale=True)
    assert summary["epochs_run"] == 1 and summary["config"]["epochs"] == 1


def test_mlflow_logging(store, tmp_path):
    from mlflow.tracking import MlflowClient
    from emulator.tracking import init_tracking
    from emulator.train import train

    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    init_tracking(uri)
    summary = train(store, {**FAST, "epochs": 2, "mlflow": True, "tracking_uri": uri},
                    tmp_path / "run", verbose=0)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("icebench-sia")
    run = client.get_run(summary["mlflow"]["run_id"])
    assert run.info.experiment_id == experiment.experiment_id
    assert run.data.params["architecture"] == "cnn"
    assert run.data.params["data_hash"] == summary["content_hash"]
    assert run.data.params["seed"] == "0" and run.data.params["epochs"] == "2"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [0, 1]
    assert run.data.metrics["val_fidelity_velbar"] == pytest.approx(
        summary["val_scores"]["fidelity_velbar"])
    artefacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"learning_curve.png", "history.csv"} <= artefacts
    assert (tmp_path / "mlflow" / "artifacts" / "icebench-sia").is_dir()
    version = client.get_model_version_by_alias("icebench-sia", "current")
    assert str(version.version) == summary["mlflow"]["version"]
    import mlflow
    info = mlflow.models.get_model_info("models:/icebench-sia@current")
    assert [tuple(spec.shape) for spec in info.signature.inputs.inputs] == [(-1, -1, -1, 5)]
    assert [tuple(spec.shape) for spec in info.signature.outputs.inputs] == [(-1, -1, -1, 6)]


def test_publish_bundle_and_flow_model(store, reference_run, tmp_path):
    from emulator.manifest import read_manifest
    from emulator.publish import publish
    from glacier.dataset import open_store
    from glacier.flow import FlowModel, get_flow_model

    ref_dir, _ = reference_run
    bundle = publish(ref_dir, tmp_path / "library")
    assert bundle == tmp_path / "library" / "sia" / "v001"
    assert publish(ref_dir, tmp_path / "library").name == "v002"
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert names == {"model.keras", "manifest.json", "MODEL_CARD.md", "learning_curve.png",
                     "coverage.png", "igm/200/model.h5", "igm/200/fieldin.dat",
                     "igm/200/fieldout.dat"}
    manifest = read_manifest(bundle)
    assert manifest["valid"]["dx_m"] == [200.0]
    assert 0 < manifest["valid"]["arrhenius"][0] <= manifest["valid"]["arrhenius"][1]
    assert manifest["scores"]["test"]["samples"] == 10
    assert {e["name"]: e["units"] for e in manifest["inputs"]}["slidingco"] == "MPa a(1/3) m-(1/3)"
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "learning_curve.png" in card and "| velbar (ubar, vbar) |" in card
    assert "![data coverage](coverage.png)" in card

    flow = get_flow_model("emulator", path=str(bundle))
    assert isinstance(flow, FlowModel)
    assert get_flow_model("emulator", instructor="sia", library=str(tmp_path / "library")) \
        .manifest["version"] == "v002"
    data = open_store(store)
    sample = data.isel(sample=int(np.nonzero(data.split.values == "test")[0][-1])).load()
    state = sample[["thk", "usurf", "topg", "arrhenius", "slidingco", "icemask"]]
    dx = float(sample.dx)
    state = state.drop_vars(list(state.coords)).assign_coords(
        x=dx * np.arange(state.sizes["x"]), y=dx * np.arange(state.sizes["y"]))
    with pytest.raises(InputError, match="slidingco"):      # the test glacier's own c is unseen
        flow.velocity(state)
    valid = manifest["valid"]
    state = state.assign(arrhenius=state.arrhenius * 0 + np.mean(valid["arrhenius"]),
                         slidingco=state.slidingco * 0 + np.mean(valid["slidingco"]))
    vel = flow.velocity(state)
    assert set(vel.data_vars) == {"ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase", "vvelbase"}
    assert vel.ubar.attrs["units"] == "m a-1"
    assert np.all(vel.ubar.values[state.thk.values <= 0] == 0)
    assert np.abs(vel.uvelsurf.values).max() > 0
    odd = state.isel(x=slice(0, 27), y=slice(2, 31))                 # any grid size
    assert flow.velocity(odd).ubar.shape == (29, 27)
    with pytest.raises(InputError, match="arrhenius"):
        flow.velocity(state.assign(arrhenius=state.arrhenius * 3))
    coarse = state.assign_coords(x=state.x * 2, y=state.y * 2)
    with pytest.raises(InputError, match="grid spacing 400"):
        flow.velocity(coarse)


def test_igm_export_matches_keras_model(reference_run, tmp_path):
    from emulator.publish import publish
    from emulator.zoo import load_model

    ref_dir, _ = reference_run
    bundle = publish(ref_dir, tmp_path / "library")
    igm = bundle / "igm" / "200"
    fieldin = [line.split() for line in (igm / "fieldin.dat").read_text().splitlines()]
    fieldout = [line.split() for line in (igm / "fieldout.dat").read_text().splitlines()]
    assert [f[0] for f in fieldin] == ["thk", "slopsurfx", "slopsurfy", "arrhenius", "slidingco"]
    assert [f[0] for f in fieldout] == ["ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase",
                                        "vvelbase"]
    h5 = keras.models.load_model(igm / "model.h5", compile=False)
    full = load_model(bundle / "model.keras", compile=False)
    rng = np.random.default_rng(3)
    x = np.stack([rng.uniform(0, 300, (25, 31)), rng.normal(0, 0.2, (25, 31)),
                  rng.normal(0, 0.2, (25, 31)), np.full((25, 31), 75.0),
                  np.full((25, 31), 0.07)], axis=-1)[None].astype("float32")
    in_scale = np.array([float(f[1]) for f in fieldin], dtype="float32")
    out_scale = np.array([float(f[1]) for f in fieldout], dtype="float32")
    igm_way = np.asarray(h5(x / in_scale)) * out_scale                # what IGM does
    ours = np.asarray(full(x))
    np.testing.assert_allclose(igm_way, ours, rtol=1e-5, atol=1e-5 * np.abs(ours).max())


def test_manifest_validation_rejects_missing_fields(reference_run, tmp_path):
    from emulator.manifest import validate_manifest
    from emulator.publish import publish
    from glacier.flow import get_flow_model

    bundle = publish(reference_run[0], tmp_path / "library")
    manifest = json.loads((bundle / "manifest.json").read_text())
    validate_manifest(manifest)
    for key in ("valid", "inputs", "code_version"):
        broken = {k: v for k, v in manifest.items() if k != key}
        with pytest.raises(InputError, match=key):
            validate_manifest(broken)
    broken = {**manifest, "valid": {k: v for k, v in manifest["valid"].items() if k != "slidingco"}}
    with pytest.raises(InputError, match="slidingco"):
        validate_manifest(broken)
    (bundle / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items()
                                                      if k != "outputs"}))
    with pytest.raises(InputError, match="outputs"):
        get_flow_model("emulator", path=str(bundle))


def test_config_rejects_unknown_keys(tmp_path):
    from emulator.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("architecture: unet\nmodel: {levels: 2}\nepochs: 4\n")
    assert load_config(path).model == {"levels": 2}
    with pytest.raises(InputError, match="lerning_rate"):
        load_config({"lerning_rate": 1e-3})
    with pytest.raises(InputError, match="architecture"):
        load_config({"architecture": "transformer"})


def test_cli_train_and_publish(store, tmp_path, capsys):
    from icebench.cli import main

    config = tmp_path / "train.json"
    config.write_text(json.dumps({**FAST, "epochs": 1}))
    assert main(["train", "--data", str(store), "--config", str(config), "--out",
                 str(tmp_path / "run"), "--no-mlflow"]) == 0
    assert "1 epochs" in capsys.readouterr().out
    assert main(["publish", "--model", str(tmp_path / "run"), "--out", str(tmp_path / "lib")]) == 0
    assert (tmp_path / "lib" / "sia" / "v001" / "manifest.json").exists()
    assert main(["publish", "--model", str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2


def test_training_with_every_lever(store, tmp_path):
    """SIA channels (local and coupled over 400 m), physical scales, the 1 - fidelity loss and
    the symmetry average train, save a model that commutes with the grid's symmetries, and
    publish without an IGM export (IGM could not rebuild the channels or the average)."""
    from emulator.augment import transform
    from emulator.layers import CoupledSiaVelocity
    from emulator.manifest import read_manifest
    from emulator.publish import publish
    from emulator.train import train
    from emulator.zoo import load_model, trainable_core

    config = {**FAST, "sia_input": True, "sia_coupling": [400.0], "symmetrize": True,
              "loss": "relative_l1", "scaling": "physical"}
    summary = train(store, config, tmp_path / "run", verbose=0)
    assert np.isfinite(summary["history"][-1]["loss"])
    assert summary["input_scales"]["thk"] == 300.0
    model = load_model(tmp_path / "run" / "model.keras", compile=False)
    coupled = [layer for layer in trainable_core(model).layers
               if isinstance(layer, CoupledSiaVelocity)]
    assert [layer.sigmas for layer in coupled] == [[2.0]]  # 400 m on the 200 m grid
    x = np.random.default_rng(0).uniform(0.0, 1.0, (1, 16, 16, 5)).astype("float32") * \
        np.array([300.0, 0.3, 0.3, 80.0, 0.05], dtype="float32")
    y = np.asarray(model(x))
    turned = np.asarray(model(transform(x, summary["config"]["inputs"], 5)))
    assert np.abs(turned - transform(y, summary["config"]["outputs"], 5)).max() <= \
        1e-5 * np.abs(y).max()
    manifest = read_manifest(publish(tmp_path / "run", tmp_path / "library"))
    assert manifest["igm_export"] is None and "symmetry" in manifest["igm_export_note"]


def test_fine_tuning_starts_from_the_initial_weights(store, reference_run, tmp_path):
    """``init``: the training starts from the given emulator's weights and scales (one epoch
    at a learning rate of 1e-12 leaves them as they were, whatever the config's scaling), with
    ``{instructor}`` in the path read as the store's instructor; an emulator of other fields is
    refused, naming both. The published bundle lists both trainings as its lineage, and one
    fine-tuned from a bundle ends its lineage at that bundle."""
    from emulator.manifest import read_manifest
    from emulator.publish import publish
    from emulator.train import train
    from glacier.dataset import open_store

    ref_dir, ref = reference_run
    by_instructor = tmp_path / "library" / open_store(store).attrs["instructor"]
    by_instructor.parent.mkdir()
    by_instructor.symlink_to(ref_dir, target_is_directory=True)
    config = {**FAST, "epochs": 1, "learning_rate": 1e-12,
              "init": str(tmp_path / "library" / "{instructor}"),
              "scaling": "physical", "augment": False}
    tuned = train(store, config, tmp_path / "tuned", verbose=0)
    assert tuned["input_scales"] == ref["input_scales"]
    np.testing.assert_allclose(_weights(tmp_path / "tuned" / "model.keras"),
                               _weights(ref_dir / "model.keras"), rtol=0, atol=1e-8)
    with pytest.raises(InputError, match="maps .* the config"):
        train(store, {**config, "inputs": ["thk", "slopsurfx", "slopsurfy"]}, tmp_path / "other",
              verbose=0)

    notes = tmp_path / "notes.md"
    notes.write_text("## Held-out glaciers\nfidelity 0.5 on a glacier outside the store\n")
    with pytest.raises(InputError, match="notes file"):
        publish(tmp_path / "tuned", tmp_path / "published", notes=tmp_path / "absent.md")
    bundle = publish(tmp_path / "tuned", tmp_path / "published", notes=notes)
    manifest = read_manifest(bundle)
    assert "## Held-out glaciers\nfidelity 0.5" in (bundle / "MODEL_CARD.md").read_text()
    assert [step["epochs_run"] for step in manifest["lineage"]] == [1, ref["epochs_run"]]
    assert manifest["lineage"][1]["content_hash"] == ref["content_hash"]
    assert "{instructor}" in manifest["training"]["config"]["init"]
    assert "## Lineage" in (bundle / "MODEL_CARD.md").read_text()
    train(store, {**config, "init": str(bundle)}, tmp_path / "again", verbose=0)
    chain = read_manifest(publish(tmp_path / "again", tmp_path / "published"))["lineage"]
    assert len(chain) == 2 and chain[1] == {"bundle": f"icebench-{manifest['instructor']['name']} "
                                                      f"{manifest['version']}"}
    train(store, {**config, "init": str(tmp_path / "again")}, tmp_path / "third", verbose=0)
    shutil.rmtree(tmp_path / "again")
    third = publish(tmp_path / "third", tmp_path / "published")
    assert read_manifest(third)["lineage"][1] == {"training": "again", "missing": True}
    assert "`again` (no longer there)" in (third / "MODEL_CARD.md").read_text()


def test_energy_training_lowers_the_energy_and_publishes(store, tmp_path):
    """``loss: energy``: no velocity data; a few epochs lower the first-order energy of the
    predicted level velocities (train and validation), the saved model gives the six fields
    (the depth average, surface and bed of its levels), and the bundle loads as a flow model."""
    from emulator.manifest import read_manifest
    from emulator.publish import publish
    from emulator.train import train
    from emulator.zoo import load_model

    config = {**FAST, "epochs": 4, "loss": "energy", "levels": 4, "learning_rate": 1e-3,
              "model": {"layers": 4, "filters": 16}, "scaling": "physical"}
    summary = train(store, config, tmp_path / "run", verbose=0)
    history = summary["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    model = load_model(tmp_path / "run" / "model.keras", compile=False)
    assert model.output.shape[-1] == 6
    assert np.isfinite(summary["val_scores"]["fidelity_velbar"])
    manifest = read_manifest(publish(tmp_path / "run", tmp_path / "library"))
    assert manifest["igm_export"] is None and "levels" in manifest["igm_export_note"]
    assert [e["name"] for e in manifest["outputs"]][:2] == ["ubar", "vbar"]
    check_fine_tuning(tmp_path / "run", store)
    check_fine_tuning(tmp_path / "library" / manifest["instructor"]["name"] / "v001", store)


def test_data_then_energy_through_a_level_head(store, tmp_path):
    """The data + energy route: a data-trained network with ``level_head`` predicts level
    velocities and derives the six fields from them, so an energy training can start from it
    (``init``, with the same levels) and lower its energy, and it fine-tunes on a target."""
    from emulator.train import train
    from emulator.zoo import load_model, trainable_core

    data_config = {**FAST, "loss": "relative_l1", "level_head": True, "levels": 4,
                   "model": {"layers": 4, "filters": 16}, "scaling": "physical"}
    data_run = train(store, data_config, tmp_path / "data", verbose=0)
    assert np.isfinite(data_run["val_scores"]["fidelity_velbar"])
    core = trainable_core(load_model(tmp_path / "data" / "model.keras", compile=False))
    assert core.output.shape[-1] == 8
    check_fine_tuning(tmp_path / "data", store)

    energy_config = {**FAST, "epochs": 3, "loss": "energy", "levels": 4, "learning_rate": 1e-3,
                     "init": str(tmp_path / "data"), "scaling": "physical"}
    history = train(store, energy_config, tmp_path / "energy", verbose=0)["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    with pytest.raises(InputError, match="maps .* to .*u0"):
        train(store, {**energy_config, "levels": 6}, tmp_path / "other", verbose=0)
    with pytest.raises(InputError, match="level_head need the six velocity outputs"):
        train(store, {**data_config, "outputs": ["ubar", "vbar"]}, tmp_path / "other",
              verbose=0)


def check_fine_tuning(emulator, store):
    """``retrain_every``: the emulator takes its energy steps on the state it is asked about
    (every call with K = 1, calls 1, 3, 5 with K = 2), they lower that state's energy, and the
    prediction after them is not the one before."""
    from emulator.model import load_flow_model
    from evaluation.score import store_state
    from glacier.dataset import open_store

    state = store_state(open_store(store), 0)
    plain = load_flow_model(emulator).velocity(state)
    tuned = load_flow_model(emulator, retrain_every=1, retrain_rate=1e-3)
    for _ in range(6):
        vel = tuned.velocity(state)
    energies = tuned.finetuning.energies
    assert tuned.finetuning.steps == 6 and energies[-1] < energies[0]
    assert vel.attrs["solver_report"]["retrain_steps"] == 6
    assert not np.allclose(vel.ubar.values, plain.ubar.values)
    every_other = load_flow_model(emulator, retrain_every=2)
    for _ in range(5):
        every_other.velocity(state)
    assert every_other.finetuning.steps == 3


def test_fine_tuning_needs_an_energy_emulator(reference_run):
    """A data-trained emulator refuses ``retrain_every`` with an error naming its loss; K < 1
    is refused too."""
    from emulator.finetune import EnergyFineTuning
    from emulator.model import load_flow_model

    out, _ = reference_run
    with pytest.raises(InputError, match="predicts level velocities .* loss .mse."):
        load_flow_model(out, retrain_every=10)
    with pytest.raises(InputError, match="retrain_every must be >= 1"):
        EnergyFineTuning(None, [], 2, 0)
