"""Scores of flow models on states and on hand-made training stores; the score CLI."""

import json

import numpy as np
import pytest
import xarray as xr

from glacier.flow import flow_model_from_spec

from evaluation.score import (last_samples, model_label, score_store, score_store_pair)
from glacier.dataset import FORMAT_VERSION, open_store, write_store
from glacier.errors import InputError
from glacier.fields import VELOCITY_FIELDS, grid_spacing
from glacier.io import write_dataset
from glacier.sia import sia_velocities
from icebench.cli import main


def test_model_spec_options_and_labels(tmp_path):
    assert flow_model_from_spec("sia").sliding is False
    assert flow_model_from_spec("sia:sliding=true").sliding is True
    with pytest.raises(InputError):
        flow_model_from_spec("sia:sliding")
    assert model_label("stokes:layers=4") == "stokes"
    assert model_label("sia:sliding=true", taken={"sia"}) == "sia:sliding=true"
    (tmp_path / "hybrid").mkdir()
    assert model_label(str(tmp_path / "hybrid")) == "emulator:hybrid"
    (tmp_path / "hybrid" / "model.keras").touch()
    assert model_label(str(tmp_path / "hybrid" / "model.keras")) == "emulator:hybrid"
    (tmp_path / "stokes" / "v001").mkdir(parents=True)
    assert model_label(str(tmp_path / "stokes" / "v001")) == "emulator:stokes/v001"


