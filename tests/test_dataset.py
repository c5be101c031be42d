"""Training-data generation and assembly: runs with two instructors -> Zarr stores, the border
rule and the coverage figure. The runs' domains are windows and valleys whose glaciers reach the
border, so the stores keep those snapshots (``keep_border_ice=True``) unless a test says."""

import json

import numpy as np
import pytest
import xarray as xr

from glacier.coverage import QUANTITIES, coverage_figure
from glacier.dataset import (FORMAT_VERSION, INPUTS, OUTPUTS, assemble, assign_splits,
                             open_store, summary, touches_border, verify_store, write_store)
from glacier.datagen import sample_parameters, simulate_run
from glacier.errors import InputError, SolverError
from glacier.fields import make_state
from glacier.flow import get_flow_model
from glacier.geometry import build_domain

GRID = {"resolution": 200.0, "nx": 20, "ny": 16}
INSTRUCTORS = {"sia": {"model": "sia"}, "flaky": {"model": "flaky-sia"},
               "recovering": {"model": "flaky-sia", "options": {"fail_calls": [1]}}}
SIMULATION = {"years": 20.0, "output_interval": 5.0}


def flaky_sia(fail_calls=(1, 2)):
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
def runs(tmp_path_factory, add_flow_models):
    add_flow_models({"flaky-sia": f"{__name__}:flaky_sia"})
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
    np.testing.assert_array_equal(run.touches_border, touches_border(run.thk.values))


def test_a_costly_instructor_solves_every_kth_snapshot(tmp_path):
    """``every: 2``: the instructor solves snapshots 0, 2, 4 of five; its store holds those
    with ice (the first has none) and counts no failure; a run without the instructor (not among its ``domains``)
    gives it no sample and is no error."""
    state = build_domain({"synthetic_seed": 1}, GRID)
    params = sample_parameters({"arrhenius": [60, 90], "slidingco": [0.04, 0.1]}, 7, 0, "v1",
                               state.thk.shape, 200.0)
    instructors = {"sia": {"model": "sia"}, "sparse": {"model": "sia", "every": 2}}
    run = simulate_run(state, {"ela": 2900.0}, params, SIMULATION, instructors, "sia")
    np.testing.assert_array_equal(run.sparse_solved, [True, False, True, False, True])
    assert run.sia_solved.all()
    assert np.isnan(run.sparse_ubar.values[1]).all() and np.isfinite(run.sparse_ubar.values[2]).all()
    paths = {("v1", "growth", 0): tmp_path / "v1.nc", ("v2", "growth", 0): tmp_path / "v2.nc"}
    run.to_netcdf(paths[("v1", "growth", 0)])
    run.drop_vars([v for v in run.data_vars if v.startswith("sparse_")]).to_netcdf(
        paths[("v2", "growth", 0)])
    data = assemble(paths, "sparse", {"v1": "train", "v2": "val"}, {}, keep_border_ice=True)
    np.testing.assert_array_equal(data.time, [10.0, 20.0])       # t = 0 has no ice yet
    assert set(data.domain.values) == {"v1"} and data.attrs["excluded_total"] == 0
    assert assemble(paths, "sia", {"v1": "train", "v2": "val"}, {},
                    keep_border_ice=True).sizes["sample"] == 8


def test_assembled_store(runs, tmp_path):
    splits = assign_splits(["real", "v1", "v2"], ["real"], ["v2"], ["real"])
    data = assemble(runs, "flaky", splits, {"seed": 7}, keep_border_ice=True)
    # t = 0 has no ice and is dropped; non-converged snapshots are excluded and counted, and so
    # are the snapshots with ice on the border (kept here)
    expected, failed, border = 0, 0, 0
    for path in runs.values():
        run = xr.open_dataset(path)
        ok = run.flaky_converged.values
        expected += int((ok & (run.thk.max(("x", "y")).values > 1)).sum())
        failed += int((~ok).sum())
        border += int((ok & run.touches_border.values).sum())
    assert data.sizes["sample"] == expected and data.attrs["excluded_total"] == failed >= 6
    assert data.attrs["border_ice_total"] == border > 0 and data.attrs["keep_border_ice"]
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
    assert f"snapshots whose ice touches the domain border: {border}, kept" in text


