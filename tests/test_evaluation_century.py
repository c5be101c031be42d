"""Century runs (evaluation/century.py), a small real version: a valley glacier at 100 m driven
by the hybrid instructor, the companion library's hybrid emulator and the closed-form SIA under
the same warming climate and renewal schedule, in resumable chunks."""

import json

import numpy as np
import pytest

from evaluation.century import compare_drivers, driver_run, file_digest, table, warming_climate
from evaluation.figures import century_figure
from glacier.errors import InputError
from glacier.evolve import EvolveSettings, grow_glacier
from glacier.fields import complete_state
from glacier.flow import flow_model_from_spec
from glacier.geometry import synthetic_valley

CLIMATE = {"ela": [[0, 2900.0], [50, 3000.0]], "grad_abl": 0.009, "grad_acc": 0.005,
           "max_acc": 2.0}


@pytest.fixture(scope="module")
def glacier():
    state = complete_state(synthetic_valley(2, nx=20, ny=16, resolution=100.0),
                           arrhenius=78.0, slidingco=0.05)
    return grow_glacier(state, years=30.0, ela=2900.0)


def test_warming_climate_starts_at_the_climate_and_rises():
    climate = warming_climate(CLIMATE, start=25.0, years=100.0, ela_rise=200.0)
    assert climate["ela"] == [[0.0, 2950.0], [100.0, 3150.0]]
    assert climate["grad_abl"] == CLIMATE["grad_abl"]


def test_century_runs_compare_and_resume(glacier, tmp_path):
    settings = EvolveSettings(years=6.0, output_interval=2.0, velocity_interval=1.0)
    climate = warming_climate(CLIMATE, 0.0, settings.years, 100.0)
    drivers = {"hybrid": "hybrid", "emulator-hybrid": "emulator:hybrid", "sia": "sia"}
    runs = {}
    for label, spec in drivers.items():
        out = tmp_path / f"{label}.nc"
        model = flow_model_from_spec(spec)
        identity = {"spec": spec}
        if label == "emulator-hybrid":
            identity["weights"] = file_digest(model.source)
        runs[label] = driver_run(glacier, model, climate, settings, out, 4.0, identity)
        assert out.exists() and not (tmp_path / f"{label}.nc.partial").exists()
        assert runs[label].attrs["complete"] == 1 and runs[label].attrs["wall_time_s"] > 0
        np.testing.assert_allclose(runs[label].time, [0, 2, 4, 6])
    rows = compare_drivers(runs, "hybrid")
    by = {r["driver"]: r for r in rows}
    assert by["hybrid"]["end_rel_volume_diff"] == 0.0 and by["hybrid"]["speedup_vs_hybrid"] == 1.0
    for label in ("emulator-hybrid", "sia"):
        assert np.isfinite(by[label]["end_thk_rmse_m"]) and by[label]["speedup_vs_hybrid"] > 0
    text = table(rows, "hybrid")
    assert text.count("\n") == 2 + len(drivers) and "| emulator-hybrid | 6 |" in text
    json.dumps(rows)
    century_figure(runs, "hybrid", tmp_path / "century.png", title="valley")
    assert (tmp_path / "century.png").stat().st_size > 10_000


def test_an_interrupted_run_resumes_and_refuses_another(glacier, tmp_path):
    """A chunk left in the partial file is continued, not redone; another identity is
    refused before any work."""
    settings = EvolveSettings(years=4.0, output_interval=2.0, velocity_interval=1.0)
    climate = warming_climate(CLIMATE, 0.0, settings.years, 100.0)
    model = flow_model_from_spec("sia")
    whole = driver_run(glacier, model, climate, settings, tmp_path / "whole.nc", 4.0, {})
    first = driver_run(glacier, model, climate, EvolveSettings(years=2.0, output_interval=2.0,
                                                                 velocity_interval=1.0),
                       tmp_path / "first.nc", 2.0, {})
    # the first half, as an interrupted 4-year run leaves it: its identity is the 4-year one's
    first.attrs["run_identity"] = json.dumps(
        {"model": model.name, "climate": climate, "settings": vars(settings),
         "start_volume_m3": float(glacier.thk.sum())}, sort_keys=True, default=str)
    first.attrs["complete"] = 0
    first.to_netcdf(tmp_path / "resumed.nc.partial")
    resumed = driver_run(glacier, model, climate, settings, tmp_path / "resumed.nc", 2.0, {})
    np.testing.assert_allclose(resumed.thk.values, whole.thk.values, atol=1e-9)
    (tmp_path / "other.nc.partial").write_bytes((tmp_path / "resumed.nc").read_bytes())
    with pytest.raises(InputError, match="other settings"):
        driver_run(glacier, model, climate, settings, tmp_path / "other.nc", 2.0, {"x": 1})


