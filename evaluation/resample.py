"""Resampling a state onto another regular grid over the same extent: the grid ladder of the
speed benchmark (``evaluation.speed``)."""

import numpy as np
import xarray as xr

from glacier.errors import InputError
from glacier.fields import complete_state

RESAMPLED = ("thk", "topg", "arrhenius", "slidingco", "icemask")
"""Fields carried over by ``resample``; ``usurf`` is rebuilt as topg + thk."""


def resample(state: xr.Dataset, n: int) -> xr.Dataset:
    """``state`` bilinearly resampled onto ``n`` cells along x covering the same x extent (m),
    with square cells: ``ny = round(n * Ly / Lx)`` cells along y, centred on the same y extent.

    Cell centres beyond the outermost old centres take the edge values (no extrapolation);
    thk stays >= 0 and icemask is 0/1.
    """
    if n < 3:
        raise InputError(f"grid size {n} too small: at least 3 cells")
    x, y = state.x.values, state.y.values
    dx = float(x[1] - x[0])
    lx, ly = x[-1] - x[0] + dx, y[-1] - y[0] + dx
    res = lx / n
    ny = max(3, int(round(ly / res)))
    new_x = x[0] - dx / 2 + res * (np.arange(n) + 0.5)
    new_y = (y[0] + y[-1]) / 2 + res * (np.arange(ny) - (ny - 1) / 2)
    fields = state[[k for k in RESAMPLED if k in state]]
    out = fields.interp(x=np.clip(new_x, x[0], x[-1]), y=np.clip(new_y, y[0], y[-1]),
                        method="linear")
    out = out.assign_coords(x=new_x, y=new_y)
    out["thk"] = out.thk.clip(min=0.0)
    if "icemask" in out:
        out["icemask"] = (out.icemask > 0.5).astype(float)
    out["usurf"] = out.topg + out.thk
    return complete_state(out)
