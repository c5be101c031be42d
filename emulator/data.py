"""Reading the training datasets: per-instructor Zarr stores (format_version 1), sample by sample.

The store (see glacier.dataset) holds float32 fields on dims (sample, y, x): the inputs
``thk, usurf, topg, slopsurfx, slopsurfy, arrhenius, slidingco, icemask`` and the outputs
``ubar ... vvelbase`` (m a-1), the per-sample coordinates ``domain, climate, time (a), split,
dx (m)`` and the attributes ``instructor``, ``normalisation`` ({field: {mean, std}} over the
train split) and ``content_hash``. It is opened lazily (dask over zarr); ``read_samples``
reads only the samples asked for, and the batches of ``emulator.batches`` follow the store's
chunks so each reads one or two chunks.

The model's input channels are store fields plus, optionally, ``dx``: the grid spacing (m)
as a constant field.
"""

import numpy as np
import xarray as xr

from glacier.errors import InputError
from emulator.manifest import GRID_SPACING


def split_indices(data: xr.Dataset, split: str) -> np.ndarray:
    """Sample indices of one split (train, val or test), in store order."""
    return np.nonzero(split_labels(data) == split)[0]


def run_subset(data: xr.Dataset, idx: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The samples of ``idx`` that belong to a share ``fraction`` (0 < f <= 1) of its runs
    (a run: one domain, climate and parameter sample), at least one run, drawn by ``seed``;
    in store order. For curves of fidelity against the amount of data: a run, not a
    snapshot, is what the generation adds."""
    if not 0 < fraction <= 1:
        raise InputError(f"the fraction of runs must be in (0, 1], got {fraction}")
    if fraction == 1:
        return idx
    keys = np.array([f"{d}/{c}/{p}" for d, c, p in zip(data.domain.values[idx],
                                                      data.climate.values[idx],
                                                      data.param_sample.values[idx])])
    runs = np.unique(keys)
    count = max(1, int(round(fraction * len(runs))))
    kept = np.random.default_rng(seed).choice(runs, size=count, replace=False)
    return idx[np.isin(keys, kept)]


def split_labels(data: xr.Dataset) -> np.ndarray:
    """The ``split`` coordinate as plain Python strings (the store may hold any string dtype)."""
    return np.array([str(v) for v in data.split.values], dtype=object)


PHYSICAL_SCALES = {"thk": 300.0, "usurf": 3000.0, "topg": 3000.0, "slopsurfx": 0.3,
                   "slopsurfy": 0.3, "arrhenius": 78.0, "slidingco": 0.05, "icemask": 1.0,
                   GRID_SPACING: 100.0,
                   **{name: 100.0 for name in ("ubar", "vbar", "uvelsurf", "vvelsurf",
                                               "uvelbase", "vvelbase")}}
"""Fixed scales of real mountain glaciers in each field's units (m, 1, MPa-3 a-1,
MPa a1/3 m-1/3, m a-1): a few hundred m of ice on slopes of 0.3 flowing at 100 m a-1, A of
temperate ice; the ``physical`` scaling of the training config."""


def field_scales(data: xr.Dataset, fields: list[str], overrides: dict | None = None,
                 scaling: str = "data") -> list[float]:
    """Scale of each field, in its units: an override, else (``scaling='physical'``) its
    PHYSICAL_SCALES entry, else the root mean square over the train split, sqrt(mean^2 +
    std^2) from the store's ``normalisation``; ``dx``: the mean train grid spacing (m). A
    field that is zero everywhere gets 1."""
    overrides = dict(overrides or {})
    if scaling == "physical":
        overrides = {**{f: PHYSICAL_SCALES[f] for f in fields if f in PHYSICAL_SCALES},
                     **overrides}
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


def trained_ranges(data: xr.Dataset, ice_threshold: float = 1.0,
                   idx: np.ndarray | None = None) -> dict:
    """What the training samples ``idx`` (default: the train split) cover: grid spacings (m)
    and the ranges of ``arrhenius`` (MPa-3 a-1) and ``slidingco`` (MPa a1/3 m-1/3) over
    ice-covered cells."""
    idx = split_indices(data, "train") if idx is None else idx
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
