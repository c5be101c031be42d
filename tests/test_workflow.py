"""The Snakemake DAG: config validation and defaults, the paper-scale dry run, a small real run."""

import copy
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from glacier.dataset import verify_store
from glacier.schema import SCHEMA_PATH, defaults

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(SCHEMA_PATH)
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _config(name="config.yaml") -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "library.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    validate(_config(name), SCHEMA)


BAD_CONFIGS = {
    "misspelt key": (lambda c: c.update(simulaton=c.pop("simulation")), "simulaton"),
    "wrong type": (lambda c: c["grid"].update(nx="32"), "'32' is not of type 'integer'"),
    "negative years": (lambda c: c["simulation"].update(years=-5), "-5"),
    "domain without source": (lambda c: c["domains"].update(bad={"x0": 1.0}), "bad"),
    "bad domain name": (lambda c: c["domains"].update({"a b": {"synthetic_seed": 1}}), "a b"),
    "unknown synthetic bed": (lambda c: c["domains"].update(f={"synthetic": "fjord", "seed": 1}),
                              "fjord"),
    "border rule not a boolean": (lambda c: c.update(assembly={"keep_border_ice": "no"}), "'no'"),
    "empty test split": (lambda c: c["splits"].update(test=[]), "test"),
    "unknown climate key": (lambda c: c["climates"]["growth"].update(elevation=3000), "elevation"),
}


@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_bad_config_is_named(kind):
    corrupt, needle = BAD_CONFIGS[kind]
    config = copy.deepcopy(_config())
    corrupt(config)
    with pytest.raises(WorkflowError, match="(?s)" + re.escape(needle)):
        validate(config, SCHEMA)


def _required_only(config: dict, schema: dict) -> dict:
    """``config`` without the keys that ``schema`` does not require, at every level."""
    required = {key: value for key, value in config.items() if key in schema.get("required", [])}
    return {key: _required_only(value, schema["properties"][key])
            if "properties" in schema["properties"][key] else value
            for key, value in required.items()}


def test_schema_fills_the_library_defaults():
    """Validation fills a config of only the required keys with the schema's defaults, and
    these are the defaults of the code: EvolveSettings, TrainConfig (whose keys are the
    schema's training keys), the velocity fields and the registered architectures."""
    from emulator.config import TrainConfig
    from emulator.zoo import ARCHITECTURES
    from glacier.evolve import EvolveSettings
    from glacier.fields import VELOCITY_FIELDS

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    config = _required_only(_config(), schema)
    assert "training" not in config and "cfl" not in config["simulation"]
    validate(config, SCHEMA)
    simulation = config["simulation"]
    assert EvolveSettings(**simulation) == EvolveSettings(simulation["years"],
                                                          simulation["output_interval"])
    assert TrainConfig(**config["training"]) == TrainConfig()
    assert config["evaluation"] == defaults("evaluation")
    training = schema["properties"]["training"]["properties"]
    assert set(training) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert tuple(training["architecture"]["enum"]) == ARCHITECTURES
    assert tuple(defaults("training")["outputs"]) == VELOCITY_FIELDS


