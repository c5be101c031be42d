"""results/summary.md from small hand-made evaluation outputs."""

import json

from evaluation.report import render_summary, write_summary
from evaluation.speed import add_speedups
from glacier.provenance import config_hash


def _score(model, reference, fid):
    row = {"fidelity": {"velbar": fid, "velsurf": fid, "velbase": None, "speed": fid},
           "rel_l2": {"velbar": 1 - fid, "velsurf": 1 - fid, "velbase": None, "speed": 1 - fid},
           "samples": 3, "ice_cells": 500}
    return {"model": model, "reference": reference, "split": "test",
            "per_domain": {"aletsch": row}, "all": row}


TRANSIENT = {"model": "emulator[hybrid]", "reference": "hybrid", "nx": 32, "ny": 32, "years": 60.0,
             "max_abs_rel_volume_diff": 0.0312, "end_rel_volume_diff": -0.0125,
             "end_rel_area_diff": 0.004, "end_thk_rmse_m": 7.25, "seconds": 1.5,
             "reference_seconds": 42.0}

SPEED = {"rows": add_speedups([
    {"model": "stokes", "nx": 32, "ny": 32, "seconds": 20.0, "ice_cells": 300, "device": "cpu", "cores": 2},
    {"model": "hybrid", "nx": 32, "ny": 32, "seconds": 0.5, "ice_cells": 300, "device": "cpu", "cores": 2},
    {"model": "emulator:hybrid", "nx": 32, "ny": 32, "seconds": 0.004, "ice_cells": 300,
     "device": "cpu", "cores": 2}]),
    "sgemm": {"n": 2048, "flops_per_s": 5.5e10, "device": "cpu", "library": "numpy", "seconds": 0.3},
    "efficiency": [{"model": "emulator:hybrid", "nx": 32, "ny": 32, "flops": 2.0e8,
                    "seconds": 0.004, "flops_per_s": 5.0e10,
                    "fraction_of_sgemm": 0.5e10 / 5.5e10, "device": "cpu"}],
    "machine": {"processor": "x86_64", "cores": 2, "gpu": None, "platform": "Linux"}}


def test_render_summary_tables():
    text = render_summary({"hybrid": "instructor hybrid: 40 samples\nsamples per split: train 30\nmore"},
                          [_score("emulator[hybrid]", "hybrid", 0.9), _score("hybrid", "stokes", 0.8)],
                          [TRANSIENT], SPEED,
                          {"date": "2026-11-23", "machine": "x86_64, 2 cores", "code_version": "0.1.0+abc",
                           "config_hash": "f00"})
    lines = text.splitlines()
    assert "- instructor hybrid: 40 samples" in lines and "- more" not in lines
    fid = [l for l in lines if l.startswith("| emulator[hybrid] | hybrid") and "| 3 " in l]
    assert len(fid) == 2 and "0.9000 (0.100)" in fid[0] and "| - " in fid[0]  # aletsch, all
    assert any(l.startswith("| hybrid") and "stokes" in l and "0.8000 (0.200)" in l for l in lines)
    assert any("0.0312" in l and "7.25" in l and "42" in l for l in lines)
    table = text[text.index("## Speed"):]
    assert "5000" in table  # speed-up of the emulator against Stokes: 20 / 0.004
    assert "40" in table  # hybrid against Stokes: 20 / 0.5
    assert "55.0 GFLOP/s" in table and "9.1% of sgemm" in table
    assert "- config_hash: f00" in lines


def test_write_summary_from_files(tmp_path):
    (tmp_path / "hybrid_summary.txt").write_text("instructor hybrid: 40 samples\nper split\n")
    (tmp_path / "score.json").write_text(json.dumps(_score("emulator[hybrid]", "hybrid", 0.95)))
    (tmp_path / "transient.json").write_text(json.dumps(TRANSIENT))
    (tmp_path / "speed.json").write_text(json.dumps(SPEED))
    config = {"seed": 1, "grid": {"nx": 32}}
    path = write_summary(tmp_path / "out" / "summary.md", [tmp_path / "hybrid_summary.txt"],
                         [tmp_path / "score.json"], [tmp_path / "transient.json"],
                         tmp_path / "speed.json", config)
    text = path.read_text()
    assert f"- config_hash: {config_hash(config)}" in text
    assert "- machine: x86_64, 2 cores, GPU none, Linux" in text
    assert "0.9500 (0.050)" in text


def test_score_results_plot_as_fidelity_bars(tmp_path):
    """``evaluation/plot_scores.py``: the fidelity of each glacier and of all of them from an
    ``icebench score --store --json`` result, drawn as grouped bars (a missing glacier is a gap)."""
    from evaluation.figures import fidelity_bars
    from evaluation.plot_scores import per_glacier

    def result(scores):
        block = lambda f: {"fidelity": {"velbar": f, "speed": f / 2}}  # noqa: E731
        return {"per_domain": {g: block(f) for g, f in scores.items()},
                "all": block(sum(scores.values()) / len(scores))}

    a = per_glacier(result({"linth_7": 0.5, "dome_2": -0.2}), "velbar")
    assert a == {"dome_2": -0.2, "linth_7": 0.5, "all": 0.15}
    b = per_glacier(result({"linth_7": 0.8}), "speed")
    assert b == {"linth_7": 0.4, "all": 0.4}
    path = fidelity_bars({"a": a, "b": b}, tmp_path / "bars.png", title="t")
    assert path.exists() and path.stat().st_size > 1000
