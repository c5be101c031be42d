"""Fidelity of emulated velocities against the instructor's, over ice-covered cells.

For a vector field u = (u_x, u_y) (m a-1), over the cells with thk > ``ice_threshold`` (m) of
all samples together:

- fidelity    = 1 - sum |u_emu - u_ref| / sum |u_ref|,
- relative L2 = sqrt(sum |u_emu - u_ref|^2 / sum |u_ref|^2),

with |.| the vector magnitude (docs/design.md). Sums accumulate over batches, so a split of any
size is scored without holding it in memory.
"""

import numpy as np

from glacier.metrics import PAIRS, add_sums, masked_error_sums, scores


class FidelityAccumulator:
    """Accumulates the sums of the fidelity and relative-L2 scores over batches (the sums and
    scores of glacier.metrics, so training and evaluation share one definition)."""

    def __init__(self, outputs: list[str]):
        self.outputs = list(outputs)
        self.pairs = [name for name in PAIRS if set(PAIRS[name]) <= set(outputs)]
        self.sums = None

    def add(self, pred: np.ndarray, ref: np.ndarray, ice: np.ndarray) -> None:
        """Add a batch: ``pred``, ``ref`` (..., y, x, outputs) in m a-1, ``ice`` (..., y, x) bool."""
        def fields(a):
            return {f: a[..., i] for i, f in enumerate(self.outputs)}
        self.sums = add_sums(self.sums, masked_error_sums(fields(pred), fields(ref), ice, self.pairs))

    def scores(self) -> dict[str, float]:
        """``fidelity_<pair>`` and ``rel_l2_<pair>`` for each scored pair (NaN without ice)."""
        if self.sums is None:
            return {f"{k}_{name}": float("nan") for name in self.pairs for k in ("fidelity", "rel_l2")}
        s = scores(self.sums)
        return {f"{k}_{name}": float(s[k][name]) for name in self.pairs
                for k in ("fidelity", "rel_l2")}


def fidelity(pred: np.ndarray, ref: np.ndarray, ice: np.ndarray, outputs: list[str]) -> dict:
    """Scores of one set of arrays (see FidelityAccumulator)."""
    acc = FidelityAccumulator(outputs)
    acc.add(pred, ref, ice)
    return acc.scores()
