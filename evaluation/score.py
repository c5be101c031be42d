"""Scores of a flow model against a reference: on one state, or per glacier on a store's split.

The reference is a second flow model run on the same states, or the velocities stored in a
training store (the instructor's), or a second store with the same inputs (the cross-instructor
row: hybrid against Stokes on the very same snapshots). Scores are those of
``glacier.metrics`` (fidelity and relative L2 per vector field and for the surface speed,
over thk > 1 m); per glacier they are pooled over all the glacier's samples of the split.
"""

import re
from pathlib import Path

import numpy as np
import xarray as xr

from glacier.errors import InputError
from glacier.fields import VELOCITY_FIELDS, make_state
from glacier.flow import FlowModel
from glacier.metrics import ICE_THRESHOLD, add_sums, error_sums, scores
from evaluation.timing import timed_velocity

MATCH_KEYS = ("domain", "climate", "param_sample", "time")
"""Coordinates that identify a snapshot across the stores of different instructors."""


def model_label(spec: str, taken: set[str] = frozenset()) -> str:
    """A short label for a model spec in tables: its registry name (``stokes:layers=4`` ->
    ``stokes``), ``emulator:<name>`` for a path; the full spec when the short one is taken."""
    path = Path(spec)
    label = f"emulator:{_emulator_name(path)}" if path.exists() else spec.partition(":")[0]
    return spec if label in taken else label


def _emulator_name(path: Path) -> str:
    """``results/models/hybrid`` and its ``model.keras`` -> ``hybrid``; a published bundle
    ``library/hybrid/v001`` -> ``hybrid/v001``."""
    if path.suffix == ".keras":
        path = path.parent if path.stem == "model" else path.with_suffix("")
    return f"{path.parent.name}/{path.name}" if re.fullmatch(r"v\d+", path.name) else path.name


def score_state(state: xr.Dataset, model: FlowModel, reference: FlowModel) -> dict:
    """Run both models on ``state``; fidelity and rel_l2 per field and for the speed, the
    number of ice cells and each model's wall time (s, first call: includes any set-up)."""
    vel, t_model = timed_velocity(model, state)
    ref, t_ref = timed_velocity(reference, state)
    return _state_result(state, vel, ref, model.name, reference.name, t_model, t_ref)


def _state_result(state, vel, ref, model_name: str, reference_name: str, t_model: float,
                  t_ref: float | None) -> dict:
    """The result of ``score_state``: names, fidelity and rel_l2 of ``vel`` against ``ref`` over
    the ice of ``state``, its ice cells and the wall times (s; None: not recorded)."""
    sums = error_sums(vel, ref, state.thk.values)
    return {"model": model_name, "reference": reference_name, **scores(sums),
            "ice_cells": sums["velbar"]["cells"],
            "seconds": {"model": t_model, "reference": t_ref}}


def score_state_against(state: xr.Dataset, model: FlowModel, solution: xr.Dataset) -> dict:
    """Run ``model`` on ``state`` and score it against velocities already solved on that state
    (``solution``: the six fields on the same x, y grid, as ``icebench solve --output`` writes
    them), so that one costly reference solve serves many models. Same keys as
    ``score_state``; the reference's name is the solution's ``flow_model`` attribute."""
    missing = [f for f in VELOCITY_FIELDS if f not in solution]
    if missing:
        raise InputError(f"the reference solution has no {missing}: give the output of "
                         "'icebench solve' on the same state")
    for axis in ("x", "y"):
        if axis not in solution.coords or solution.sizes[axis] != state.sizes[axis] or not np.allclose(
                solution[axis].values, state[axis].values, rtol=0.0, atol=1e-3):
            raise InputError(f"the reference solution's {axis} grid differs from the state's "
                             f"({state.sizes[axis]} cells from {float(state[axis][0]):.1f} m): "
                             "it was solved on another state")
    vel, t_model = timed_velocity(model, state)
    ref = {f: np.asarray(solution[f].values, dtype=float) for f in VELOCITY_FIELDS}
    return _state_result(state, vel, ref, model.name,
                         str(solution.attrs.get("flow_model", "solution")), t_model,
                         solution.attrs.get("solver_wall_time_s"))


