"""Reading states from NetCDF/Zarr (and the command-line options of its overrides) and writing
datasets atomically.

An IGM ``geology.nc`` (or any NetCDF/Zarr with x, y coordinates and IGM field names) loads as it
is. Writes go to a temporary name beside the target and are moved into place when complete, so
an interrupted run never leaves a half-written file under its final name.
"""

import argparse
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from glacier.errors import InputError
from glacier.fields import complete_state, with_units
from glacier.validation import validate_state


def open_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Open a NetCDF file or Zarr store into memory; raise InputError if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file '{path}' does not exist")
    try:
        if path.is_dir() or path.suffix == ".zarr":
            return xr.open_zarr(path, consolidated=False).load()
        with xr.open_dataset(path) as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{path}' as NetCDF or Zarr: {exc}") from exc


def read_state(path: str | os.PathLike, **overrides: float) -> xr.Dataset:
    """Read a gridded state, complete what can be derived, validate it and return it.

    ``overrides`` (e.g. ``arrhenius=78``) replace fields by constants. A state needs ``usurf``
    or ``topg``; ``thk`` defaults to 0. Extra variables are kept; a leading ``time`` axis of
    length one is dropped.
    """
    ds = open_dataset(path)
    for dim in [d for d in ds.dims if d not in ("x", "y")]:
        if ds.sizes[dim] != 1:
            raise InputError(f"'{path}' has a dimension '{dim}' of length {ds.sizes[dim]}; "
                             "select one time or sample first")
        ds = ds.isel({dim: 0}, drop=True)
    if "usurf" not in ds and "topg" not in ds:
        raise InputError(f"'{path}' has neither 'usurf' nor 'topg' (found {sorted(ds.data_vars)})")
    state = complete_state(ds, **{k: v for k, v in overrides.items() if v is not None})
    return validate_state(state)


def add_parameter_overrides(parser: argparse.ArgumentParser) -> None:
    """``--arrhenius`` and ``--slidingco``: constants that replace the input file's fields
    (``read_state``'s overrides) on a command line."""
    parser.add_argument("--arrhenius", type=float, help="constant A (MPa-3 a-1), overrides the file")
    parser.add_argument("--slidingco", type=float,
                        help="constant c (MPa a1/3 m-1/3), overrides the file")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write a file or folder to; when
    the block ends without error, move it onto ``path`` (replacing what was there); in any
    case leave no temporary behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        yield tmp
        replace_path(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()


def write_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to NetCDF (``.nc``) or Zarr (``.zarr``) atomically; return the path."""
    path = Path(path)
    ds = with_units(ds)
    with atomic_path(path) as tmp:
        if path.suffix == ".zarr":
            ds.to_zarr(tmp, mode="w", consolidated=False)
        else:
            ds.to_netcdf(tmp)
    return path


def replace_path(src: Path, dst: Path) -> None:
    """Move a finished file or folder ``src`` onto ``dst``, replacing what was there."""
    if dst.is_dir() and not dst.is_symlink():
        old = dst.with_name(f".old-{uuid.uuid4().hex[:8]}-{dst.name}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old)
    else:
        os.replace(src, dst)
