"""Fidelity of emulated velocities against the instructor's, over ice-covered cells.

For a vector field u = (u_x, u_y) (m a-1), over the cells with thk > ``ice_threshold`` (m) of
all samples together:

- fidelity    = 1 - sum |u_emu - u_ref| / sum |u_ref|,
- relative L2 = sqrt(sum |u_emu - u_ref|^2 / sum |u_ref|^2),

with |.| the vector magnitude (DESIGN.md). Sums accumulate over batches, so a split of any
size is scored without holding it in memory.
"""

import numpy as np

PAIRS = {"velbar": ("ubar", "vbar"), "velsurf": ("uvelsurf", "vvelsurf"),
         "velbase": ("uvelbase", "vvelbase")}
"""The vector fields scored: name -> (x component, y component)."""


class FidelityAccumulator:
    """Accumulates the sums of the fidelity and relative-L2 scores over batches."""

    def __init__(self, outputs: list[str]):
        self.outputs = list(outputs)
        self.sums = {name: np.zeros(4) for name in PAIRS if set(PAIRS[name]) <= set(outputs)}

    def add(self, pred: np.ndarray, ref: np.ndarray, ice: np.ndarray) -> None:
        """Add a batch: ``pred``, ``ref`` (..., y, x, outputs) in m a-1, ``ice`` (..., y, x) bool."""
        index = {f: i for i, f in enumerate(self.outputs)}
        for name in self.sums:
            ix, iy = (index[c] for c in PAIRS[name])
            err = np.hypot(pred[..., ix] - ref[..., ix], pred[..., iy] - ref[..., iy])[ice]
            mag = np.hypot(ref[..., ix], ref[..., iy])[ice]
            self.sums[name] += [err.sum(), mag.sum(), (err ** 2).sum(), (mag ** 2).sum()]

    def scores(self) -> dict[str, float]:
        """``fidelity_<pair>`` and ``rel_l2_<pair>`` for each scored pair (NaN without ice)."""
        out = {}
        for name, (e1, m1, e2, m2) in self.sums.items():
            out[f"fidelity_{name}"] = float(1.0 - e1 / m1) if m1 > 0 else float("nan")
            out[f"rel_l2_{name}"] = float(np.sqrt(e2 / m2)) if m2 > 0 else float("nan")
        return out


def fidelity(pred: np.ndarray, ref: np.ndarray, ice: np.ndarray, outputs: list[str]) -> dict:
    """Scores of one set of arrays (see FidelityAccumulator)."""
    acc = FidelityAccumulator(outputs)
    acc.add(pred, ref, ice)
    return acc.scores()