def test_default_dag_from_the_schema_defaults(tmp_path):
    """The default config without its optional keys (the schema fills them in) schedules the
    same jobs as the default config (dry run)."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    (tmp_path / "minimal").mkdir()
    (tmp_path / "full").mkdir()
    minimal = _dry_run_counts(tmp_path / "minimal", _required_only(_config(), schema))
    assert minimal == _dry_run_counts(tmp_path / "full", _config())
    assert minimal["all"] == 1 and minimal["train"] == len(_config()["instructors"])


def test_paper_scale_dry_run_lists_its_jobs():
    out = subprocess.run(SNAKEMAKE + ["-n", "--configfile", "config/paper.yaml"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["simulate"] == 20 * 3 * 3  # domains x climates x parameter samples
    assert counts["geometry"] == 20 and counts["assemble"] == 2


def _dry_run_outputs(workdir: Path, cfg: Path, home: Path) -> dict[str, list[str]]:
    """Outputs of the jobs of a dry run of the ``data`` target in ``workdir``, by rule, with
    ``home`` as the home folder (``~``)."""
    out = subprocess.run(SNAKEMAKE + ["data", "-n", "--configfile", str(cfg), "-s",
                                      str(ROOT / "Snakefile"), "-d", str(workdir)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "HOME": str(home)}).stdout
    outputs, rule = {}, None
    for line in out.splitlines():
        if line.startswith("rule "):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("output:"):
            outputs.setdefault(rule, []).extend(line.split(":", 1)[1].replace(",", " ").split())
    return outputs


def test_data_dir_outside_the_work_tree_resumes_from_another(tmp_path):
    """With ``data_dir: ~/icebench/small`` the geometries, runs and stores go to the home folder,
    the summaries and figures under results_dir; once they are there, a dry run in another
    working directory with the same data_dir schedules no geometry, run or store again."""
    config = _config()
    config["data_dir"] = "~/icebench/small"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    home, first, second = tmp_path / "home", tmp_path / "first", tmp_path / "second"
    data = home / "icebench" / "small"
    outputs = _dry_run_outputs(first, cfg, home)
    for rule in ("geometry", "simulate", "assemble"):
        paths = list(map(Path, outputs[rule]))
        assert paths and all(p.is_relative_to(data) for p in paths), (rule, paths)
    assert {Path(p).parent for p in outputs["simulate"]} == \
        {data / "runs" / d / c for d in config["domains"] for c in config["climates"]}
    assert all(p.startswith("results/data/") for p in outputs["inspect_data"])
    now = time.time()
    for when, rule in enumerate(("geometry", "simulate", "assemble")):
        for path in map(Path, outputs[rule]):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir() if path.suffix == ".zarr" else path.touch()
            os.utime(path, (now + when, now + when))  # newer than the scripts and the inputs
    assert set(_dry_run_outputs(second, cfg, home)) == {"inspect_data"}


def test_start_states_are_jobs_of_their_own(tmp_path):
    """``start_states: 2`` and one ``start_thickness`` sample on the v002 config: three
    start-state jobs per glacier of estimated thickness (the eight run massifs, the held-out
    ticino_73, linth_7, linth_22 and ticino_23 among them, and the 23 start-only ones), under
    <data_dir>/starts; the runs are 80, 4 of each of the 20 domains with runs (the four massifs
    grown from ice-free windows among them, which get no start state)."""
    config = _config("library_v002.yaml")
    config["start_states"] = 2
    config["start_thickness"]["samples"] = 1
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    outputs = _dry_run_outputs(tmp_path / "work", cfg, tmp_path / "home")
    starts = sorted(Path(p).relative_to(tmp_path / "home") for p in outputs["start_state"])
    massifs = sorted(d for d, spec in config["domains"].items() if "estimate" in spec)
    assert len(massifs) == 31 and {"ticino_73", "linth_7", "linth_22", "ticino_23"} <= set(massifs)
    assert sum(not config["domains"][d].get("runs", True) for d in massifs) == 23
    assert [str(p.parent.name) for p in starts] == [d for d in massifs for _ in (0, 1, 2)]
    assert all(p.parts[:5] == (".cache", "icebench", "data", "library_v002", "starts")
               for p in starts)
    assert len(outputs["simulate"]) == 80


def _sia_config(tmp_path, years=10, epochs=2) -> Path:
    """The default config on 16 x 16 grids with two fast instructors: the closed-form SIA with
    and without sliding."""
    config = _config()
    config.update(results_dir=str(tmp_path / "results"), grid={"resolution": 200, "nx": 16, "ny": 16},
                  instructors={"sia": {"model": "sia"}, "sliding": {"model": "sia", "options": {"sliding": True}}},
                  driver="sia", simulation={"years": years, "output_interval": 5})
    config["training"]["epochs"] = epochs
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return cfg


def test_small_dag_builds_both_stores(tmp_path):
    """A real run of the DAG: geometries -> runs -> Zarr stores -> summaries."""
    cfg = _sia_config(tmp_path)
    subprocess.run(SNAKEMAKE + ["data", "--cores", "2", "-q", "--configfile", str(cfg), "-s",
                                str(ROOT / "Snakefile"), "-d", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("sia", "sliding"):
        text = (tmp_path / "results" / "data" / f"{name}_summary.txt").read_text()
        assert "samples per split: train 4, val 2, test 2" in text
        assert "snapshots whose ice touches the domain border: 8, kept (keep_border_ice)" in text
        for figure in ("samples", "coverage"):
            assert (tmp_path / "results" / "data" / f"{name}_{figure}.png").stat().st_size > 10_000
    assert list((tmp_path / "results" / "benchmarks" / "simulate").glob("*.tsv"))
    _edits_rerun_only_their_stages(tmp_path, cfg)
    _century_runs_on_the_test_glacier(tmp_path, cfg)
    # a deleted run is regenerated alone: its geometry and the other runs are kept
    run = tmp_path / "results" / "runs" / "valley_1" / "growth" / "p0.nc"
    run.unlink()
    out = subprocess.run(SNAKEMAKE + [str(run), "-n", "--configfile", str(cfg), "-s",
                                      str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                         check=True, capture_output=True, text=True).stdout
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["simulate"] == 1 and "geometry" not in counts


def _century_config(cfg: Path, **century) -> Path:
    config = yaml.safe_load(cfg.read_text())
    config["evaluation"] = {**config.get("evaluation", {}),
                            **{f"century_{k}": v for k, v in century.items()}}
    path = cfg.with_name("century.yaml")
    path.write_text(yaml.safe_dump(config))
    return path


def _century_runs_on_the_test_glacier(tmp_path, cfg):
    """The century target, for real on the data just made: the test glacier evolved by both
    instructors in chunks, compared with the reference; no data job runs again."""
    century = _century_config(cfg, drivers=["sia", "sliding"], reference="sia", years=4,
                              output_interval=2, chunk_years=2, ela_rise=100)
    out = subprocess.run(SNAKEMAKE + ["century", "--cores", "2", "--configfile", str(century),
                                      "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                         check=True, capture_output=True, text=True)
    for rule in ("simulate", "assemble", "geometry"):
        assert f"rule {rule}:" not in out.stdout + out.stderr
    table = (tmp_path / "results" / "eval" / "century" / "aletsch.md").read_text()
    assert "| sia | 4 |" in table and "| sliding | 4 |" in table
    assert (tmp_path / "results" / "eval" / "century" / "aletsch.png").stat().st_size > 10_000
    runs = tmp_path / "results" / "century" / "aletsch"
    assert sorted(p.name for p in runs.iterdir()) == ["sia.nc", "sliding.nc"]


@pytest.mark.parametrize("century, needle", [
    ({"drivers": ["sia", "emulator_fs"]}, "emulator_fs"),
    ({"drivers": ["sia"], "reference": "sliding"}, "century_reference 'sliding'"),
])
def test_century_drivers_are_checked_before_any_job(tmp_path, century, needle):
    cfg = _century_config(_sia_config(tmp_path), **century)
    out = subprocess.run(SNAKEMAKE + ["century", "-n", "--configfile", str(cfg), "-s",
                                      str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode != 0 and needle in out.stdout + out.stderr


def _dry_run_counts(tmp_path, config: dict) -> dict:
    cfg = tmp_path / "edited.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = subprocess.run(SNAKEMAKE + ["all", "-n", "--configfile", str(cfg), "-s",
                                      str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


def _edits_rerun_only_their_stages(tmp_path, cfg):
    """Each rule sees only its slice of the config. With models and scores marked up to date
    (empty files, ``--touch``, which records their params): an evaluation key edited schedules
    no training and no scoring; a training and an evaluation key edited schedule training and
    scoring but no geometry, run or store; an instructor's domains list edited: only the runs
    of the domain it drops; a data key edited: the runs and stores are."""
    base = yaml.safe_load(cfg.read_text())
    results = tmp_path / "results"
    evaluated = results / "eval"
    for name in base["instructors"]:
        (results / "models" / name).mkdir(parents=True)
        for path in [evaluated / "score" / f"{name}.json", evaluated / "score" / f"{name}.csv",
                     *(evaluated / "maps" / name / f"{d}.png" for d in base["splits"]["test"])]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    (results / "mlflow").mkdir()
    (results / "mlflow" / ".initialised").touch()
    scores = [str(evaluated / "score" / f"{name}.json") for name in base["instructors"]]
    subprocess.run(SNAKEMAKE + [*scores, "--touch", "--forcerun", "train", "score", "--cores", "1",
                                "--configfile", str(cfg), "-s", str(ROOT / "Snakefile"), "-d",
                                str(tmp_path)], check=True, capture_output=True)
    edited = copy.deepcopy(base)
    edited.setdefault("evaluation", {})["speed_repeats"] = 5
    counts = _dry_run_counts(tmp_path, edited)
    assert counts["speed"] == 1
    assert not {"geometry", "simulate", "assemble", "train", "score"} & set(counts), counts
    edited["training"]["epochs"] += 1
    counts = _dry_run_counts(tmp_path, edited)
    assert counts["train"] == 2 and counts["score"] == 2
    assert not {"geometry", "simulate", "assemble"} & set(counts), counts
    edited = copy.deepcopy(base)
    other = next(name for name in base["instructors"] if name != base["driver"])
    edited["instructors"][other]["domains"] = sorted(base["domains"])
    counts = _dry_run_counts(tmp_path, edited)
    assert "simulate" not in counts, counts   # naming every domain changes no run
    edited["instructors"][other]["domains"] = sorted(base["domains"])[1:]
    counts = _dry_run_counts(tmp_path, edited)
    assert counts["simulate"] == len(base["climates"]) * base["parameters"]["samples"], counts
    edited = copy.deepcopy(base)
    edited["simulation"]["years"] += 5
    counts = _dry_run_counts(tmp_path, edited)
    runs = len(list((tmp_path / "results" / "runs").glob("*/*/*.nc")))
    assert counts["simulate"] == runs and counts["assemble"] == 2, counts


def test_killed_run_resumes_to_a_valid_dataset(tmp_path):
    """SIGKILL the DAG mid-way through data generation, unlock, rerun: the stores are complete
    and verify, no half-written output sits under a final name, and the dataset is identical
    to an uninterrupted run's (same content hash)."""
    cfg = _sia_config(tmp_path / "a", years=40)
    cmd = SNAKEMAKE + ["data", "--cores", "1", "-q", "--configfile", str(cfg), "-s",
                       str(ROOT / "Snakefile")]
    runs = tmp_path / "a" / "results" / "runs"
    proc = subprocess.Popen(cmd + ["-d", str(tmp_path / "a")], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(runs.glob("*/*/*.nc"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(runs.glob("*/*/*.nc"))) < 4, "the kill came too late to interrupt anything"
    assert not (tmp_path / "a" / "results" / "data" / "sia.zarr").exists()
    subprocess.run(cmd + ["-d", str(tmp_path / "a"), "--unlock"], check=True, capture_output=True)
    subprocess.run(cmd + ["-d", str(tmp_path / "a"), "--rerun-incomplete"], check=True,
                   capture_output=True)
    ok, stored, _ = verify_store(tmp_path / "a" / "results" / "data" / "sia.zarr")
    assert ok
    cfg_b = _sia_config(tmp_path / "b", years=40)
    subprocess.run(SNAKEMAKE + ["data", "--cores", "2", "-q", "--configfile", str(cfg_b), "-s",
                                str(ROOT / "Snakefile"), "-d", str(tmp_path / "b")],
                   check=True, capture_output=True)
    assert verify_store(tmp_path / "b" / "results" / "data" / "sia.zarr")[1] == stored


@pytest.mark.slow
def test_whole_mission_on_a_small_config(tmp_path, full_scale):
    """rule all: data -> training (MLflow) -> evaluation -> summary.md -> published library,
    with the two closed-form SIA instructors so that it runs in CI (few epochs; more with
    ICEBENCH_TEST_SCALE=full)."""
    cfg = _sia_config(tmp_path, years=20, epochs=20 if full_scale else 2)
    subprocess.run(SNAKEMAKE + ["--cores", "2", "-q", "--configfile", str(cfg), "-s",
                                str(ROOT / "Snakefile"), "-d", str(tmp_path)], check=True,
                   capture_output=True)
    results = tmp_path / "results"
    summary = (results / "summary.md").read_text()
    for heading in ("## Datasets", "## Fidelity (test split)", "## Transient fidelity", "## Speed",
                    "## Provenance"):
        assert heading in summary
    for name in ("sia", "sliding"):
        bundle = results / "library" / name / "v001"
        assert {"model.keras", "manifest.json", "MODEL_CARD.md"} <= {p.name for p in bundle.iterdir()}
        assert (results / "published" / f"{name}.json").exists()
    assert (results / "mlflow" / "mlflow.db").stat().st_size > 0
    assert (results / "bench" / "speed.png").stat().st_size > 10_000