def test_score_cli_same_model_is_perfect(small_state, tmp_path, capsys):
    path = write_dataset(small_state, tmp_path / "state.nc")
    assert main(["score", "--model", "sia", "--reference", "sia", "--input", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fidelity"] == {"velbar": 1.0, "velsurf": 1.0, "velbase": None, "speed": 1.0}
    assert result["rel_l2"]["velsurf"] == 0.0
    assert result["ice_cells"] == int((small_state.thk.values > 1.0).sum())


def test_score_cli_sliding_against_no_sliding(small_state, tmp_path, capsys):
    state = small_state.copy()
    state["slidingco"] = state.slidingco * 0 + 0.5
    path = write_dataset(state, tmp_path / "state.nc")
    assert main(["score", "--model", "sia:sliding=true", "--reference", "sia",
                 "--input", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # sliding adds the basal vector u_b (along -grad s) to the reference: |u - u_ref| = |u_b|
    args = (state.thk.values, state.usurf.values, state.arrhenius.values, state.slidingco.values,
            grid_spacing(state))
    slide, plain = sia_velocities(*args, sliding=True), sia_velocities(*args, sliding=False)
    ice = state.thk.values > 1.0
    base = np.hypot(slide["uvelbase"], slide["vvelbase"])[ice]
    for pair, (u, v) in {"velbar": ("ubar", "vbar"), "velsurf": ("uvelsurf", "vvelsurf")}.items():
        expected = 1.0 - base.sum() / np.hypot(plain[u], plain[v])[ice].sum()
        assert result["fidelity"][pair] == pytest.approx(expected, rel=1e-9)
        assert 0.0 < expected < 1.0
    assert result["fidelity"]["velbase"] is None  # the reference does not slide


def test_score_cli_text_and_bad_input(small_state, tmp_path, capsys):
    path = write_dataset(small_state, tmp_path / "state.nc")
    assert main(["score", "--model", "sia", "--reference", "sia", "--input", str(path)]) == 0
    out = capsys.readouterr().out
    assert "velsurf" in out and "1.0000" in out
    assert main(["score", "--model", "sia", "--reference", "sia", "--input",
                 str(tmp_path / "missing.nc")]) == 2


def test_score_cli_against_a_stored_solution(small_state, tmp_path, capsys):
    """One solve, written by `icebench solve`, scores a model as the reference model would."""
    state = small_state.copy()
    state["slidingco"] = state.slidingco * 0 + 0.5
    path = write_dataset(state, tmp_path / "state.nc")
    solution = tmp_path / "sia.nc"
    assert main(["solve", "--model", "sia", "--input", str(path), "--output", str(solution)]) == 0
    capsys.readouterr()
    scored = []
    for reference in (["--reference", "sia"], ["--reference-solution", str(solution)]):
        assert main(["score", "--model", "sia:sliding=true", "--input", str(path), *reference,
                     "--json"]) == 0
        scored.append(json.loads(capsys.readouterr().out))
    assert scored[1]["fidelity"] == scored[0]["fidelity"]
    assert 0.0 < scored[1]["fidelity"]["velbar"] < 1.0
    assert scored[1]["reference"] == "sia"
    # a solution of another grid, of other A, or without its state is refused before any solve
    other = write_dataset(state.isel(x=slice(1, None)), tmp_path / "other.nc")
    for bad in (["--input", str(other), "--reference-solution", str(solution)],
                ["--input", str(path), "--reference-solution", str(solution), "--arrhenius", "50"],
                ["--input", str(path), "--reference-solution", str(solution), "--reference", "sia"],
                ["--reference-solution", str(solution)]):
        assert main(["score", "--model", "sia", *bad]) == 2
    err = capsys.readouterr().err
    assert "x grid differs" in err and "solved with --arrhenius none" in err


def _store(states: dict[str, list[xr.Dataset]], scale: dict[str, float], split: dict[str, str],
           instructor: str) -> xr.Dataset:
    """A store in the assembled layout: SIA velocities times ``scale[domain]`` as outputs."""
    samples = []
    for domain, domain_states in states.items():
        for k, s in enumerate(domain_states):
            vel = sia_velocities(s.thk.values, s.usurf.values, s.arrhenius.values,
                                 s.slidingco.values, grid_spacing(s), sliding=False)
            fields = {f: s[f].values for f in ("thk", "usurf", "topg", "arrhenius", "slidingco",
                                               "icemask")}
            fields.update({f: scale[domain] * np.where(s.thk.values > 0, vel[f], 0.0)
                           for f in VELOCITY_FIELDS})
            coords = {"domain": domain, "climate": "growth", "param_sample": 0, "time": 10.0 * k,
                      "split": split[domain], "dx": grid_spacing(s)}
            samples.append(xr.Dataset(
                {f: (("sample", "y", "x"), np.asarray(v, dtype=np.float32)[None])
                 for f, v in fields.items()},
                coords={c: ("sample", [v]) for c, v in coords.items()}))
    data = xr.concat(samples, dim="sample")
    data.attrs.update(instructor=instructor, format_version=FORMAT_VERSION)
    return data


def _states(small_state):
    def grown(f):
        s = small_state.copy()
        s["thk"] = small_state.thk * f
        s["usurf"] = s.topg + s.thk
        return s
    return {"glacier_a": [grown(0.8), grown(1.0)], "glacier_b": [grown(1.2)], "valley": [grown(0.5)]}


def test_score_store_per_glacier(small_state, tmp_path):
    split = {"glacier_a": "test", "glacier_b": "test", "valley": "train"}
    scale = {"glacier_a": 1.0, "glacier_b": 0.8, "valley": 3.0}
    path = write_store(_store(_states(small_state), scale, split, "sia"), tmp_path / "sia.zarr")
    data = open_store(path)
    result = score_store(data, flow_model_from_spec("sia"))
    assert set(result["per_domain"]) == {"glacier_a", "glacier_b"}  # the test split only
    assert result["per_domain"]["glacier_a"]["samples"] == 2
    # float32 storage of usurf (~2000 m, steps of 1e-4 m) perturbs the slopes by ~1e-6
    assert result["per_domain"]["glacier_a"]["fidelity"]["velbar"] == pytest.approx(1.0, abs=1e-5)
    # the stored reference is 0.8 u: |u - 0.8 u| / |0.8 u| = 0.25
    assert result["per_domain"]["glacier_b"]["fidelity"]["speed"] == pytest.approx(0.75, abs=1e-5)
    assert result["per_domain"]["glacier_b"]["rel_l2"]["velsurf"] == pytest.approx(0.25, abs=1e-5)
    assert 0.75 < result["all"]["fidelity"]["velbar"] < 1.0
    assert last_samples(data) == {"glacier_a": 1, "glacier_b": 2}
    groups = result["per_parameters"]
    assert sum(g["samples"] for g in groups.values()) == 3
    assert all(g["arrhenius"] > 0 and g["slidingco"] > 0 for g in groups.values())
    assert {name.split()[0] for name in groups} == {"glacier_a", "glacier_b"}
    two_models = score_store(data, flow_model_from_spec("sia"), reference=flow_model_from_spec("sia"))
    assert two_models["all"]["fidelity"]["velsurf"] == 1.0


def test_score_store_pair_cross_instructor(small_state, tmp_path):
    states = _states(small_state)
    split = {"glacier_a": "test", "glacier_b": "test", "valley": "train"}
    a = write_store(_store(states, dict.fromkeys(states, 1.0), split, "hybrid"), tmp_path / "h.zarr")
    ref_data = _store(states, dict.fromkeys(states, 2.0), split, "stokes")
    b = write_store(ref_data.isel(sample=[1, 2, 3]), tmp_path / "s.zarr")  # one snapshot missing
    result = score_store_pair(open_store(a), open_store(b))
    assert (result["model"], result["reference"]) == ("hybrid", "stokes")
    assert result["unmatched"] == 1
    assert result["per_domain"]["glacier_a"]["samples"] == 1
    # u against 2 u: fidelity 1 - |u| / |2u| = 0.5
    assert result["all"]["fidelity"]["velbar"] == pytest.approx(0.5, abs=1e-5)
    other = ref_data.copy()
    other["thk"] = other.thk + 5.0
    c = write_store(other, tmp_path / "other.zarr")
    with pytest.raises(InputError, match="same states"):
        score_store_pair(open_store(a), open_store(c))


def test_score_cli_on_store(small_state, tmp_path, capsys):
    split = {"glacier_a": "test", "glacier_b": "val", "valley": "train"}
    states = _states(small_state)
    path = write_store(_store(states, dict.fromkeys(states, 1.0), split, "sia"), tmp_path / "s.zarr")
    assert main(["score", "--model", "sia", "--store", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["per_domain"]) == ["glacier_a"]
    assert result["reference"] == "sia"
