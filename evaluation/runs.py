"""Run files of a data generation (``<data_dir>/runs/<domain>/<climate>/p<k>.nc``, written by
glacier/datagen.py ``simulate_run``) as the benchmarks read them: the snapshots an instructor
solved, each as a flow-model state."""

import argparse

import numpy as np
import xarray as xr

from glacier.fields import complete_state

STATE_FIELDS = ("thk", "usurf", "topg", "icemask", "arrhenius", "slidingco")
"""The fields of a run file that make a snapshot's state."""


def add_run_arguments(parser: argparse.ArgumentParser, snapshots: list[int]) -> None:
    """``--runs`` (run files) and ``--snapshots`` (indices among each run's Stokes-solved
    snapshots, default ``snapshots``) for a benchmark's command line."""
    parser.add_argument("--runs", nargs="+", required=True, help="run files of a generation")
    parser.add_argument("--snapshots", type=int, nargs="+", default=list(snapshots),
                        help="indices among each run's Stokes-solved snapshots")


def solved_snapshots(paths, snapshots, instructor: str = "stokes"):
    """For each run file of ``paths`` (loaded whole) and each index k of ``snapshots``: (path,
    run, time index) of the k-th snapshot that ``instructor`` solved and converged on."""
    for path in paths:
        with xr.open_dataset(path) as ds:
            run = ds.load()
        solved = np.flatnonzero(run[f"{instructor}_solved"].values
                                & run[f"{instructor}_converged"].values)
        for k in snapshots:
            yield str(path), run, int(solved[k])


def run_state(run: xr.Dataset, index: int) -> xr.Dataset:
    """Snapshot ``index`` of a run file as a flow-model state."""
    return complete_state(run.isel(time=index)[list(STATE_FIELDS)])
