"""``GlacierBatches``: a keras.utils.PyDataset of (inputs, targets) batches from a store, made
by ``make_batches`` for one split."""

import numpy as np
import keras
import xarray as xr

from glacier.dataset import open_store
from glacier.errors import InputError
from emulator.augment import allowed_transforms, transform
from emulator.data import read_samples, run_subset, split_indices


IN_MEMORY_MB = 2048.0
"""Largest split (MiB of float32 inputs and targets) kept in memory and shuffled globally."""


def crop_window(field: np.ndarray, size: int, threshold: float, rng: np.random.Generator
                ) -> tuple[slice, slice]:
    """A size x size window (clipped to the grid) centred on a random cell where ``field``
    (y, x) exceeds ``threshold`` (e.g. an ice mask and 0.5), or anywhere if none does."""
    ny, nx = field.shape
    hy, hx = min(size, ny), min(size, nx)
    cells = np.argwhere(field > threshold)
    cy, cx = cells[rng.integers(len(cells))] if len(cells) else (rng.integers(ny), rng.integers(nx))
    y0 = int(np.clip(cy - hy // 2, 0, ny - hy))
    x0 = int(np.clip(cx - hx // 2, 0, nx - hx))
    return slice(y0, y0 + hy), slice(x0, x0 + hx)


def epoch_order(chunk_of: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions 0..n-1 shuffled by chunk: chunks in random order, samples shuffled within
    each chunk, so consecutive positions share a chunk. ``chunk_of[i]``: chunk of position i."""
    order = []
    for c in rng.permutation(np.unique(chunk_of)):
        members = np.nonzero(chunk_of == c)[0]
        order.extend(rng.permutation(members))
    return np.asarray(order, dtype=int)


def store_chunk(data: xr.Dataset) -> int:
    """Samples per chunk of the store (1 when not chunked)."""
    chunks = data.thk.chunks
    return int(chunks[0][0]) if chunks else 1


class GlacierBatches(keras.utils.PyDataset):
    """Batches of samples of one split: inputs (b, y, x, len(inputs)) in the fields' units,
    targets (b, y, x, len(outputs) + 1) in m a-1 with the ice mask last.

    Whole grids when ``patch_size`` is None, else one patch_size x patch_size window per
    sample around a random ice cell. A split of at most IN_MEMORY_MB is read once and kept in
    memory; with ``shuffle`` its samples are then visited in a fresh random order every epoch.
    A larger split stays lazy and is shuffled by chunk (chunks in random order, samples shuffled
    within each), which reads each chunk once per epoch but puts consecutive snapshots of one
    run in the same batch: fine for stores of many runs, harmful for small ones (the paper CNN
    did not learn at all from 8-sample batches of single runs on the 32 x 32 library store).
    ``repeats`` > 1 visits every sample that many times per epoch (each visit its own patch and
    symmetry): longer epochs for small stores, so that the per-epoch work (validation,
    checkpoint) does not dominate on a fast device. ``targets="inputs"`` makes the inputs the
    targets too (for the energy loss, which needs the state and no velocity). With
    ``augment``, each sample gets one of the 8 grid symmetries (4 reflections on non-square
    grids). Batch ``i`` of epoch ``e`` depends only on (seed, e, i), so a training
    resumed at epoch ``e`` (set ``epoch``) sees the same batches as an uninterrupted one.
    """

    def __init__(self, data, indices, inputs, outputs, batch_size, patch_size=None,
                 augment=False, shuffle=False, seed=0, ice_threshold=1.0, targets="velocities",
                 repeats=1, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.indices = np.asarray(indices)
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.batch_size = int(batch_size)
        self.patch_size = patch_size
        self.augment, self.shuffle = augment, shuffle
        self.seed, self.ice_threshold = int(seed), float(ice_threshold)
        if targets not in ("velocities", "inputs"):
            raise ValueError(f"targets must be 'velocities' or 'inputs', got {targets!r}")
        self.targets = targets
        self.repeats = int(repeats)
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {repeats}")
        self.epoch = 0
        channels = len(self.inputs) + len(self.outputs) + 1
        size_mb = len(self.indices) * data.sizes["y"] * data.sizes["x"] * channels * 4 / 2**20
        self._cache = None
        if size_mb <= IN_MEMORY_MB:
            self._cache = read_samples(data, self.indices, self.inputs, self.outputs,
                                       self.ice_threshold)
        self._chunk_of = (np.arange(len(self.indices)) if self._cache is not None
                          else self.indices // store_chunk(data))
        self._order_epoch = None
        self._order = np.tile(np.arange(len(self.indices)), self.repeats)

    def __len__(self):
        return -(-len(self.indices) * self.repeats // self.batch_size)

    def _positions(self, index: int) -> np.ndarray:
        if self.shuffle and self._order_epoch != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = np.concatenate([epoch_order(self._chunk_of, rng)
                                          for _ in range(self.repeats)])
            self._order_epoch = self.epoch
        return self._order[index * self.batch_size: (index + 1) * self.batch_size]

    def __getitem__(self, index):
        positions = self._positions(index)
        if self._cache is not None:
            x, y = self._cache[0][positions], self._cache[1][positions]
        else:
            x, y = read_samples(self.data, self.indices[positions], self.inputs, self.outputs,
                                self.ice_threshold)
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        if self.patch_size:
            windows = [crop_window(ice, self.patch_size, 0.5, rng) for ice in y[..., -1]]
            x = np.stack([s[w] for s, w in zip(x, windows)])
            y = np.stack([s[w] for s, w in zip(y, windows)])
        if self.augment:
            choices = allowed_transforms(*x.shape[1:3])
            ks = rng.choice(choices, size=len(x))
            x = np.stack([transform(s, self.inputs, k) for s, k in zip(x, ks)])
            y = np.stack([transform(s, [*self.outputs, "icemask"], k) for s, k in zip(y, ks)])
        return (x, x) if self.targets == "inputs" else (x, y)


def make_batches(store, split: str, inputs: list[str], outputs: list[str], batch_size: int,
                 patch_size: int | None = None, augment: bool = False, shuffle: bool = False,
                 seed: int = 0, ice_threshold: float = 1.0, targets: str = "velocities",
                 runs_fraction: float = 1.0, repeats: int = 1, **kwargs):
    """A ``GlacierBatches`` PyDataset (see there) over one split of ``store`` (a path or
    an opened store), or over the samples of a share ``runs_fraction`` of its runs
    (``emulator.data.run_subset``, drawn by ``seed``). ``kwargs`` go to PyDataset (workers,
    use_multiprocessing)."""
    data = store if isinstance(store, xr.Dataset) else open_store(store)
    idx = split_indices(data, split)
    if len(idx) == 0:
        raise InputError(f"the {split} split of the store is empty")
    idx = run_subset(data, idx, runs_fraction, seed)
    return GlacierBatches(data, idx, inputs, outputs, batch_size, patch_size, augment,
                          shuffle, seed, ice_threshold, targets, repeats, **kwargs)
