"""Training datasets: per-instructor Zarr stores assembled from run files, checked and summarised.

Store layout (``format_version`` 1), one store per instructor:

- dims ``sample, y, x``; every sample on the same grid; chunks of ``CHUNK`` samples by whole
  (y, x) planes; float32.
- inputs ``thk, usurf, topg, slopsurfx, slopsurfy, arrhenius, slidingco, icemask`` and outputs
  ``ubar, vbar, uvelsurf, vvelsurf, uvelbase, vvelbase`` (m a-1), each with ``units``.
- per-sample coordinates ``domain``, ``climate``, ``param_sample``, ``time`` (a), ``split``
  (train / val / test, by domain, never by snapshot), ``dx`` (m), ``solve_seconds``.
- attributes: ``instructor``, ``inputs``, ``outputs``, ``normalisation`` (mean and std of each
  field over the train split, computed with dask), ``excluded`` (non-converged snapshots left
  out, by run), ``border_ice`` (converged snapshots whose ice touches the domain border, by
  run; left out unless ``keep_border_ice``, recorded too), ``content_hash`` (sha256 of the
  data and coordinates; ``verify_store`` recomputes it), plus the provenance passed in (config
  hash, seed, code version, settings).
"""

import hashlib
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from glacier.errors import InputError
from glacier.fields import FIELDS, VELOCITY_FIELDS, surface_slopes
from glacier.figures import pyplot, save_figure
from glacier.io import write_dataset
from glacier.metrics import ICE_THRESHOLD
from glacier.schema import defaults

FORMAT_VERSION = 1
INPUTS = ("thk", "usurf", "topg", "slopsurfx", "slopsurfy", "arrhenius", "slidingco", "icemask")
OUTPUTS = VELOCITY_FIELDS
CHUNK = 16
SPLITS = ("train", "val", "test")


def assign_splits(domains: list[str], test: list[str], val: list[str], real: list[str]) -> dict:
    """Map every domain to train/val/test; the test split must hold a real-topography domain."""
    unknown = sorted(set(test + val) - set(domains))
    if unknown:
        raise InputError(f"split names unknown domain(s) {unknown}; domains: {sorted(domains)}")
    if set(test) & set(val):
        raise InputError(f"domain(s) {sorted(set(test) & set(val))} in both test and val splits")
    if not set(test) & set(real):
        raise InputError(f"the test split {test} holds no real-topography domain (real: {real})")
    return {d: "test" if d in test else "val" if d in val else "train" for d in domains}


DATA_KEYS = ("seed", "grid", "domains", "splits", "climates", "parameters", "assembly",
             "instructors", "driver", "simulation", "start_states", "start_thickness")
"""The config keys that define the data: the stores record them (and only them) as provenance,
so an edit of a training or evaluation key leaves the stores, and the runs, up to date."""


def run_path(data_dir: str | Path, domain: str, climate: str, sample: int) -> Path:
    """Where the workflow writes the run file of (domain, climate, parameter sample)."""
    return Path(data_dir) / "runs" / domain / climate / f"p{sample}.nc"


START = "start"
"""The climate name of the start-state samples (``start_states``) in a store's index."""

START_DRAWS = 1000
"""Start-state sample k draws its A and c as parameter sample START_DRAWS + k: draws of their
own, not the runs'."""


def start_path(data_dir: str | Path, domain: str, sample: int) -> Path:
    """Where the workflow writes start-state sample ``sample`` of ``domain`` (a run file of one
    snapshot)."""
    return Path(data_dir) / "starts" / domain / f"p{sample}.nc"


def start_domains(config: dict) -> list[str]:
    """The domains that get start-state samples: the glaciers of estimated thickness (DEM
    windows with ``outline_elevation`` and ``estimate``), held-out ones included: their start
    states go to their own split (test or val), where they score emulators on the fast states
    of real glaciers. A window with ``outline_elevation`` alone starts ice-free (its massif is
    where ice may grow): no start state."""
    return [d for d, spec in sorted(config["domains"].items())
            if "outline_elevation" in spec and "estimate" in spec]


def start_samples(config: dict) -> int:
    """Start-state samples per glacier of estimated thickness (validated ``config``): the
    ``start_states`` on the glacier's own estimated bed, then ``start_thickness.samples`` on beds
    estimated again (glacier/datagen.py draw_estimate)."""
    return int(config["start_states"]) + int(config["start_thickness"]["samples"])


