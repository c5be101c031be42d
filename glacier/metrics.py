"""Fidelity and relative L2 error of velocity fields against a reference (docs/design.md).

Over the ice-covered cells (``thk`` > ``ICE_THRESHOLD`` m), for a vector field u (m a-1):

- fidelity = 1 - sum |u - u_ref| / sum |u_ref|
- rel_l2   = sqrt(sum |u - u_ref|^2 / sum |u_ref|^2)

with |.| the vector magnitude. The fields scored (``SCORED``) are the three (x, y) pairs of the
IGM velocities and the surface speed |(uvelsurf, vvelsurf)|, a scalar, whose error is
| |u| - |u_ref| |. Scores are computed from four sums per field (``error_sums``) that add up over
samples, so a glacier or a split is scored by adding its samples' sums (``add_sums``) and
converting once (``scores``). A field whose reference is zero everywhere under the ice (e.g. the
basal velocity without sliding) has no defined score: NaN (``null`` in JSON).
"""

import numpy as np

ICE_THRESHOLD = 1.0
"""Cells with thk above this (m) are scored."""

PAIRS = {"velbar": ("ubar", "vbar"), "velsurf": ("uvelsurf", "vvelsurf"),
         "velbase": ("uvelbase", "vvelbase")}
"""The vector fields: name -> (x component, y component), all m a-1."""

SPEED = "speed"
"""The surface speed |(uvelsurf, vvelsurf)| (m a-1), scored as a scalar."""

SCORED = (*PAIRS, SPEED)

_SUM_KEYS = ("err_l1", "ref_l1", "err_l2", "ref_l2")


def _components(vel, name: str) -> tuple[np.ndarray, np.ndarray]:
    ux, uy = PAIRS["velsurf" if name == SPEED else name]
    return np.asarray(vel[ux], dtype=float), np.asarray(vel[uy], dtype=float)


def error_sums(vel, ref, thk, threshold: float = ICE_THRESHOLD) -> dict[str, dict[str, float]]:
    """The sums behind the scores of ``vel`` against ``ref`` over cells with thk > threshold.

    ``vel`` and ``ref`` map the six velocity names to arrays (m a-1) of one shape (an
    ``xr.Dataset`` or a dict; extra leading axes such as samples are fine), ``thk`` (m) has that
    shape too. Returns ``{field: {"err_l1", "ref_l1", "err_l2", "ref_l2", "cells"}}`` with
    sum |e|, sum |u_ref| (m a-1), sum |e|^2, sum |u_ref|^2 (m2 a-2) and the cell count.
    """
    return masked_error_sums(vel, ref, np.asarray(thk, dtype=float) > threshold)


def masked_error_sums(vel, ref, ice, fields=SCORED) -> dict[str, dict[str, float]]:
    """``error_sums`` over the cells where the boolean ``ice`` is true, for ``fields`` (names
    of SCORED; their velocity components must be in ``vel`` and ``ref``)."""
    ice = np.asarray(ice, dtype=bool)
    sums = {}
    for name in fields:
        px, py = (c[ice] for c in _components(vel, name))
        rx, ry = (c[ice] for c in _components(ref, name))
        ref_mag = np.hypot(rx, ry)
        err = np.abs(np.hypot(px, py) - ref_mag) if name == SPEED else np.hypot(px - rx, py - ry)
        sums[name] = {"err_l1": float(err.sum()), "ref_l1": float(ref_mag.sum()),
                      "err_l2": float((err ** 2).sum()), "ref_l2": float((ref_mag ** 2).sum()),
                      "cells": int(ice.sum())}
    return sums


def add_sums(a: dict | None, b: dict) -> dict:
    """The element-wise sum of two ``error_sums`` results (``a`` may be None: returns ``b``)."""
    if a is None:
        return {name: dict(values) for name, values in b.items()}
    return {name: {k: a[name][k] + b[name][k] for k in (*_SUM_KEYS, "cells")} for name in b}


def scores(sums: dict) -> dict[str, dict[str, float]]:
    """``{"fidelity": {field: value}, "rel_l2": {field: value}}`` from ``error_sums`` sums
    (dimensionless; NaN where the reference is zero under the ice or there is no ice)."""
    fid, rel = {}, {}
    for name, s in sums.items():
        fid[name] = 1.0 - s["err_l1"] / s["ref_l1"] if s["ref_l1"] > 0 else float("nan")
        rel[name] = float(np.sqrt(s["err_l2"] / s["ref_l2"])) if s["ref_l2"] > 0 else float("nan")
    return {"fidelity": fid, "rel_l2": rel}


def fidelity_scores(vel, ref, thk, threshold: float = ICE_THRESHOLD) -> dict[str, dict[str, float]]:
    """Fidelity and relative L2 error of ``vel`` against ``ref`` (see ``error_sums``)."""
    return scores(error_sums(vel, ref, thk, threshold))


def json_ready(value):
    """A copy of nested dicts/lists of scores with NaN replaced by None (JSON ``null``)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
