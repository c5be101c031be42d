"""Speed harness: resampling, warm-up and median, the ladder and its CLI, FLOP counting."""

import json
import time

import numpy as np
import pytest

from evaluation.efficiency import emulator_efficiency, emulator_flops, sgemm_rate
from evaluation.resample import resample
from evaluation.speed import add_speedups, format_table, next_snapshot, speed_ladder
from evaluation.timing import time_call
from glacier.io import write_dataset
from icebench.cli import main


def test_resample_keeps_extent_and_square_cells(small_state):
    # small_state: 12 x 10 cells of 100 m, x in [-50, 1150] m, y in [-50, 950] m
    out = resample(small_state, 24)
    assert (out.sizes["x"], out.sizes["y"]) == (24, 20)
    dx = float(out.x[1] - out.x[0])
    assert dx == pytest.approx(50.0)
    assert float(out.y[1] - out.y[0]) == pytest.approx(dx)
    assert float(out.x[0]) - dx / 2 == pytest.approx(-50.0)
    assert float(out.x[-1]) + dx / 2 == pytest.approx(1150.0)
    assert float(out.y[0]) - dx / 2 == pytest.approx(-50.0)
    assert np.all(out.thk.values >= 0)
    np.testing.assert_allclose(out.usurf.values, out.topg.values + out.thk.values)
    # the bed is linear in x: bilinear resampling reproduces it inside the old centres
    inside = (out.x.values >= 0) & (out.x.values <= 1100)
    expected = np.broadcast_to(2000.0 - 0.05 * out.x.values[inside], (20, int(inside.sum())))
    np.testing.assert_allclose(out.topg.values[:, inside], expected)
    coarse = resample(small_state, 6)
    assert (coarse.sizes["x"], coarse.sizes["y"]) == (6, 5)
    assert float(coarse.x[1] - coarse.x[0]) == pytest.approx(200.0)


def test_time_call_excludes_warmup_and_takes_median():
    delays = iter([0.3, 0.01, 0.08, 0.02])

    def work():
        time.sleep(next(delays))

    timing = time_call(work, repeats=3)
    assert timing["warmup_seconds"] >= 0.3
    assert len(timing["times"]) == 3
    assert timing["seconds"] == sorted(timing["times"])[1]
    assert 0.02 <= timing["seconds"] < 0.08


def test_speedups_on_the_same_grid():
    rows = [{"model": "stokes", "nx": 8, "ny": 8, "seconds": 10.0},
            {"model": "hybrid", "nx": 8, "ny": 8, "seconds": 2.0},
            {"model": "emu", "nx": 8, "ny": 8, "seconds": 0.1},
            {"model": "emu", "nx": 16, "ny": 16, "seconds": 0.2}]
    add_speedups(rows)
    assert rows[2]["speedup_vs_stokes"] == pytest.approx(100.0)
    assert rows[2]["speedup_vs_hybrid"] == pytest.approx(20.0)
    assert rows[3]["speedup_vs_stokes"] is None


def test_next_snapshot_thickens_the_ice_on_the_same_mask(small_state):
    after = next_snapshot(small_state, growth=0.01)
    np.testing.assert_allclose(after.thk.values, 1.01 * small_state.thk.values)
    np.testing.assert_allclose(after.usurf.values, after.topg.values + after.thk.values)
    np.testing.assert_array_equal(after.thk.values > 0, small_state.thk.values > 0)


class GuessRecorder:
    """A flow model that records the guess of every call (the protocol of glacier/flow.py)."""

    name = "recorder"

    def __init__(self):
        self.calls = []

    def velocity(self, state, guess=None):
        from glacier.sia import ClosedFormSIA

        self.calls.append((float(state.thk.sum()), guess))
        return ClosedFormSIA().velocity(state)