def data_files(config: dict, data_dir: str | Path) -> dict[tuple[str, str, int], Path]:
    """Every file a generation of ``config`` (validated: its defaults filled in) makes, keyed as
    ``assemble`` takes them: the runs (domain, climate, sample) of the domains with ``runs``
    and the start states (domain, START, sample). A domain without runs that gets no start
    state either is refused with an InputError."""
    n_starts = start_samples(config)
    if START in config["climates"] and n_starts:
        raise InputError(f"a climate may not be named '{START}' with start_states: that name "
                         "marks the start-state samples")
    starts = start_domains(config) if n_starts else []
    idle = [d for d, spec in sorted(config["domains"].items())
            if not spec["runs"] and d not in starts]
    if idle:
        raise InputError(f"domain(s) {idle} have runs: false but get no start states (those "
                         "need start_states > 0, outline_elevation with estimate, and the "
                         "training split)")
    files = {(d, c, s): run_path(data_dir, d, c, s)
             for d, spec in sorted(config["domains"].items()) if spec["runs"]
             for c in sorted(config["climates"]) for s in range(config["parameters"]["samples"])}
    files.update({(d, START, k): start_path(data_dir, d, k) for d in starts
                  for k in range(n_starts)})
    return files


def assemble_config(config: dict, instructor: str, run_files: dict[tuple[str, str, int], Path]
                    ) -> xr.Dataset:
    """``assemble`` as the workflow does it for ``instructor``: splits, provenance (the
    DATA_KEYS slice of the validated ``config``) and the border rule from the config."""
    from glacier.provenance import provenance
    data_config = {key: config[key] for key in DATA_KEYS}
    domains = sorted(config["domains"])
    real = [d for d in domains if "topography" in config["domains"][d]]
    splits = assign_splits(domains, list(config["splits"]["test"]),
                           list(config["splits"].get("val", [])), real)
    meta = provenance(data_config)
    meta["solver_settings"] = config["instructors"][instructor]
    return assemble(run_files, instructor, splits, meta, config["assembly"]["keep_border_ice"])


def touches_border(thk: np.ndarray, threshold: float = ICE_THRESHOLD) -> np.ndarray:
    """Per snapshot of ``thk`` (m; dims ..., y, x), whether ice thicker than ``threshold`` (m)
    lies in the outermost row or column: a glacier cut by its window, piled against the closed
    domain wall (glacier/transport.py), rather than a whole glacier."""
    thk = np.asarray(thk)
    rows = np.concatenate([thk[..., 0, :], thk[..., -1, :], thk[..., 0], thk[..., -1]], axis=-1)
    return np.any(rows > threshold, axis=-1)


def run_samples(run: xr.Dataset, instructor: str,
                keep_border_ice: bool) -> tuple[xr.Dataset | None, int, int]:
    """The converged snapshots with ice (thk > ICE_THRESHOLD somewhere) of one run file for one
    instructor as samples; how many snapshots were left out because the solver failed; how many
    converged snapshots have ice on the domain border (``touches_border``), which are left out
    too unless ``keep_border_ice``. Snapshots the instructor was not asked to solve (``k_solved``
    false: see glacier/datagen.py ``simulate_run``), and runs it took no part in, give no
    sample and count as neither."""
    if f"{instructor}_converged" not in run:
        return None, 0, 0
    solved = (run[f"{instructor}_solved"].values.astype(bool) if f"{instructor}_solved" in run
              else np.ones(run.sizes["time"], dtype=bool))
    run = run.isel(time=np.nonzero(solved)[0])
    ok = run[f"{instructor}_converged"].values.astype(bool)
    ok &= np.all(np.isfinite(run[f"{instructor}_ubar"].values), axis=(1, 2))
    excluded = int((~ok).sum())
    ok &= np.any(run.thk.values > ICE_THRESHOLD, axis=(1, 2))
    border = ok & touches_border(run.thk.values)
    if not keep_border_ice:
        ok &= ~border
    if not ok.any():
        return None, excluded, int(border.sum())
    run = run.isel(time=np.nonzero(ok)[0])
    dx = float(run.x[1] - run.x[0])
    slopes = [surface_slopes(s, dx) for s in run.usurf.values]
    fields = {
        "thk": run.thk.values, "usurf": run.usurf.values,
        "topg": np.broadcast_to(run.topg.values, run.thk.shape),
        "slopsurfx": np.stack([s[0] for s in slopes]), "slopsurfy": np.stack([s[1] for s in slopes]),
        "arrhenius": np.broadcast_to(run.arrhenius.values, run.thk.shape),
        "slidingco": np.broadcast_to(run.slidingco.values, run.thk.shape),
        "icemask": np.broadcast_to(run.icemask.values, run.thk.shape),
        **{f: run[f"{instructor}_{f}"].values for f in OUTPUTS},
    }
    n = run.sizes["time"]
    ds = xr.Dataset({k: (("sample", "y", "x"), np.asarray(v, dtype=np.float32))
                     for k, v in fields.items()})
    ds = ds.assign_coords(time=("sample", run.time.values.astype(float)), dx=("sample", np.full(n, dx)),
                          solve_seconds=("sample", run[f"{instructor}_seconds"].values.astype(float)))
    return ds, excluded, int(border.sum())


