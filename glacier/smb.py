"""Surface mass balance: the ELA-gradient model, with parameters that may change in time.

    smb(s) = grad_abl (s - ELA)                  where s < ELA   (ablation)
    smb(s) = min(grad_acc (s - ELA), max_acc)    where s >= ELA  (accumulation)

in m ice equivalent a-1, s the surface elevation (m). Each parameter is a number or a time
series ``[(t0, v0), (t1, v1), ...]`` (t in a) interpolated linearly and held constant outside.
Outside the ``icemask`` (where the mask is 0) a positive balance is replaced by ``outside``
(default -10 m a-1), as in IGM, so ice grows only where the mask allows.
"""

from dataclasses import dataclass

import numpy as np

from glacier.errors import InputError
from glacier.schema import defaults

_CLIMATE = defaults("climates")

Schedule = float | list[tuple[float, float]]


def value_at(schedule: Schedule, t: float) -> float:
    """Value of a constant or a piecewise-linear time series at time ``t`` (a)."""
    if isinstance(schedule, (int, float)):
        return float(schedule)
    times, values = np.asarray(schedule, dtype=float).T
    if np.any(np.diff(times) <= 0):
        raise InputError(f"time series {schedule} must have increasing times")
    return float(np.interp(t, times, values))


def shift_ela(climate: dict, offset: float) -> dict:
    """A config climate with its ELA (a constant or a time series, m) raised by ``offset`` (m):
    one climate history fitted to domains of different elevations."""
    ela = climate["ela"]
    shifted = ela + offset if isinstance(ela, (int, float)) else [[t, v + offset] for t, v in ela]
    return {**climate, "ela": shifted}


@dataclass
class ElaSmb:
    """ELA-gradient surface mass balance (m ice eq. a-1).

    ela (m), grad_abl and grad_acc ((m a-1) per m of elevation), max_acc (m a-1); each a
    constant or a time series. The gradients and max_acc default to those of a config
    climate (the schema's).
    """

    ela: Schedule = 3000.0
    grad_abl: Schedule = _CLIMATE["grad_abl"]
    grad_acc: Schedule = _CLIMATE["grad_acc"]
    max_acc: Schedule = _CLIMATE["max_acc"]
    outside: float = -10.0

    def __post_init__(self):
        for name in ("grad_abl", "grad_acc", "max_acc"):
            schedule = getattr(self, name)
            values = [schedule] if isinstance(schedule, (int, float)) else [v for _, v in schedule]
            if any(v < 0 for v in values):
                raise InputError(f"SMB parameter '{name}' must be >= 0, got {schedule}")
        value_at(self.ela, 0.0)

    def __call__(self, usurf: np.ndarray, t: float, icemask: np.ndarray | None = None) -> np.ndarray:
        """Balance (m a-1) on the surface ``usurf`` (m) at time ``t`` (a)."""
        ela = value_at(self.ela, t)
        dz = usurf - ela
        smb = np.where(dz < 0, value_at(self.grad_abl, t) * dz,
                       np.minimum(value_at(self.grad_acc, t) * dz, value_at(self.max_acc, t)))
        if icemask is not None:
            smb = np.where((icemask > 0.5) | (smb < 0), smb, self.outside)
        return smb


@dataclass
class ZeroSmb:
    """No surface mass balance (for conservation tests and diagnostic runs)."""

    def __call__(self, usurf, t, icemask=None):
        return np.zeros_like(usurf)
