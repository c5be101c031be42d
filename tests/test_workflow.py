"""The Snakemake DAG: config validation, the paper-scale dry run, a small real run."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _config(name="config.yaml") -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    validate(_config(name), SCHEMA)


BAD_CONFIGS = {
    "misspelt key": (lambda c: c.update(simulaton=c.pop("simulation")), "simulaton"),
    "wrong type": (lambda c: c["grid"].update(nx="32"), "'32' is not of type 'integer'"),
    "negative years": (lambda c: c["simulation"].update(years=-5), "-5"),
    "domain without source": (lambda c: c["domains"].update(bad={"x0": 1.0}), "bad"),
    "bad domain name": (lambda c: c["domains"].update({"a b": {"synthetic_seed": 1}}), "a b"),
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


def test_paper_scale_dry_run_lists_its_jobs():
    out = subprocess.run(SNAKEMAKE + ["-n", "--configfile", "config/paper.yaml"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["simulate"] == 20 * 3 * 3  # domains x climates x parameter samples
    assert counts["geometry"] == 20 and counts["assemble"] == 2


def test_small_dag_builds_both_stores(tmp_path):
    """A real run of the DAG on two-instructor SIA data (closed-form SIA with and without
    sliding): geometries -> runs -> Zarr stores -> summaries."""
    config = _config()
    config.update(results_dir=str(tmp_path / "results"), grid={"resolution": 200, "nx": 16, "ny": 16},
                  instructors={"sia": {"model": "sia"}, "sliding": {"model": "sia", "options": {"sliding": True}}},
                  driver="sia", simulation={"years": 10, "output_interval": 5})
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    subprocess.run(SNAKEMAKE + ["--cores", "2", "-q", "--configfile", str(cfg)], cwd=ROOT,
                   check=True, capture_output=True)
    for name in ("sia", "sliding"):
        text = (tmp_path / "results" / "data" / f"{name}_summary.txt").read_text()
        assert "samples per split: train 4, val 2, test 2" in text
        assert (tmp_path / "results" / "data" / f"{name}_samples.png").stat().st_size > 10_000
    assert list((tmp_path / "results" / "benchmarks" / "simulate").glob("*.tsv"))
