"""Fidelity and relative L2 of hand-made velocity fields: exact values."""

import math

import numpy as np
import pytest

from glacier.fields import VELOCITY_FIELDS
from glacier.metrics import SCORED, add_sums, error_sums, fidelity_scores, json_ready, scores


def _fields(seed=0, shape=(5, 6)):
    rng = np.random.default_rng(seed)
    return {f: rng.uniform(-50.0, 50.0, shape) for f in VELOCITY_FIELDS}


def _thk(shape=(5, 6)):
    thk = np.full(shape, 100.0)
    thk[0, :] = 0.5  # thin ice and ice-free cells are not scored
    thk[:, 0] = 0.0
    return thk


def test_perfect_model_has_fidelity_one_and_zero_error():
    ref = _fields()
    result = fidelity_scores(ref, ref, _thk())
    assert result["fidelity"] == {f: 1.0 for f in SCORED}
    assert result["rel_l2"] == {f: 0.0 for f in SCORED}


def test_zero_model_has_fidelity_zero_and_unit_error():
    ref = _fields()
    zero = {f: np.zeros_like(v) for f, v in ref.items()}
    result = fidelity_scores(zero, ref, _thk())
    for f in SCORED:
        assert result["fidelity"][f] == pytest.approx(0.0, abs=1e-15)
        assert result["rel_l2"][f] == pytest.approx(1.0, rel=1e-15)


def test_scaled_field_has_fidelity_of_its_scale():
    ref = _fields()
    for scale in (0.9, 1.25):
        result = fidelity_scores({f: scale * v for f, v in ref.items()}, ref, _thk())
        for f in SCORED:
            assert result["fidelity"][f] == pytest.approx(1.0 - abs(scale - 1.0), rel=1e-13)
            assert result["rel_l2"][f] == pytest.approx(abs(scale - 1.0), rel=1e-13)


def test_vector_magnitude_and_masking_by_hand():
    # two ice cells: reference (3, 4) and (0, 0); model (0, 0) and (6, 8); one ice-free cell
    # with a huge error that must not count
    shape = (1, 3)
    ref = {f: np.zeros(shape) for f in VELOCITY_FIELDS}
    vel = {f: np.zeros(shape) for f in VELOCITY_FIELDS}
    ref["ubar"][0, 0], ref["vbar"][0, 0] = 3.0, 4.0
    vel["ubar"][0, 1], vel["vbar"][0, 1] = 6.0, 8.0
    vel["ubar"][0, 2] = 1e6
    thk = np.array([[10.0, 10.0, 0.9]])
    sums = error_sums(vel, ref, thk)["velbar"]
    assert sums == {"err_l1": 15.0, "ref_l1": 5.0, "err_l2": 125.0, "ref_l2": 25.0, "cells": 2}
    result = scores({"velbar": sums})
    assert result["fidelity"]["velbar"] == 1.0 - 15.0 / 5.0
    assert result["rel_l2"]["velbar"] == math.sqrt(5.0)


def test_speed_scores_magnitudes_not_directions():
    ref = _fields()
    rotated = dict(ref)  # the surface vector turned by 90 degrees: same speed, other direction
    rotated["uvelsurf"], rotated["vvelsurf"] = -ref["vvelsurf"], ref["uvelsurf"]
    result = fidelity_scores(rotated, ref, _thk())
    assert result["fidelity"]["speed"] == pytest.approx(1.0, abs=1e-14)
    assert result["fidelity"]["velsurf"] < 0.5


def test_sums_add_over_samples_like_one_pooled_array():
    a, b, ra, rb = _fields(1), _fields(2), _fields(3), _fields(4)
    thk = _thk()
    pooled = add_sums(error_sums(a, ra, thk), error_sums(b, rb, thk))
    stacked = error_sums({f: np.stack([a[f], b[f]]) for f in a},
                         {f: np.stack([ra[f], rb[f]]) for f in ra}, np.stack([thk, thk]))
    for f in SCORED:
        for key in ("err_l1", "ref_l1", "err_l2", "ref_l2", "cells"):
            assert pooled[f][key] == pytest.approx(stacked[f][key], rel=1e-13)


def test_zero_reference_gives_nan_and_json_null():
    ref = _fields()
    ref["uvelbase"][:] = 0.0
    ref["vvelbase"][:] = 0.0
    result = fidelity_scores(ref, ref, _thk())
    assert math.isnan(result["fidelity"]["velbase"])
    assert json_ready(result)["fidelity"]["velbase"] is None
    assert json_ready(result)["fidelity"]["velbar"] == 1.0
