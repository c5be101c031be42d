"""Reading the training datasets: per-instructor Zarr stores (format_version 1) as batches.

The store (see glacier.dataset) holds float32 fields on dims (sample, y, x): the inputs
``thk, usurf, topg, slopsurfx, slopsurfy, arrhenius, slidingco, icemask`` and the outputs
``ubar ... vvelbase`` (m a-1), the per-sample coordinates ``domain, climate, time (a), split,
dx (m)`` and the attributes ``instructor``, ``normalisation`` ({field: {mean, std}} over the
train split) and ``content_hash``. It is opened lazily (dask over zarr); a batch reads only
the samples it needs, and batches follow the store's chunks so each reads one or two chunks.

The model's input channels are store fields plus, optionally, ``dx``: the grid spacing (m)
as a constant field.
"""

import numpy as np
import xarray as xr

from glacier.dataset import open_store
from glacier.errors import InputError
from emulator.manifest import GRID_SPACING


def split_indices(data: xr.Dataset, split: str) -> np.ndarray:
    """Sample indices of one split (train, val or test), in store order."""
    return np.nonzero(split_labels(data) == split)[0]


def split_labels(data: xr.Dataset) -> np.ndarray:
    """The ``split`` coordinate as plain Python strings (the store may hold any string dtype)."""
    return np.array([str(v) for v in data.split.values], dtype=object)


def field_scales(data: xr.Dataset, fields: list[str], overrides: dict | None = None) -> list[float]:
    """Scale of each field, in its units: an override, else the root mean square over the
    train split, sqrt(mean^2 + std^2) from the store's ``normalisation``; ``dx``: the mean
    train grid spacing (m). A field that is zero everywhere gets 1."""
    overrides = overrides or {}
    stats = data.attrs.get("normalisation", {})
    scales = []
    for name in fields:
        if name in overrides:
            value = float(overrides[name])
        elif name == GRID_SPACING:
            value = float(np.mean(data.dx.values[split_indices(data, "train")]))
        elif name in stats:
            value = float(np.hypot(stats[name]["mean"], stats[name]["std"]))
        else:
            raise InputError(f"no statistics of field '{name}' in the store's normalisation "
                             f"(has {sorted(stats)}); give a scale in the config")
        scales.append(value if value > 0 else 1.0)
    return scales


def trained_ranges(data: xr.Dataset, ice_threshold: float = 1.0) -> dict:
    """What the train split covers: grid spacings (m) and the ranges of ``arrhenius``
    (MPa-3 a-1) and ``slidingco`` (MPa a1/3 m-1/3) over ice-covered cells."""
    idx = split_indices(data, "train")
    train = data[["thk", "arrhenius", "slidingco"]].isel(sample=idx)
    ice = train.thk > ice_threshold
    ranges = {"dx_m": sorted({round(float(v), 6) for v in data.dx.values[idx]})}
    for name in ("arrhenius", "slidingco"):
        field = train[name].where(ice)
        lo, hi = float(field.min().compute()), float(field.max().compute())
        ranges[name] = [lo, hi]
    return ranges


def read_samples(data: xr.Dataset, idx: np.ndarray, inputs: list[str], outputs: list[str],
                 ice_threshold: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, y, x, len(inputs)) in the fields' units and targets (n, y, x,
    len(outputs) + 1): the outputs in m a-1 and, last, the ice mask (thk > ice_threshold)."""
    order = np.argsort(idx)
    names = sorted({f for f in [*inputs, *outputs, "thk"] if f != GRID_SPACING})
    block = data[names].isel(sample=np.asarray(idx)[order]).compute()
    undo = np.argsort(order)

    def field(name):
        if name == GRID_SPACING:
            dx = block.dx.values.astype(np.float32)
            return np.broadcast_to(dx[:, None, None], block.thk.shape)
        return block[name].values

    x = np.stack([field(f) for f in inputs], axis=-1)[undo]
    mask = (block.thk.values > ice_threshold).astype(np.float32)
    y = np.stack([*(field(f) for f in outputs), mask], axis=-1)[undo]
    return x.astype(np.float32), y.astype(np.float32)


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


def make_batches(store, split: str, inputs: list[str], outputs: list[str], batch_size: int,
                 patch_size: int | None = None, augment: bool = False, shuffle: bool = False,
                 seed: int = 0, ice_threshold: float = 1.0, **kwargs):
    """A ``GlacierBatches`` PyDataset (see there) over one split of ``store`` (a path or
    an opened store). ``kwargs`` go to PyDataset (workers, use_multiprocessing)."""
    from emulator.batches import GlacierBatches

    data = store if isinstance(store, xr.Dataset) else open_store(store)
    idx = split_indices(data, split)
    if len(idx) == 0:
        raise InputError(f"the {split} split of the store is empty")
    return GlacierBatches(data, idx, inputs, outputs, batch_size, patch_size, augment,
                          shuffle, seed, ice_threshold, **kwargs)
