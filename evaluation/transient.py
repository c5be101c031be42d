"""Transient fidelity: the same initial state and climate evolved with a model and with its
reference (e.g. an emulator and its instructor) through ``glacier.evolve``.

Reported: the relative volume difference (V - V_ref) / V_ref at every output time the model's
run reached (it stops early, with the reason, if the model drives the glacier out of the valid
ranges), its largest magnitude, the thickness RMSE (m) at the end over the cells where either run has ice
(thk > 1 m), the end volumes (m3) and areas (m2), and the wall time (s) of each run.
"""

import time

import numpy as np
import xarray as xr

from glacier.evolve import EvolveSettings, evolve
from glacier.flow import FlowModel
from glacier.metrics import ICE_THRESHOLD


def compare_runs(run: xr.Dataset, ref: xr.Dataset) -> dict:
    """Numbers of the comparison of two ``evolve`` outputs over the output times of ``run``,
    which must be the first ones of ``ref`` (all of them unless ``run`` stopped early)."""
    n = run.sizes["time"]
    if n > ref.sizes["time"] or not np.allclose(run.time, ref.time[:n]):
        raise ValueError("the two runs have different output times")
    ref = ref.isel(time=slice(0, n))
    vol, vol_ref = run.volume.values, ref.volume.values
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(vol_ref > 0, (vol - vol_ref) / vol_ref, np.nan)
    end, end_ref = run.thk.values[-1], ref.thk.values[-1]
    ice = (end > ICE_THRESHOLD) | (end_ref > ICE_THRESHOLD)
    rmse = float(np.sqrt(np.mean((end - end_ref)[ice] ** 2))) if ice.any() else float("nan")
    finite = rel[np.isfinite(rel)]
    return {"time_a": run.time.values.tolist(), "volume_m3": vol.tolist(),
            "volume_ref_m3": vol_ref.tolist(), "area_m2": run.area.values.tolist(),
            "area_ref_m2": ref.area.values.tolist(), "rel_volume_diff": rel.tolist(),
            "max_abs_rel_volume_diff": float(np.abs(finite).max()) if finite.size else float("nan"),
            "end_rel_volume_diff": float(rel[-1]),
            "end_rel_area_diff": float((run.area.values[-1] - ref.area.values[-1])
                                       / ref.area.values[-1]) if ref.area.values[-1] > 0
            else float("nan"),
            "end_thk_rmse_m": rmse, "end_ice_cells": int(ice.sum())}


def transient_comparison(state: xr.Dataset, model: FlowModel, reference: FlowModel, smb,
                         settings: EvolveSettings) -> tuple[dict, xr.Dataset, xr.Dataset]:
    """Evolve ``state`` under ``smb`` with ``model`` and with ``reference``; return the
    comparison numbers (``compare_runs`` plus model names, years and each run's wall time in
    s) and both runs. A model that drives the glacier out of the valid ranges (an emulator
    piling ice up, say) ends its run early: the numbers then cover the output times it
    reached, ``stopped`` says when and why, and ``years_reached`` < ``years``."""
    t0 = time.perf_counter()
    run = evolve(state, model, smb, settings, show_progress=False, stop_on_failure=True)
    t1 = time.perf_counter()
    ref = evolve(state, reference, smb, settings, show_progress=False)
    t2 = time.perf_counter()
    numbers = {"model": model.name, "reference": reference.name, "years": settings.years,
               "nx": state.sizes["x"], "ny": state.sizes["y"],
               "seconds": t1 - t0, "reference_seconds": t2 - t1,
               "years_reached": float(run.time[-1]), "stopped": run.attrs.get("stopped"),
               **compare_runs(run, ref)}
    return numbers, run, ref
