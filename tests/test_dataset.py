"""Training-data generation and assembly: runs with two instructors -> Zarr stores."""

import json

import numpy as np
import pytest
import xarray as xr

from glacier.dataset import (FORMAT_VERSION, INPUTS, OUTPUTS, assemble, assign_splits,
                             open_store, summary, verify_store, write_store)
from glacier.datagen import sample_parameters, simulate_run
from glacier.errors import InputError, SolverError
from glacier.flow import get_flow_model, register
from glacier.geometry import build_domain

GRID = {"resolution": 200.0, "nx": 20, "ny": 16}
INSTRUCTORS = {"sia": {"model": "sia"}, "flaky": {"model": "flaky-sia"},
               "recovering": {"model": "flaky-sia", "options": {"fail_calls": [1]}}}
SIMULATION = {"years": 20.0, "output_interval": 5.0}


@register("flaky-sia")
def _flaky(fail_calls=(1, 2)):
    """A real SIA solve that reports non-convergence (as a solver would) on the calls whose
    number modulo 4 is in ``fail_calls``: by default twice in a row every other snapshot, so
    the retry fails too; with ``[1]`` only first attempts fail and every retry succeeds."""
    sia = get_flow_model("sia", sliding=True)

    class Flaky:
        name, calls = "flaky-sia", 0

        def velocity(self, state, guess=None):
            self.calls += 1
            if self.calls % 4 in fail_calls:
                raise SolverError("forced: DIVERGED_LINE_SEARCH", {"converged": False})
            return sia.velocity(state)

    return Flaky()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    files = {}
    for domain, spec in (("real", {"topography": "aletsch_100m", "x0": 420500, "y0": 5146500}),
                         ("v1", {"synthetic_seed": 1}), ("v2", {"synthetic_seed": 2})):
        state = build_domain(spec, GRID)
        params = sample_parameters({"arrhenius": [60, 90], "slidingco": [0.04, 0.1]}, 7, 0,
                                   domain, state.thk.shape, 200.0)
        run = simulate_run(state, {"ela": 2900.0}, params, SIMULATION, INSTRUCTORS, "sia")
        files[(domain, "growth", 0)] = path = folder / f"{domain}.nc"
        run.to_netcdf(path)
    return files


def test_run_holds_every_instructor_on_the_same_states(runs):
    run = xr.open_dataset(runs[("v1", "growth", 0)])
    np.testing.assert_array_equal(run.time, [0, 5, 10, 15, 20])
    assert run.sia_converged.all()
    # twice-failing solves (first attempt and its retry) are flagged, NaN and kept apart
    np.testing.assert_array_equal(run.flaky_converged, [False, True, True, False, True])
    assert np.isnan(run.flaky_ubar.values[~run.flaky_converged.values]).all()
    # a solve that fails once is retried from a cold start and succeeds
    assert run.recovering_converged.all()
    retries = json.loads(run.attrs["retries"])
    assert retries["recovering"] == 2 and retries["flaky"] == 2


def test_assembled_store(runs, tmp_path):
    splits = assign_splits(["real", "v1", "v2"], ["real"], ["v2"], ["real"])
    data = assemble(runs, "flaky", splits, {"seed": 7})
    # t = 0 has no ice and is dropped; non-converged snapshots are excluded and counted
    expected, failed = 0, 0
    for path in runs.values():
        run = xr.open_dataset(path)
        ok = run.flaky_converged.values
        expected += int((ok & (run.thk.max(("x", "y")).values > 1)).sum())
        failed += int((~ok).sum())
    assert data.sizes["sample"] == expected and data.attrs["excluded_total"] == failed >= 6
    assert set(data.data_vars) == set(INPUTS) | set(OUTPUTS)
    assert set(np.unique(data.split.values)) <= {"train", "val", "test"}
    assert (data.split.values[data.domain.values == "real"] == "test").all()
    assert data.attrs["normalisation"]["thk"]["std"] > 0
    path = write_store(data, tmp_path / "flaky.zarr")
    back = open_store(path)
    assert back.thk.chunks is not None and back.attrs["format_version"] == FORMAT_VERSION
    assert verify_store(path)[0]
    text = summary(back)
    assert "excluded snapshots (solver did not converge)" in text and "thk" in text


def test_data_commands(runs, tmp_path, capsys):
    from icebench.cli import main
    splits = assign_splits(["real", "v1", "v2"], ["real"], ["v2"], ["real"])
    path = write_store(assemble(runs, "sia", splits, {}), tmp_path / "sia.zarr")
    assert main(["-q", "data", "inspect", str(path), "--figure", str(tmp_path / "s.png")]) == 0
    out = capsys.readouterr().out
    assert "samples per split: train" in out and (tmp_path / "s.png").stat().st_size > 10_000
    assert main(["-q", "data", "verify", str(path)]) == 0
    assert "content hash matches" in capsys.readouterr().out


def test_same_inputs_same_hash_and_tamper_detected(runs, tmp_path):
    splits = assign_splits(["real", "v1", "v2"], ["real"], [], ["real"])
    a = assemble(runs, "sia", splits, {})
    b = assemble(runs, "sia", splits, {})
    assert a.attrs["content_hash"] == b.attrs["content_hash"]
    path = write_store(a, tmp_path / "sia.zarr")
    tampered = open_store(path).load()
    tampered["thk"][0, 5, 5] += 1.0
    tampered.to_zarr(tmp_path / "t.zarr", consolidated=False)
    assert not verify_store(tmp_path / "t.zarr")[0]


def test_split_rules():
    with pytest.raises(InputError, match="no real-topography domain"):
        assign_splits(["real", "v1"], ["v1"], [], ["real"])
    with pytest.raises(InputError, match="unknown domain"):
        assign_splits(["real", "v1"], ["real", "nope"], [], ["real"])
    with pytest.raises(InputError, match="both test and val"):
        assign_splits(["real", "v1"], ["real"], ["real"], ["real"])


def test_parameter_samples_are_seeded():
    spec = {"arrhenius": [20, 100], "slidingco": [0.01, 0.1], "variation": 0.3}
    a = sample_parameters(spec, 1, 0, "d", (10, 12), 200.0)
    b = sample_parameters(spec, 1, 0, "d", (10, 12), 200.0)
    c = sample_parameters(spec, 1, 1, "d", (10, 12), 200.0)
    np.testing.assert_array_equal(a["arrhenius"], b["arrhenius"])
    assert not np.allclose(a["arrhenius"], c["arrhenius"])
    assert 20 * 0.7 <= a["arrhenius"].min() and a["arrhenius"].max() <= 100 * 1.3
    assert a["arrhenius"].std() > 0


def test_per_domain_parameter_samples_differ_between_domains():
    shared = {"arrhenius": [20, 100], "slidingco": [0.01, 0.1]}
    own = {**shared, "per_domain": True}
    mean = lambda spec, domain: float(sample_parameters(spec, 1, 0, domain, (4, 4), 200.0)["arrhenius"].mean())
    assert mean(shared, "d1") == mean(shared, "d2")
    assert mean(own, "d1") != mean(own, "d2")
    assert mean(own, "d1") == mean(own, "d1")


def test_store_of_another_format_version_is_refused(runs, tmp_path):
    splits = assign_splits(["real", "v1", "v2"], ["real"], [], ["real"])
    data = assemble(runs, "sia", splits, {})
    data.attrs["format_version"] = 0
    path = write_store(data, tmp_path / "old.zarr")
    with pytest.raises(InputError, match="format_version 0; this icebench reads 1"):
        open_store(path)
    with pytest.raises(InputError, match="does not exist"):
        open_store(tmp_path / "none.zarr")