def _run(times, volume, seconds, stopped=None, speed=100.0):
    """A run of 3 x 3 cells of 10 m of ice flowing along x at ``speed`` (m/a; half of it at
    the bed)."""
    import xarray as xr
    n = len(times)
    fields = {"thk": 10.0, "ubar": speed, "vbar": 0.0, "uvelsurf": speed, "vvelsurf": 0.0,
              "uvelbase": speed / 2, "vvelbase": 0.0}
    run = xr.Dataset({**{k: (("time", "y", "x"), np.full((n, 3, 3), v)) for k, v in fields.items()},
                      "volume": ("time", np.asarray(volume, float)),
                      "area": ("time", np.full(n, 9e4))}, coords={"time": times},
                     attrs={"wall_time_s": seconds})
    if stopped:
        run.attrs["stopped"] = stopped
    return run


def test_runs_that_stopped_early_are_compared_as_far_as_both_got():
    runs = {"stokes": _run([0, 2, 4], [1.0, 1.1, 1.2], 100.0, stopped="thicker than 5000 m"),
            "emulator_stokes": _run([0, 2, 4, 6], [1.0, 1.0, 1.32, 1.5], 0.5, speed=90.0),
            "short": _run([0, 2], [1.0, 0.99], 0.1, stopped="out of range")}
    rows = {r["driver"]: r for r in compare_drivers(runs, "stokes")}
    assert rows["emulator_stokes"]["time_a"] == [0, 2, 4]
    assert rows["emulator_stokes"]["end_rel_volume_diff"] == pytest.approx(0.1)
    assert rows["short"]["time_a"] == [0, 2] and rows["short"]["years_reached"] == 2
    # the first solve of each run, on the same state, scored against the reference's
    assert rows["emulator_stokes"]["start_fidelity"]["velbar"] == pytest.approx(0.9)
    assert rows["stokes"]["start_fidelity"]["velbase"] == pytest.approx(1.0)
    # a run cut short is not a faster one: no speed-up where either stopped
    assert all(r["speedup_vs_stokes"] is None for r in rows.values())


def test_bench_century_cli_runs_compares_and_reuses(glacier, tmp_path, capsys):
    """``icebench bench century``: every driver's run, the table against the reference, and a
    second call that reuses the finished runs instead of making them again."""
    from glacier.io import write_dataset
    from icebench.cli import main

    state = write_dataset(glacier, tmp_path / "state.nc")
    out = tmp_path / "runs"
    argv = ["bench", "century", "--input", str(state), "--models", "hybrid,sia",
            "--reference", "hybrid", "--years", "4", "--ela", "2900", "--ela-rise", "100",
            "--output-interval", "2", "--chunk-years", "2", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| hybrid | 4 |" in text and "| sia | 4 |" in text
    assert "| 1.000 |" in text  # the hybrid's first solve against itself
    rows = json.loads((out / "century.json").read_text())
    assert [r["driver"] for r in rows] == ["hybrid", "sia"] and rows[1]["speedup_vs_hybrid"] > 0
    assert (out / "century.png").stat().st_size > 10_000
    stamp = (out / "sia.nc").stat().st_mtime_ns
    assert main(argv) == 0  # the finished runs are reused
    assert (out / "sia.nc").stat().st_mtime_ns == stamp
    assert json.loads((out / "century.json").read_text())[1]["seconds"] == rows[1]["seconds"]
    capsys.readouterr()
    assert main(argv[:-2] + ["--reference", "stokes", "--out", str(out)]) == 2
    assert "--reference 'stokes' is not among" in capsys.readouterr().err
    assert main([*argv[:12], "--ela-rise", "50", *argv[14:]]) == 2  # other settings: refused
    assert "other settings" in capsys.readouterr().err
