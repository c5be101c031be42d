"""What a training store covers: histograms of thickness, surface slope, speed, A and c over its
ice cells, per split (train, val, test) and per held-out glacier (each val and test domain), and
the figure of them that the data summary and the model card show.

A store (glacier/dataset.py) is read in blocks of ``CHUNK`` samples, twice: once for the range
of each quantity, once for the counts, so a store larger than memory is covered too.
"""

from pathlib import Path

import numpy as np
import xarray as xr

from glacier.dataset import CHUNK, SPLITS
from glacier.figures import pyplot, save_figure
from glacier.metrics import ICE_THRESHOLD

SPEED_FLOOR = 0.1
"""Speeds (m a-1) below this fall into the lowest speed bin."""

QUANTITIES = {
    "thk": ("thickness (m)", False),
    "slope": ("surface slope |grad s|", False),
    "speed": (f"speed |(ubar, vbar)| (m/a, from {SPEED_FLOOR:g})", True),
    "arrhenius": ("A (MPa-3 a-1)", True),
    "slidingco": ("c (MPa a1/3 m-1/3)", True),
}
"""The quantities covered: name -> (axis label with units, whether binned logarithmically when
they span more than a factor of 10)."""

TARGETS = {"thk": 800.0, "speed": 1000.0}
"""The thickness (m) and speed (m a-1) that training data for real glaciers must reach: marked
on the figure."""


def groups(data: xr.Dataset) -> dict[str, np.ndarray]:
    """Sample masks by group: each split, then each held-out (val or test) glacier as
    ``<split>: <domain>``."""
    split, domain = (np.array([str(v) for v in data[c].values]) for c in ("split", "domain"))
    masks = {s: split == s for s in SPLITS}
    for s in ("val", "test"):
        for name in sorted(set(domain[split == s])):
            masks[f"{s}: {name}"] = domain == name
    return masks


def _values(block: xr.Dataset) -> dict[str, np.ndarray]:
    """Each quantity of QUANTITIES on a block of samples (sample, y, x), in its units."""
    return {
        "thk": block.thk.values,
        "slope": np.hypot(block.slopsurfx.values, block.slopsurfy.values),
        "speed": np.maximum(np.hypot(block.ubar.values, block.vbar.values), SPEED_FLOOR),
        "arrhenius": block.arrhenius.values,
        "slidingco": block.slidingco.values,
    }


def _blocks(data: xr.Dataset, threshold: float):
    """(sample slice, quantities, ice mask) per block of CHUNK samples of the store."""
    fields = ["thk", "slopsurfx", "slopsurfy", "ubar", "vbar", "arrhenius", "slidingco"]
    for start in range(0, data.sizes["sample"], CHUNK):
        part = slice(start, min(start + CHUNK, data.sizes["sample"]))
        block = data[fields].isel(sample=part).load()
        yield part, _values(block), block.thk.values > threshold


def _edges(lo: float, hi: float, log: bool, bins: int) -> np.ndarray:
    """``bins`` + 1 bin edges over [lo, hi], logarithmic if ``log`` and hi / lo > 10; a span
    of zero widens by 0.1 % (or 1e-9) on both sides."""
    if hi <= lo:
        pad = max(abs(lo) * 1e-3, 1e-9)
        lo, hi = lo - pad, hi + pad
    if log and lo > 0 and hi > 10 * lo:
        return np.geomspace(lo, hi, bins + 1)
    return np.linspace(lo, hi, bins + 1)


def coverage(data: xr.Dataset, threshold: float = ICE_THRESHOLD, bins: int = 40) -> dict:
    """Histograms of QUANTITIES over the ice cells (thk > ``threshold``, m) of a store.

    Returns ``{"edges": {quantity: bin edges}, "groups": {group: {"samples": n, "cells": n,
    "counts": {quantity: counts}}}}`` with the groups of ``groups``; every group's histograms
    share the same edges, spanning the whole store's ice cells.
    """
    lo = {q: np.inf for q in QUANTITIES}
    hi = {q: -np.inf for q in QUANTITIES}
    for _, values, ice in _blocks(data, threshold):
        for q in QUANTITIES:
            if ice.any():
                lo[q] = min(lo[q], float(values[q][ice].min()))
                hi[q] = max(hi[q], float(values[q][ice].max()))
    edges = {q: _edges(lo[q], hi[q], log, bins) if np.isfinite(lo[q])
             else np.linspace(0.0, 1.0, bins + 1) for q, (_, log) in QUANTITIES.items()}
    masks = groups(data)
    out = {g: {"samples": int(m.sum()), "cells": 0,
               "counts": {q: np.zeros(bins, dtype=np.int64) for q in QUANTITIES}}
           for g, m in masks.items()}
    for part, values, ice in _blocks(data, threshold):
        for g, m in masks.items():
            cells = ice & m[part][:, None, None]
            out[g]["cells"] += int(cells.sum())
            for q in QUANTITIES:
                out[g]["counts"][q] += np.histogram(values[q][cells], bins=edges[q])[0]
    return {"edges": edges, "groups": out}


def coverage_figure(data: xr.Dataset, path: str | Path, threshold: float = ICE_THRESHOLD,
                    bins: int = 40) -> dict:
    """A PNG of ``coverage``: the fraction of each group's ice cells per bin of each quantity,
    the splits in the top row, each held-out glacier in the bottom row, TARGETS dotted; returns
    the coverage."""
    plt = pyplot()

    cov = coverage(data, threshold, bins)
    fig, axes = plt.subplots(2, len(QUANTITIES), figsize=(3.3 * len(QUANTITIES), 6.4),
                             squeeze=False)
    rows = (list(SPLITS), [g for g in cov["groups"] if g not in SPLITS])
    colours = {g: f"C{k % 10}" for k, g in enumerate(cov["groups"])}
    for row, names in enumerate(rows):
        for col, (q, (label, log)) in enumerate(QUANTITIES.items()):
            ax = axes[row, col]
            for g in names:
                group = cov["groups"][g]
                if group["cells"]:
                    ax.stairs(group["counts"][q] / group["cells"], cov["edges"][q],
                              color=colours[g], label=f"{g} ({group['samples']} samples)")
            if q in TARGETS:
                ax.axvline(TARGETS[q], color="k", linestyle=":", linewidth=1)
            edges = cov["edges"][q]
            ax.set_xscale("log" if log and 0 < 10 * edges[0] < edges[-1] else "linear")
            ax.set_xlabel(label, fontsize=8)
        axes[row, 0].set_ylabel("fraction of ice cells")
        axes[row, 0].legend(fontsize=7, title="split" if row == 0 else "held-out glacier",
                            title_fontsize=7)
    targets = ", ".join(f"{q} {v:g}" for q, v in TARGETS.items())
    fig.suptitle(f"coverage of the {data.attrs.get('instructor', '')} store over ice "
                 f"(thk > {threshold:g} m); dotted: {targets}", fontsize=9)
    save_figure(fig, path)
    return cov