EDGE_PADDED = ("usurf", "topg", "arrhenius", "slidingco")
"""Fields that ``pad_samples`` continues from the domain's last row or column; the others
(thickness, slopes, velocities, icemask) are padded with 0: ice-free, flat, at rest."""


def pad_samples(samples: xr.Dataset, ny: int, nx: int) -> xr.Dataset:
    """``samples`` (dims sample, y, x) padded at the high-y and high-x ends to ``ny`` x ``nx``
    cells with ice-free cells (EDGE_PADDED fields continued from the edge, the rest 0), so
    domains of several sizes share one store; coordinates ``ny_domain`` and ``nx_domain``
    keep each sample's own extent (cells). A domain of whole glaciers has an ice-free border,
    so the padding changes nothing the network sees around the ice."""
    own_y, own_x = samples.sizes["y"], samples.sizes["x"]
    if own_y > ny or own_x > nx:
        raise InputError(f"samples of {own_y} x {own_x} cells do not fit {ny} x {nx}")
    n = samples.sizes["sample"]
    pad = {"y": (0, ny - own_y), "x": (0, nx - own_x)}
    padded = xr.Dataset({
        name: (samples[name].pad(pad, mode="edge") if name in EDGE_PADDED
               else samples[name].pad(pad, mode="constant", constant_values=0))
        for name in samples.data_vars}, coords=samples.coords)
    return padded.assign_coords(ny_domain=("sample", np.full(n, own_y)),
                                nx_domain=("sample", np.full(n, own_x)))


def assemble(run_files: dict[tuple[str, str, int], Path], instructor: str, splits: dict[str, str],
             provenance: dict,
             keep_border_ice: bool = defaults("assembly")["keep_border_ice"]) -> xr.Dataset:
    """Gather the run files ``{(domain, climate, param_sample): path}`` into one dataset;
    snapshots whose ice touches the domain border are left out unless ``keep_border_ice`` (the
    config's ``assembly`` section, whose default is the schema's)."""
    parts, excluded, border = [], {}, {}
    for (domain, climate, sample), path in sorted(run_files.items()):
        with xr.open_dataset(path) as run:
            ds, n_out, n_border = run_samples(run.load(), instructor, keep_border_ice)
        if n_out:
            excluded[f"{domain}/{climate}/{sample}"] = n_out
        if n_border:
            border[f"{domain}/{climate}/{sample}"] = n_border
        if ds is None:
            continue
        n = ds.sizes["sample"]
        parts.append(ds.assign_coords(domain=("sample", [domain] * n), climate=("sample", [climate] * n),
                                      param_sample=("sample", np.full(n, sample)),
                                      split=("sample", [splits[domain]] * n)))
    if not parts:
        raise InputError(f"no converged snapshot of instructor '{instructor}' in {len(run_files)} "
                         f"runs ({sum(border.values())} left out because their ice touches the "
                         "domain border: whole-glacier domains, or keep_border_ice)")
    ny, nx = (max(p.sizes[d] for p in parts) for d in ("y", "x"))
    data = xr.concat([pad_samples(p, ny, nx) for p in parts], dim="sample")
    for name in data.data_vars:
        data[name].attrs["units"] = FIELDS[name].units
    data.attrs.update(provenance)
    data.attrs.update(instructor=instructor, inputs=list(INPUTS), outputs=list(OUTPUTS),
                      format_version=FORMAT_VERSION, excluded=excluded,
                      excluded_total=int(sum(excluded.values())), border_ice=border,
                      border_ice_total=int(sum(border.values())), keep_border_ice=keep_border_ice,
                      normalisation=normalisation(data))
    data.attrs["content_hash"] = content_hash(data)
    return data


def normalisation(data: xr.Dataset) -> dict:
    """Mean and standard deviation of every field over the train split (dask-parallel)."""
    train = data.isel(sample=np.nonzero(data.split.values == "train")[0])
    if train.sizes["sample"] == 0:
        raise InputError("the train split is empty: assign at least one domain to train")
    stats = {}
    for name in train.data_vars:
        arr = da.from_array(train[name].values, chunks=(CHUNK, -1, -1)).astype(np.float64)
        mean, std = da.compute(arr.mean(), arr.std())
        stats[name] = {"mean": float(mean), "std": float(std)}
    return stats


UNHASHED = ("solve_seconds",)
"""Coordinates that are measurements of the machine (wall times), not of the data."""