def strings(values) -> np.ndarray:
    """Text coordinates (fixed-width or numpy StringDType, as Zarr returns them) as str."""
    return np.array([str(v) for v in np.asarray(values).ravel()])


def split_indices(data: xr.Dataset, split: str) -> np.ndarray:
    """Indices of the samples of ``split`` (train / val / test) in a store."""
    idx = np.nonzero(strings(data.split.values) == split)[0]
    if idx.size == 0:
        raise InputError(f"the store has no '{split}' samples")
    return idx


def store_state(data: xr.Dataset, index: int) -> xr.Dataset:
    """Sample ``index`` of a store as a flow-model state (coordinates from its ``dx``, m)."""
    s = data.isel(sample=int(index))
    dx = float(s.dx)
    fields = {k: s[k].values for k in ("thk", "usurf", "topg", "arrhenius", "slidingco", "icemask")
              if k in s}
    return make_state(dx * np.arange(s.sizes["x"]), dx * np.arange(s.sizes["y"]), **fields)


def store_velocity(data: xr.Dataset, index: int) -> dict[str, np.ndarray]:
    """The stored (instructor's) velocities of sample ``index`` (m a-1)."""
    s = data.isel(sample=int(index))
    return {f: np.asarray(s[f].values, dtype=float) for f in VELOCITY_FIELDS}


def parameter_group(data: xr.Dataset, index: int) -> str:
    """The (A, c) draw sample ``index`` of a store was made under: ``<domain> runs p<k>`` for the
    snapshots of the runs of parameter sample k (both climates), ``<domain> start p<k>`` for a
    start state."""
    s = data.isel(sample=int(index))
    kind = "start" if str(s.climate.values) == "start" else "runs"
    return f"{s.domain.values} {kind} p{int(s.param_sample.values)}"


def _pooled(per_domain_sums: dict[str, dict], counts: dict[str, int],
            per_group: dict[str, dict] | None = None) -> dict:
    """Scores per glacier and pooled; with ``per_group`` ({group: {"sums", "samples",
    "arrhenius", "slidingco"}}), per (A, c) draw as well (``per_parameters``)."""
    out = {"per_domain": {}, "all": None}
    total = None
    for domain in sorted(per_domain_sums):
        sums = per_domain_sums[domain]
        out["per_domain"][domain] = {**scores(sums), "samples": counts[domain],
                                     "ice_cells": sums["velbar"]["cells"]}
        total = add_sums(total, sums)
    out["all"] = {**scores(total), "samples": sum(counts.values()),
                  "ice_cells": total["velbar"]["cells"]}
    if per_group is not None:
        out["per_parameters"] = {
            group: {**scores(g["sums"]), "samples": g["samples"],
                    "arrhenius": g["arrhenius"], "slidingco": g["slidingco"]}
            for group, g in sorted(per_group.items())}
    return out


def _add_to_group(groups: dict, data: xr.Dataset, index: int, sums: dict) -> None:
    """Add the error sums of sample ``index`` of ``data`` to its (A, c) group
    (``parameter_group``); the group keeps the median A (MPa-3 a-1) and c (MPa a1/3 m-1/3)
    under the ice of its first sample."""
    group = parameter_group(data, index)
    if group not in groups:
        s = data.isel(sample=int(index))
        ice = s.thk.values > ICE_THRESHOLD
        groups[group] = {"sums": None, "samples": 0,
                         "arrhenius": float(np.median(s.arrhenius.values[ice])),
                         "slidingco": float(np.median(s.slidingco.values[ice]))}
    groups[group]["sums"] = add_sums(groups[group]["sums"], sums)
    groups[group]["samples"] += 1