def test_data_commands(runs, tmp_path, capsys):
    from icebench.cli import main
    splits = assign_splits(["real", "v1", "v2"], ["real"], ["v2"], ["real"])
    path = write_store(assemble(runs, "sia", splits, {}, keep_border_ice=True),
                       tmp_path / "sia.zarr")
    assert main(["-q", "data", "inspect", str(path), "--figure", str(tmp_path / "s.png"),
                 "--coverage", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "samples per split: train" in out and (tmp_path / "s.png").stat().st_size > 10_000
    assert (tmp_path / "c.png").stat().st_size > 10_000
    assert main(["-q", "data", "verify", str(path)]) == 0
    assert "content hash matches" in capsys.readouterr().out


def test_same_inputs_same_hash_and_tamper_detected(runs, tmp_path):
    splits = assign_splits(["real", "v1", "v2"], ["real"], [], ["real"])
    a = assemble(runs, "sia", splits, {}, keep_border_ice=True)
    b = assemble(runs, "sia", splits, {}, keep_border_ice=True)
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
    data = assemble(runs, "sia", splits, {}, keep_border_ice=True)
    data.attrs["format_version"] = 0
    path = write_store(data, tmp_path / "old.zarr")
    with pytest.raises(InputError, match="format_version 0; this icebench reads 1"):
        open_store(path)
    with pytest.raises(InputError, match="does not exist"):
        open_store(tmp_path / "none.zarr")


def _tiny_run(thk: np.ndarray) -> xr.Dataset:
    """A run file of the instructor ``sia`` with the snapshots ``thk`` (time, y, x; m) on a bed
    sloping from 2000 m along x, 100 m cells, every solve converged, velocities 1 m/a."""
    ny, nx = thk.shape[1:]
    state = make_state(100.0 * np.arange(nx), 100.0 * np.arange(ny),
                       topg=np.broadcast_to(2000.0 + 10.0 * np.arange(nx), (ny, nx)))
    run = xr.Dataset({"thk": (("time", "y", "x"), thk),
                      "usurf": (("time", "y", "x"), state.topg.values + thk)},
                     coords={"time": 10.0 * np.arange(len(thk)), "x": state.x, "y": state.y})
    for name in ("topg", "icemask", "arrhenius", "slidingco"):
        run[name] = state[name]
    for f in OUTPUTS:
        run[f"sia_{f}"] = (("time", "y", "x"), np.ones_like(thk))
    run["sia_converged"] = ("time", np.ones(len(thk), dtype=bool))
    run["sia_seconds"] = ("time", np.zeros(len(thk)))
    return run


def test_snapshots_with_ice_on_the_border_are_left_out_and_counted(tmp_path):
    """Three snapshots: no ice, a glacier inside the domain, a glacier reaching the last column
    (2 m there: a glacier cut by its window). The store keeps only the whole glacier and counts
    the cut one; with ``keep_border_ice`` it keeps both and still counts it."""
    thk = np.zeros((3, 8, 8))
    thk[1, 2:6, 2:6] = 50.0
    thk[2, 2:6, 2:8] = 50.0
    thk[2, 2:6, 7] = 2.0
    np.testing.assert_array_equal(touches_border(thk), [False, False, True])
    assert not touches_border(np.pad(np.full((4, 4), 50.0), 2, constant_values=1.0))  # 1 m: no ice
    path = tmp_path / "d.nc"
    _tiny_run(thk).to_netcdf(path)
    runs = {("d", "growth", 0): path}
    data = assemble(runs, "sia", {"d": "train"}, {})
    np.testing.assert_array_equal(data.time, [10.0])
    assert data.attrs["border_ice"] == {"d/growth/0": 1} and data.attrs["border_ice_total"] == 1
    assert "touches the domain border: 1, left out" in summary(data)
    kept = assemble(runs, "sia", {"d": "train"}, {}, keep_border_ice=True)
    np.testing.assert_array_equal(kept.time, [10.0, 20.0])
    assert kept.attrs["border_ice_total"] == 1
    _tiny_run(thk[[0, 2]]).to_netcdf(path)
    with pytest.raises(InputError, match="1 left out because their ice touches the domain border"):
        assemble(runs, "sia", {"d": "train"}, {})


def test_domains_of_several_sizes_share_a_padded_store(tmp_path):
    """An 8 x 8 and a 12 x 10 domain: the store is 12 x 10; the small domain's samples are
    padded with ice-free cells at rest (thk, velocities, slopes 0) on the bed continued from
    its edge, and keep their own extent; the large one's are unchanged."""
    small, large = np.zeros((2, 8, 8)), np.zeros((1, 12, 10))
    small[:, 2:6, 2:6], large[0, 3:9, 2:8] = 50.0, 80.0
    runs = {}
    for name, thk in (("small", small), ("large", large)):
        runs[(name, "growth", 0)] = tmp_path / f"{name}.nc"
        _tiny_run(thk).to_netcdf(runs[(name, "growth", 0)])
    data = assemble(runs, "sia", {"small": "train", "large": "test"}, {})
    assert dict(data.sizes) == {"sample": 3, "y": 12, "x": 10}
    padded = data.isel(sample=np.nonzero(data.domain.values == "small")[0])
    np.testing.assert_array_equal(padded.ny_domain, [8, 8])
    np.testing.assert_array_equal(padded.nx_domain, [8, 8])
    np.testing.assert_array_equal(padded.thk.values[:, :8, :8], small)
    for name in ("thk", "ubar", "slopsurfx", "icemask"):
        assert not padded[name].values[:, 8:, :].any() and not padded[name].values[:, :, 8:].any()
    np.testing.assert_array_equal(padded.topg.values[0, :, 8:], 2070.0)   # its last column
    whole = data.isel(sample=np.nonzero(data.domain.values == "large")[0])
    np.testing.assert_array_equal(whole.thk.values[0], large[0])
    assert int(whole.nx_domain[0]) == 10


def test_a_dem_domain_of_its_own_size_grows_ice_on_one_massif():
    """A domain entry's nx, ny override the grid's; outline_elevation restricts the icemask to
    the massif above it that holds the window's summit (here the highest of the window)."""
    grid = {"resolution": 200.0, "nx": 20, "ny": 16}
    spec = {"topography": "ticino_200m", "x0": 470000.0, "y0": 5150000.0, "nx": 30, "ny": 24}
    window = build_domain(spec, grid)
    assert window.thk.shape == (24, 30) and window.icemask.values.all()
    top = float(window.topg.max())
    massif = build_domain({**spec, "outline_elevation": top - 300.0}, grid)
    mask = massif.icemask.values > 0.5
    assert 0 < mask.sum() < mask.size
    assert np.all(massif.topg.values[mask] > top - 300.0)
    assert mask[np.unravel_index(np.argmax(massif.topg.values), mask.shape)]


def test_a_dem_domain_can_start_as_a_mature_glacier():
    """``estimate``: the window is read as a surface, the massif above outline_elevation holds
    ice of estimated thickness (glacier/geometry.py outlined_glacier, capped by min_slope at
    basal_stress / (0.8 rho g sin(atan 0.025)) = 840 m), bed = surface - thickness, and the
    massif is the icemask."""
    spec = {"topography": "ticino_200m", "x0": 465323.0, "y0": 5154000.0, "nx": 30, "ny": 24,
            "outline_elevation": 2300.0,
            "estimate": {"basal_stress": 0.15, "min_slope": 0.025, "slope_scale": 1000.0}}
    grid = {"resolution": 200.0, "nx": 20, "ny": 16}
    surface = build_domain({k: v for k, v in spec.items() if k != "estimate"}, grid).topg.values
    state = build_domain(spec, grid)
    ice = state.thk.values > 1.0
    assert ice.any() and state.thk.values.max() <= 0.15 / (0.8 * 910 * 9.81e-6 * np.sin(np.arctan(0.025))) + 1e-6
    np.testing.assert_allclose(state.usurf.values, surface, atol=1e-9)
    assert np.all(state.icemask.values[ice] == 1.0)
    assert np.all(surface[state.icemask.values > 0.5] > 2300.0)
    with pytest.raises(InputError, match="above the outline elevation 3500 m"):
        build_domain({**spec, "outline_elevation": 3500.0}, grid)


def test_coverage_figure_counts_every_group(runs, tmp_path):
    """The coverage figure of a store: one group per split and per held-out glacier, with the
    samples and ice cells of each, and every ice cell in one bin of each histogram."""
    splits = assign_splits(["real", "v1", "v2"], ["real"], ["v2"], ["real"])
    data = open_store(write_store(assemble(runs, "sia", splits, {}, keep_border_ice=True),
                                  tmp_path / "sia.zarr"))
    cov = coverage_figure(data, tmp_path / "coverage.png")
    assert (tmp_path / "coverage.png").stat().st_size > 10_000
    groups = cov["groups"]
    assert list(groups) == ["train", "val", "test", "val: v2", "test: real"]
    ice = (data.thk > 1.0).sum(("y", "x")).values
    for name, members in [("train", data.split == "train"), ("val", data.split == "val"),
                          ("test", data.split == "test"), ("val: v2", data.domain == "v2"),
                          ("test: real", data.domain == "real")]:
        members = members.values
        assert groups[name]["samples"] == members.sum() > 0
        assert groups[name]["cells"] == ice[members].sum() > 0
        for q in QUANTITIES:
            assert groups[name]["counts"][q].sum() == groups[name]["cells"]
    for split, glacier in (("val", "val: v2"), ("test", "test: real")):  # one glacier each
        for q in QUANTITIES:
            np.testing.assert_array_equal(groups[split]["counts"][q], groups[glacier]["counts"][q])


def test_a_generation_under_way_can_be_assembled(tmp_path, capsys):
    """``icebench data assemble``: the run files made so far of a workflow config, under its
    data_dir, in one store (here 1 of the 2 runs), split and recorded as the workflow does;
    ``--starts-only`` takes the start-state files alone."""
    import yaml
    from glacier.dataset import run_path, start_path
    from icebench.cli import main

    config = {"results_dir": str(tmp_path / "results"), "data_dir": str(tmp_path / "data"),
              "seed": 1, "grid": {"resolution": 100, "nx": 8, "ny": 8},
              "domains": {"d": {"synthetic_seed": 1},
                          "real": {"topography": "aletsch_100m", "x0": 420500, "y0": 5146500}},
              "splits": {"test": ["real"]}, "climates": {"growth": {"ela": 2900}},
              "parameters": {"samples": 1, "arrhenius": [60, 90], "slidingco": [0.04, 0.1]},
              "instructors": {"sia": {"model": "sia"}}, "driver": "sia",
              "simulation": {"years": 20, "output_interval": 10}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    thk = np.zeros((2, 8, 8))
    thk[1, 2:6, 2:6] = 50.0
    run = run_path(tmp_path / "data", "d", "growth", 0)
    run.parent.mkdir(parents=True)
    _tiny_run(thk).to_netcdf(run)
    assert main(["data", "assemble", "--config", str(path), "--instructor", "sia"]) == 0
    assert "1 samples from 1 of 2 runs" in capsys.readouterr().out
    data = open_store(tmp_path / "data" / "data" / "sia_partial.zarr")
    assert list(data.split.values) == ["train"] and data.attrs["runs_assembled"] == "1 of 2"
    assert main(["data", "assemble", "--config", str(path), "--instructor", "stokes"]) == 2
    assert "instructor 'stokes' is not in" in capsys.readouterr().err
    assert main(["data", "assemble", "--config", str(path), "--instructor", "sia",
                 "--starts-only"]) == 2
    assert "no start-state file" in capsys.readouterr().err

    config["domains"]["m"] = {"topography": "ticino_200m", "x0": 465323.0, "y0": 5154000.0,
                              "outline_elevation": 2300.0, "runs": False,
                              "estimate": {"basal_stress": 0.15}}
    config["start_states"] = 1
    path.write_text(yaml.safe_dump(config))
    start = start_path(tmp_path / "data", "m", 0)
    start.parent.mkdir(parents=True)
    _tiny_run(thk[1:]).to_netcdf(start)
    assert main(["data", "assemble", "--config", str(path), "--instructor", "sia",
                 "--starts-only", "--out", str(tmp_path / "starts.zarr")]) == 0
    assert "1 samples from 1 of 1 runs" in capsys.readouterr().out
    assert list(open_store(tmp_path / "starts.zarr").domain.values) == ["m"]


def test_start_states_of_glaciers_of_estimated_thickness(tmp_path):
    """``start_states``: the glaciers of estimated thickness (held-out ones too, not the grown
    ones) get k samples of their start state under A and c of their own draws,
    solved once by every instructor; the store lists them under the climate 'start'. A domain
    with ``runs: false`` gets its start states and no run."""
    from glacier.dataset import START, START_DRAWS, data_files, start_domains
    from glacier.datagen import draw_estimate, solve_start

    massif = {"topography": "ticino_200m", "x0": 465323.0, "y0": 5154000.0, "nx": 20,
              "ny": 16, "outline_elevation": 2300.0,
              "estimate": {"basal_stress": 0.15, "min_slope": 0.025, "slope_scale": 1000.0}}
    config = {"domains": {"m_train": {**massif, "runs": True}, "m_test": {**massif, "runs": True},
                          "m_only": {**massif, "runs": False},
                          "grown": {"synthetic_seed": 1, "runs": True}},
              "splits": {"test": ["m_test"], "val": []}, "climates": {"growth": {}},
              "parameters": {"samples": 1}, "start_states": 2,
              "start_thickness": {"samples": 1, "basal_stress": [0.08, 0.25],
                                  "slope_scale": [500.0, 2000.0]}}
    assert start_domains(config) == ["m_only", "m_test", "m_train"]
    files = data_files(config, tmp_path)
    assert {k for k in files if k[1] == START} == {
        (d, START, k) for d in ("m_only", "m_test", "m_train") for k in (0, 1, 2)}
    # runs: false: start states only, no run of that domain
    assert {k[0] for k in files if k[1] != START} == {"m_train", "m_test", "grown"}
    with pytest.raises(InputError, match="may not be named 'start'"):
        data_files({**config, "climates": {START: {}}}, tmp_path)
    with pytest.raises(InputError, match=r"\['m_only'\] have runs: false but get no start"):
        data_files({**config, "start_states": 0, "start_thickness": {"samples": 0}}, tmp_path)
    # a window with outline_elevation but no estimate starts ice-free (ice grows on its massif):
    # runs, no start state; without runs it has nothing to make, refused before any job
    bare = {k: v for k, v in massif.items() if k != "estimate"}
    grown_massif = {**config, "domains": {**config["domains"], "m_grown": {**bare, "runs": True}}}
    files = data_files(grown_massif, tmp_path)
    assert "m_grown" not in start_domains(grown_massif)
    assert {k[1] for k in files if k[0] == "m_grown"} == set(config["climates"])
    no_estimate = {**config, "domains": {**config["domains"], "m_only": {**bare, "runs": False}}}
    with pytest.raises(InputError, match=r"\['m_only'\] have runs: false but get no start"):
        data_files(no_estimate, tmp_path)
    # the sample on a bed of its own draws its estimate: reproducible, in the ranges, the
    # domain's other keywords kept, another draw for another sample or domain
    drawn = draw_estimate(config["start_thickness"], massif["estimate"], 7, "m_train", 2)
    assert drawn == draw_estimate(config["start_thickness"], massif["estimate"], 7, "m_train", 2)
    assert 0.08 <= drawn["basal_stress"] <= 0.25 and 500 <= drawn["slope_scale"] <= 2000
    assert drawn["min_slope"] == 0.025
    for other in (("m_train", 3), ("m_test", 2)):
        assert draw_estimate(config["start_thickness"], massif["estimate"], 7, *other) != drawn

    state = build_domain(massif, {"resolution": 200.0, "nx": 20, "ny": 16})
    spec = {"arrhenius": [20, 150], "slidingco": [0.02, 1.0], "per_domain": True}
    samples = {}
    for k in range(2):
        params = sample_parameters(spec, 7, START_DRAWS + k, "m_train", state.thk.shape, 200.0)
        run = solve_start(state, params, {"sia": {"model": "sia"}, "sliding": {
            "model": "sia", "options": {"sliding": True}}}, "sia")
        assert run.sizes["time"] == 1 and float(run.time[0]) == 0.0
        np.testing.assert_array_equal(run.thk.values[0], state.thk.values)
        assert run.sia_converged.all() and run.sliding_converged.all()
        assert np.abs(run.sliding_ubar.values).max() > np.abs(run.sia_ubar.values).max() > 0
        samples[("m_train", START, k)] = path = tmp_path / f"start_{k}.nc"
        run.to_netcdf(path)
    run_draw = sample_parameters(spec, 7, 0, "m_train", state.thk.shape, 200.0)["slidingco"]
    draws = [float(xr.open_dataset(p).slidingco.mean()) for p in samples.values()]
    assert len({*draws, float(run_draw.mean())}) == 3   # draws of their own
    data = assemble(samples, "sia", {"m_train": "train"}, {"seed": 7}, keep_border_ice=True)
    assert data.sizes["sample"] == 2 and set(map(str, data.climate.values)) == {START}
