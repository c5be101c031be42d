"""``GlacierBatches``: a keras.utils.PyDataset of (inputs, targets) batches from a store."""

import numpy as np
import keras

from emulator.augment import allowed_transforms, transform
from emulator.data import crop_window, epoch_order, read_samples, store_chunk


IN_MEMORY_MB = 2048.0
"""Largest split (MiB of float32 inputs and targets) kept in memory and shuffled globally."""


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
    With ``augment``, each sample gets one of the 8 grid symmetries (4 reflections on
    non-square grids). Batch ``i`` of epoch ``e`` depends only on (seed, e, i), so a training
    resumed at epoch ``e`` (set ``epoch``) sees the same batches as an uninterrupted one.
    """

    def __init__(self, data, indices, inputs, outputs, batch_size, patch_size=None,
                 augment=False, shuffle=False, seed=0, ice_threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.indices = np.asarray(indices)
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.batch_size = int(batch_size)
        self.patch_size = patch_size
        self.augment, self.shuffle = augment, shuffle
        self.seed, self.ice_threshold = int(seed), float(ice_threshold)
        self.epoch = 0
        channels = len(self.inputs) + len(self.outputs) + 1
        size_mb = len(self.indices) * data.sizes["y"] * data.sizes["x"] * channels * 4 / 2**20
        self._cache = None
        if size_mb <= IN_MEMORY_MB:
            self._cache = read_samples(data, self.indices, self.inputs, self.outputs,
                                       self.ice_threshold)
        self._chunk_of = (np.arange(len(self.indices)) if self._cache is not None
                          else self.indices // store_chunk(data))
        self._order_epoch, self._order = None, np.arange(len(self.indices))

    def __len__(self):
        return -(-len(self.indices) // self.batch_size)

    def _positions(self, index: int) -> np.ndarray:
        if self.shuffle and self._order_epoch != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order, self._order_epoch = epoch_order(self._chunk_of, rng), self.epoch
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
        return x, y
