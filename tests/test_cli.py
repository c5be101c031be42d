"""The icebench command: help, info, evolve on the bundled Aletsch topography."""

import json
import subprocess
import sys

import numpy as np
import xarray as xr

from glacier.geometry import TOPOGRAPHIES
from icebench.cli import main


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "icebench.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("info", "evolve"):
        assert command in out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cores"] >= 1
    assert info["petsc"].startswith("3.26")
    assert info["firedrake"] and info["keras"] and info["zarr"].startswith("3.")


def test_evolve_grows_aletsch(tmp_path):
    """icebench evolve --model sia --input aletsch --years 100 --ela 3000 grows ice in the mask."""
    out = tmp_path / "run.nc"
    code = main(["-q", "evolve", "--model", "sia", "--input", str(TOPOGRAPHIES["aletsch_100m"]),
                 "--years", "100", "--ela", "3000", "--output", str(out)])
    assert code == 0
    run = xr.open_dataset(out)
    inside = run.icemask.values > 0.5
    thk = run.thk.values
    assert np.all(thk[0] == 0)
    vol = [(t[inside]).sum() for t in thk]
    assert np.all(np.diff(vol) > 0), "ice volume inside the mask must grow every snapshot"
    assert thk[-1][inside].max() > 50.0
    assert thk[-1][~inside].max() < 1.0 + 1e-9 or thk[-1][~inside].sum() < 1e-3 * thk[-1].sum()
    assert run.thk.attrs["units"] == "m" and run.ubar.attrs["units"] == "m a-1"


def test_evolve_in_chunks_resumes_and_refuses_other_options(tmp_path, capsys):
    """``--chunk-years``: the run equals the unchunked one, a rerun with the same options only
    reads the finished file back, and other options are refused naming the file."""
    base = ["-q", "evolve", "--model", "sia", "--input", str(TOPOGRAPHIES["aletsch_100m"]),
            "--years", "20", "--ela", "3000", "--output-interval", "10"]
    whole, chunked = tmp_path / "whole.nc", tmp_path / "chunked.nc"
    assert main(base + ["--output", str(whole)]) == 0
    for _ in range(2):
        assert main(base + ["--output", str(chunked), "--chunk-years", "10"]) == 0
    a, b = xr.open_dataset(whole), xr.open_dataset(chunked)
    assert b.attrs["complete"] == 1 and b.time.values.tolist() == [0.0, 10.0, 20.0]
    np.testing.assert_allclose(b.thk.values, a.thk.values, rtol=1e-12, atol=1e-9)
    code = main(base[:-4] + ["--ela", "3100", "--output-interval", "10", "--output",
                             str(chunked), "--chunk-years", "10"])
    assert code == 2
    assert "holds a run of other settings" in capsys.readouterr().err


def test_evolve_retrain_every_needs_an_emulator_and_no_chunks(tmp_path, capsys):
    """``--retrain-every`` is refused, before any work, for a solver and with ``--chunk-years``
    (the fine-tuned weights would not survive a resume)."""
    base = ["-q", "evolve", "--input", str(TOPOGRAPHIES["aletsch_100m"]), "--years", "10",
            "--ela", "3000", "--retrain-every", "10"]
    assert main(base + ["--model", "sia", "--output", str(tmp_path / "a.nc")]) == 2
    assert "not one" in capsys.readouterr().err
    assert main(base + ["--model", "emulator:hybrid", "--output", str(tmp_path / "b.nc"),
                        "--chunk-years", "5"]) == 2
    assert "drop --chunk-years" in capsys.readouterr().err
    assert not (tmp_path / "a.nc").exists() and not (tmp_path / "b.nc").exists()


def test_evolve_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    xr.Dataset({"usurf": (("y", "x"), np.full((5, 5), np.nan))},
               coords={"x": np.arange(5.0), "y": np.arange(5.0)}).to_netcdf(bad)
    code = main(["evolve", "--input", str(bad), "--years", "1", "--ela", "3000",
                 "--output", str(tmp_path / "o.nc")])
    assert code == 2
    assert "'usurf' has a NaN at cell (j=0, i=0)" in capsys.readouterr().err
    assert not (tmp_path / "o.nc").exists()


def test_json_output_is_pure_json():
    """A command that runs Firedrake prints nothing but its JSON (PETSc must not read the
    command line as its options and report them as unused)."""
    out = subprocess.run([sys.executable, "-m", "icebench.cli", "ismip-hom", "--model", "hybrid",
                          "--exp", "D", "--length-km", "80", "--nx", "20", "--json"],
                         capture_output=True, text=True, check=True).stdout
    row = json.loads(out)
    assert row["experiment"] == "D" and row["max_surface_speed"] > row["min_surface_speed"] > 0


def test_data_windows_reproduces_the_start_only_windows_of_library_v002(tmp_path, capsys):
    """``icebench data windows``, run as config/library_v002.yaml's comments say, finds its
    windows again (same place, same outline elevation): the 96 x 96 ones (``_w``) on that config
    without the windows found, then the 64 x 64 ones (``_v``) with the ``_w`` ones back in. The
    massifs grown from their ice-free windows (outline, no estimate) came later, on windows the
    search had found, so they are left out too."""
    import yaml

    config = yaml.safe_load(open("config/library_v002.yaml"))
    grown = [d for d, spec in config["domains"].items()
             if "outline_elevation" in spec and "estimate" not in spec]
    assert len(grown) == 4
    for name in grown:
        del config["domains"][name]
    searches = (("_w", ["--size", "96", "--margin", "800", "--min-cells", "250",
                        "--max-cells", "2500", "--elevations", *map(str, range(2200, 3001, 50))]),
                ("_v", ["--size", "64", "--margin", "600", "--min-cells", "150",
                        "--max-cells", "1500", "--elevations", *map(str, range(2100, 3001, 50))]))
    found_before = {tag: {k: v for k, v in config["domains"].items() if tag in k}
                    for tag, _ in searches}
    assert (len(found_before["_w"]), len(found_before["_v"])) == (10, 7)
    for name in {**found_before["_w"], **found_before["_v"]}:
        del config["domains"][name]
    path = tmp_path / "config.yaml"
    for tag, options in searches:
        path.write_text(yaml.safe_dump(config))
        again = {}
        for dem, prefix in (("ticino_200m", f"ticino{tag}"), ("linth_200m", f"linth{tag}")):
            assert main(["data", "windows", "--config", str(path), "--topography", dem,
                         "--prefix", prefix, *options]) == 0
            lines = [line for line in capsys.readouterr().out.splitlines()
                     if not line.startswith("#")]
            for line in lines:
                again.update(yaml.safe_load(line.replace("*estimate", "null")))
        assert sorted(again) == sorted(found_before[tag])
        for name, spec in found_before[tag].items():
            assert (again[name]["x0"], again[name]["y0"], again[name]["outline_elevation"]) == \
                (spec["x0"], spec["y0"], spec["outline_elevation"])
        config["domains"].update(found_before[tag])