def content_hash(data: xr.Dataset) -> str:
    """sha256 over every variable's and coordinate's name, dtype, shape and bytes, in name
    order, except UNHASHED: the same config and seed give the same hash on any machine."""
    h = hashlib.sha256()
    for name in sorted(set(map(str, data.variables)) - set(UNHASHED)):
        values = np.asarray(data[name].values)
        if values.dtype.kind in "OUST":
            values = np.array([str(v) for v in values.ravel()], dtype="U")
        h.update(f"{name}|{values.dtype.str}|{values.shape}".encode())
        h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def write_store(data: xr.Dataset, path: str | Path) -> Path:
    """Write the dataset as a Zarr store, atomically (temporary name, then moved into place)."""
    chunks = {"sample": min(CHUNK, data.sizes["sample"]), "y": -1, "x": -1}
    # variable-length strings: Zarr v3 specifies them, unlike fixed-width unicode
    text = {c: data[c].astype(np.dtypes.StringDType()) for c in data.coords
            if data[c].dtype.kind == "U"}
    return write_dataset(data.assign_coords(text).chunk(chunks), path)


def open_store(path: str | Path) -> xr.Dataset:
    """Open a store lazily (dask arrays); refuse other format versions."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"dataset '{path}' does not exist")
    with warnings.catch_warnings():  # Snakemake's timestamp file in directory outputs
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr")
        data = xr.open_zarr(path, consolidated=False)
    version = data.attrs.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(f"dataset '{path}' has format_version {version}; this icebench reads "
                         f"{FORMAT_VERSION}: regenerate it with the current workflow")
    return data


def verify_store(path: str | Path) -> tuple[bool, str, str]:
    """Recompute the content hash of a store: (matches, stored hash, recomputed hash)."""
    data = open_store(path).load()
    stored = data.attrs.get("content_hash", "")
    actual = content_hash(data)
    return actual == stored, stored, actual


def summary(data: xr.Dataset) -> str:
    """A plain-text summary: samples per split/domain/climate, field ranges, exclusions."""
    lines = [f"instructor {data.attrs.get('instructor')}: {data.sizes['sample']} samples on "
             f"{data.sizes['y']} x {data.sizes['x']} cells, dx = {float(data.dx[0]):g} m, "
             f"format {data.attrs.get('format_version')}, hash {data.attrs.get('content_hash', '')[:16]}"]
    frame = data[["split", "domain", "climate"]].to_dataframe()
    lines.append("samples per split: " + ", ".join(
        f"{s} {int((frame.split == s).sum())}" for s in SPLITS))
    lines.append("samples per domain/climate (split):")
    for (domain, climate), group in frame.groupby(["domain", "climate"]):
        lines.append(f"  {domain:<16} {climate:<12} {len(group):5d}  ({group.split.iloc[0]})")
    lines.append("field ranges:")
    for name in [*INPUTS, *OUTPUTS]:
        v = data[name]
        lo, hi = (float(x) for x in da.compute(v.data.min(), v.data.max()))
        lines.append(f"  {name:<10} {lo:12.4g} .. {hi:<12.4g} {v.attrs.get('units', '')}")
    excluded = data.attrs.get("excluded", {})
    lines.append(f"excluded snapshots (solver did not converge): {sum(excluded.values())}"
                 + "".join(f"\n  {run}: {n}" for run, n in excluded.items()))
    border = data.attrs.get("border_ice", {})
    fate = "kept (keep_border_ice)" if data.attrs.get("keep_border_ice") else "left out"
    lines.append(f"snapshots whose ice touches the domain border: {sum(border.values())}, {fate}"
                 + "".join(f"\n  {run}: {n}" for run, n in border.items()))
    return "\n".join(lines)


def sample_figure(data: xr.Dataset, path: str | Path, count: int = 4) -> Path:
    """A PNG of ``count`` samples spread over the store: thickness and surface speed maps."""
    plt = pyplot()

    picks = np.unique(np.linspace(0, data.sizes["sample"] - 1, count).astype(int))
    fig, axes = plt.subplots(2, len(picks), figsize=(3.2 * len(picks), 5.6), squeeze=False)
    for col, k in enumerate(picks):
        s = data.isel(sample=int(k)).load()
        extent = [float(s.x[0]), float(s.x[-1]), float(s.y[0]), float(s.y[-1])]
        speed = np.hypot(s.uvelsurf, s.vvelsurf).where(s.thk > 1.0)
        for row, (field, label, cmap) in enumerate(((s.thk.where(s.thk > 1.0), "thk (m)", "Blues"),
                                                    (speed, "surface speed (m/a)", "magma"))):
            ax = axes[row, col]
            im = ax.imshow(field, origin="lower", extent=extent, cmap=cmap)
            fig.colorbar(im, ax=ax, shrink=0.8, label=label)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, col].set_title(f"{str(s.domain.values)} {str(s.climate.values)}\n"
                               f"t = {float(s.time):.0f} a ({str(s.split.values)})", fontsize=9)
    return save_figure(fig, path)
