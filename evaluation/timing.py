"""The timing protocol of the benchmarks (docs/design.md): wall times by ``time.perf_counter``
(s); a benchmark makes one untimed warm-up call (form compilation, graph tracing, caches), then
takes the median of ``repeats`` timed calls."""

import logging
import statistics
import time
import warnings

import xarray as xr

from glacier.errors import InputError
from glacier.flow import FlowModel


def timed_velocity(model: FlowModel, state: xr.Dataset, guess: xr.Dataset | None = None
                   ) -> tuple[xr.Dataset, float]:
    """The model's velocities (m a-1) on ``state`` (from ``guess``, if any) and the wall time
    of the call (s)."""
    t0 = time.perf_counter()
    vel = model.velocity(state, guess=guess)
    return vel, time.perf_counter() - t0


def quietly(fn):
    """``fn`` with the warnings of icebench silenced, both the Python warning and the log line
    (an emulator timed on a grid spacing it was not trained on warns at every call, and its
    cost does not depend on the values)."""
    def call(*args, **kwargs):
        logger = logging.getLogger("icebench")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        finally:
            logger.setLevel(level)
    return call


def time_call(fn, repeats: int) -> dict:
    """Call ``fn()`` once untimed (warm-up), then ``repeats`` times timed; the median and all
    timed wall times (s) and the warm-up's."""
    if repeats < 1:
        raise InputError(f"repeats must be >= 1, got {repeats}")
    t0 = time.perf_counter()
    fn()
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "times": times, "warmup_seconds": warmup}


def cold_and_warm(model: FlowModel, state: xr.Dataset):
    """A cold solve and a warm one (the cold solution as ``guess``) of ``state``:
    ``(cold, cold seconds, warm, warm seconds)``."""
    cold, t_cold = timed_velocity(model, state)
    return (cold, t_cold) + timed_velocity(model, state, guess=cold)