def score_store(data: xr.Dataset, model: FlowModel, reference: FlowModel | None = None,
                split: str = "test") -> dict:
    """Score ``model`` on every sample of ``split``, per glacier (domain), per (A, c) draw of
    each glacier (``per_parameters``, ``parameter_group``) and pooled.

    The reference is the store's own velocities (its instructor's), or ``reference`` run on the
    same states (two models on the same states). Also returns the median wall time (s) of the
    model per sample.
    """
    idx = split_indices(data, split)
    part = data.isel(sample=idx).load()
    sums, counts, groups, seconds = {}, {}, {}, []
    for k in range(part.sizes["sample"]):
        domain = str(part.domain.values[k])
        state = store_state(part, k)
        vel, dt = timed_velocity(model, state)
        seconds.append(dt)
        ref = store_velocity(part, k) if reference is None else reference.velocity(state)
        sample_sums = error_sums(vel, ref, state.thk.values)
        sums[domain] = add_sums(sums.get(domain), sample_sums)
        counts[domain] = counts.get(domain, 0) + 1
        _add_to_group(groups, part, k, sample_sums)
    ref_name = reference.name if reference is not None else data.attrs.get("instructor", "store")
    return {"model": model.name, "reference": ref_name, "split": split,
            "median_seconds": float(np.median(seconds)), **_pooled(sums, counts, groups)}


def _sample_keys(data: xr.Dataset, idx: np.ndarray) -> list[tuple]:
    cols = [np.asarray(data[k].values)[idx] for k in MATCH_KEYS]
    return [(str(d), str(c), int(p), round(float(t), 6)) for d, c, p, t in zip(*cols)]


def score_store_pair(data: xr.Dataset, reference: xr.Dataset, split: str = "test",
                     atol: float = 1e-3) -> dict:
    """Score the velocities of store ``data`` against those of store ``reference`` on the
    snapshots both hold (matched by domain, climate, parameter sample and time), per glacier.

    The matched snapshots must have the same thickness (within ``atol`` m): the two stores must
    come from the same runs. Snapshots only one store holds (e.g. one instructor did not
    converge there) are counted in ``unmatched``.
    """
    ia, ib = split_indices(data, split), split_indices(reference, split)
    keys_b = {k: i for k, i in zip(_sample_keys(reference, ib), ib)}
    pairs = [(i, keys_b[k]) for k, i in zip(_sample_keys(data, ia), ia) if k in keys_b]
    if not pairs:
        raise InputError(f"the two stores share no '{split}' snapshot (matched by {MATCH_KEYS})")
    a = data.isel(sample=[i for i, _ in pairs]).load()
    b = reference.isel(sample=[j for _, j in pairs]).load()
    gap = float(np.max(np.abs(a.thk.values - b.thk.values)))
    if gap > atol:
        raise InputError(f"matched snapshots differ in thickness by up to {gap:.3g} m: the stores "
                         "do not hold the same states")
    sums, counts, groups = {}, {}, {}
    for k in range(a.sizes["sample"]):
        domain = str(a.domain.values[k])
        s = error_sums(store_velocity(a, k), store_velocity(b, k), a.thk.values[k])
        sums[domain] = add_sums(sums.get(domain), s)
        counts[domain] = counts.get(domain, 0) + 1
        _add_to_group(groups, a, k, s)
    return {"model": data.attrs.get("instructor", "store"),
            "reference": reference.attrs.get("instructor", "reference store"), "split": split,
            "unmatched": int(len(ia) + len(ib) - 2 * len(pairs)),
            **_pooled(sums, counts, groups)}


def last_samples(data: xr.Dataset, split: str = "test") -> dict[str, int]:
    """For each glacier of ``split``: the index of its latest snapshot (the largest glacier of
    a growth run), for the error maps."""
    idx = split_indices(data, split)
    domains = strings(data.domain.values)[idx]
    times = np.asarray(data.time.values, dtype=float)[idx]
    return {d: int(idx[domains == d][np.argmax(times[domains == d])]) for d in sorted(set(domains))}