def test_ladder_times_a_warm_step_from_the_last_solution(small_state):
    model = GuessRecorder()
    rows = speed_ladder(small_state, {"rec": model}, [12], repeats=2)
    # warm-up, two repeats, then the next snapshot with the last solution as its guess
    assert len(model.calls) == 4
    assert all(guess is None for _, guess in model.calls[:3])
    thk_after, guess = model.calls[3]
    assert thk_after == pytest.approx(1.01 * model.calls[2][0])
    assert guess is not None and "ubar" in guess
    (row,) = rows
    assert row["warm_seconds"] > 0 and row["warmup_seconds"] > 0 and row["ranks"] >= 1
    assert row["warm_speedup_vs_stokes"] is None


def test_warm_speedups_and_table_blocks():
    rows = [{"model": "stokes", "nx": 8, "ny": 8, "seconds": 10.0, "warmup_seconds": 30.0,
             "warm_seconds": 4.0, "ice_cells": 10, "device": "cpu", "cores": 2, "ranks": 2},
            {"model": "emu", "nx": 8, "ny": 8, "seconds": 0.1, "warmup_seconds": 1.0,
             "warm_seconds": 0.1, "ice_cells": 10, "device": "cpu", "cores": 2, "ranks": 2}]
    add_speedups(rows)
    assert rows[1]["speedup_vs_stokes"] == pytest.approx(100.0)
    assert rows[1]["warm_speedup_vs_stokes"] == pytest.approx(40.0)
    table = format_table(rows)
    assert "cold" in table and "warm speed-up vs stokes" in table and "MPI ranks 2" in table
    assert "hybrid" not in table  # no hybrid row: no speed-up block against it


def test_failed_solve_is_a_row_without_speedups():
    rows = [{"model": "stokes", "nx": 8, "ny": 8, "seconds": None, "error": "diverged",
             "ice_cells": 10, "device": "cpu", "cores": 2},
            {"model": "sia", "nx": 8, "ny": 8, "seconds": 0.5, "ice_cells": 10, "device": "cpu",
             "cores": 2}]
    add_speedups(rows)
    assert rows[1]["speedup_vs_stokes"] is None and rows[0]["speedup_vs_stokes"] is None
    table = format_table(rows)
    assert "failed" in table and "0.5" in table


def test_bench_speed_cli_json(small_state, tmp_path, capsys):
    path = write_dataset(small_state, tmp_path / "state.nc")
    full = tmp_path / "speed.json"
    assert main(["bench", "speed", "--input", str(path), "--models", "sia,hybrid", "--sizes",
                 "16,24", "--repeats", "2", "--json", "--output", str(full),
                 "--plot", str(tmp_path / "speed.png")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["nx"]) for r in rows] == [("sia", 16), ("hybrid", 16), ("sia", 24),
                                                      ("hybrid", 24)]
    for r in rows:
        assert {"model", "nx", "ny", "seconds", "warm_seconds", "ranks", "speedup_vs_stokes",
                "warm_speedup_vs_stokes", "machine"} <= set(r)
        assert r["speedup_vs_stokes"] is None
        assert r["seconds"] > 0 and len(r["times"]) == 2
        assert r["machine"]["cores"] >= 1 and r["device"] == "cpu"
    hybrid = [r for r in rows if r["model"] == "hybrid"]
    assert all(r["speedup_vs_hybrid"] == 1.0 for r in hybrid)
    saved = json.loads(full.read_text())
    assert saved["sgemm"]["flops_per_s"] > 0
    assert (tmp_path / "speed.png").stat().st_size > 0
    # the same results twice, as from two machines, in one figure; bad input is refused
    figure = tmp_path / "both.png"
    assert main(["bench", "plot", str(full), str(full), "--labels", "CPU,GPU",
                 "--output", str(figure)]) == 0
    assert figure.stat().st_size > 0
    assert main(["bench", "plot", str(full), "--labels", "CPU,GPU", "--output", str(figure)]) == 2
    assert "names 2 results, but 1" in capsys.readouterr().err
    (tmp_path / "empty.json").write_text("{}")
    assert main(["bench", "plot", str(tmp_path / "empty.json"), "--output", str(figure)]) == 2
    assert "holds no speed rows" in capsys.readouterr().err


