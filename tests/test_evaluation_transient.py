"""Transient comparison of two SIA variants from the same state and climate."""

import numpy as np
import pytest

from evaluation.figures import thickness_maps, volume_plot
from evaluation.report import transient_section
from evaluation.transient import compare_runs, transient_comparison
from glacier.errors import InputError
from glacier.evolve import EvolveSettings, evolve
from glacier.fields import complete_state
from glacier.flow import get_flow_model
from glacier.geometry import synthetic_valley
from glacier.smb import ElaSmb


@pytest.fixture(scope="module")
def valley():
    return complete_state(synthetic_valley(3, nx=16, ny=12, resolution=200.0), slidingco=0.05)


SETTINGS = EvolveSettings(years=30.0, output_interval=10.0)


def test_same_model_has_no_difference(valley):
    numbers, run, ref = transient_comparison(valley, get_flow_model("sia"), get_flow_model("sia"),
                                             ElaSmb(ela=2900.0), SETTINGS)
    assert numbers["time_a"] == [0.0, 10.0, 20.0, 30.0]
    assert numbers["volume_m3"][-1] > 0
    assert numbers["max_abs_rel_volume_diff"] == 0.0
    assert numbers["end_thk_rmse_m"] == 0.0
    assert numbers["seconds"] > 0 and numbers["reference_seconds"] > 0


def test_sliding_against_no_sliding(valley, tmp_path):
    numbers, run, ref = transient_comparison(valley, get_flow_model("sia", sliding=True),
                                             get_flow_model("sia"), ElaSmb(ela=2900.0), SETTINGS)
    vol, vol_ref = run.volume.values, ref.volume.values
    np.testing.assert_allclose(numbers["rel_volume_diff"][1:], (vol[1:] - vol_ref[1:]) / vol_ref[1:])
    assert np.isnan(numbers["rel_volume_diff"][0])  # both start ice-free
    end, end_ref = run.thk.values[-1], ref.thk.values[-1]
    ice = (end > 1.0) | (end_ref > 1.0)
    assert numbers["end_thk_rmse_m"] == pytest.approx(np.sqrt(np.mean((end - end_ref)[ice] ** 2)))
    assert numbers["end_thk_rmse_m"] > 0.1  # sliding moves ice down-valley faster
    assert numbers["max_abs_rel_volume_diff"] == pytest.approx(
        np.nanmax(np.abs(np.array(numbers["rel_volume_diff"], dtype=float))))
    assert volume_plot(numbers, tmp_path / "v.png").stat().st_size > 0
    assert thickness_maps(run.x, run.y, end, end_ref, tmp_path / "t.png").stat().st_size > 0


def test_compare_runs_needs_the_same_times(valley):
    model = get_flow_model("sia")
    a = evolve(valley, model, ElaSmb(ela=2900.0), EvolveSettings(years=10.0, output_interval=5.0),
               show_progress=False)
    b = evolve(valley, model, ElaSmb(ela=2900.0), EvolveSettings(years=10.0, output_interval=10.0),
               show_progress=False)
    with pytest.raises(ValueError, match="output times"):
        compare_runs(a, b)


class PilingModel:
    """The SIA until the ice grows thicker than ``limit`` m, then an InputError, as an emulator
    that piles ice up meets the state validation."""

    name = "piling"

    def __init__(self, limit: float):
        self.limit, self.sia = limit, get_flow_model("sia")

    def velocity(self, state, guess=None):
        if float(state.thk.max()) > self.limit:
            raise InputError(f"field 'thk': thicker than {self.limit} m")
        return self.sia.velocity(state, guess)


def test_a_model_that_drives_the_ice_out_of_range_is_compared_as_far_as_it_got(valley):
    smb = ElaSmb(ela=2900.0)
    with pytest.raises(InputError, match="thicker"):
        evolve(valley, PilingModel(30.0), smb, SETTINGS, show_progress=False)
    numbers, run, ref = transient_comparison(valley, PilingModel(30.0), get_flow_model("sia"),
                                             smb, SETTINGS)
    assert 0 < numbers["years_reached"] < SETTINGS.years
    assert "thicker than 30.0 m" in numbers["stopped"]
    reached = run.sizes["time"]
    assert numbers["time_a"] == [0.0, 10.0, 20.0, 30.0][:reached]
    assert len(numbers["volume_ref_m3"]) == reached and ref.sizes["time"] == 4
    assert numbers["max_abs_rel_volume_diff"] == 0.0  # the SIA itself until it stopped
    text = "\n".join(transient_section([numbers]))
    assert f"{numbers['years_reached']:g} / 30" in text and "piling stopped after" in text