def _tiny_models():
    import keras
    from keras import layers

    inp = keras.Input((None, None, 3))
    x = layers.Conv2D(4, 3, padding="same")(inp)
    x = layers.LeakyReLU()(x)
    inner_in = keras.Input((None, None, 4))
    y = layers.Conv2D(5, 3, padding="valid", use_bias=False)(inner_in)
    y = layers.MaxPooling2D(2)(y)
    x = keras.Model(inner_in, y)(x)  # a nested model, as the zoo's core
    out = layers.Dense(2)(x)
    return keras.Model(inp, out)


def test_emulator_flops_by_hand():
    model = _tiny_models()
    h, w = 10, 12
    conv1 = 2 * 3 * 3 * 3 * 4 * h * w + 4 * h * w  # same padding, with bias
    conv2 = 2 * 3 * 3 * 4 * 5 * (h - 2) * (w - 2)  # valid padding, no bias
    dense = (h - 2) // 2 * (w - 2) // 2 * (2 * 5 * 2 + 2)  # after 2x2 pooling
    assert emulator_flops(model, h, w) == conv1 + conv2 + dense


def test_zoo_cnn_flops_and_efficiency():
    from emulator.zoo import build_model

    inputs, outputs = ["thk", "usurf", "slopsurfx"], ["ubar", "vbar"]
    model = build_model("cnn", inputs, outputs, [100.0, 1000.0, 0.1], [10.0, 10.0],
                        {"layers": 2, "filters": 4})
    h, w = 8, 6
    per_cell = (2 * 9 * 3 * 4 + 4) + (2 * 9 * 4 * 4 + 4) + (2 * 1 * 4 * 2 + 2)
    assert emulator_flops(model, h, w) == per_cell * h * w
    eff = emulator_efficiency(model, h, w, repeats=2)
    assert eff["flops"] == per_cell * h * w
    assert eff["flops_per_s"] == pytest.approx(eff["flops"] / eff["seconds"])
    assert 0 < eff["fraction_of_sgemm"] and eff["device"] == "cpu"


def test_sgemm_rate_is_measured():
    rate = sgemm_rate(n=256, repeats=2)
    assert rate["flops_per_s"] == pytest.approx(2 * 256 ** 3 / rate["seconds"])


def test_symmetrized_model_costs_eight_cores():
    from emulator.zoo import build_model, symmetrized

    inputs, outputs = ["thk", "slopsurfx", "slopsurfy"], ["ubar", "vbar"]
    core = build_model("cnn", inputs, outputs, [100.0, 0.1, 0.1], [10.0, 10.0],
                       {"layers": 2, "filters": 4})
    assert emulator_flops(symmetrized(core, inputs, outputs), 8, 8) == \
        8 * emulator_flops(core, 8, 8)


def test_zoo_unet_flops_on_the_padded_grid():
    from emulator.zoo import build_model

    model = build_model("unet", ["thk", "usurf", "slopsurfx"], ["ubar", "vbar"],
                        [100.0, 1000.0, 0.1], [10.0, 10.0], {"levels": 1, "filters": 4})

    def conv(k, cin, cout, cells):
        return (2 * k * k * cin * cout + cout) * cells

    fine, coarse = 8 * 8, 4 * 4  # a 7 x 7 grid is padded to 8 x 8, pooled to 4 x 4
    expected = (conv(3, 3, 4, fine) + conv(3, 4, 4, fine)  # down0a, down0b
                + conv(3, 4, 8, coarse) + conv(3, 8, 8, coarse)  # bottom
                + conv(3, 8, 4, fine)  # up0_proj after up-sampling
                + conv(3, 8, 4, fine) + conv(3, 4, 4, fine)  # up0a on the skip concatenation, up0b
                + conv(1, 4, 2, fine))  # velocity
    assert emulator_flops(model, 7, 7) == expected
