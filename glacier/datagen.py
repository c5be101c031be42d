"""Training-data generation: transient runs driven by one instructor, evaluated by the others.

A *run* grows a glacier on one domain under one climate with one sample of the ice softness A
and the sliding coefficient c. The driving instructor moves the ice; at every snapshot each
other instructor is evaluated on the very same state, so the instructors' datasets share their
inputs. A snapshot on which an instructor does not converge is kept in the run file with
``<instructor>_converged = False`` and NaN velocities, and left out of the assembled dataset; a
snapshot whose ice touches the domain border is marked ``touches_border`` (a glacier cut by its
window: glacier.dataset.touches_border), and the assembly leaves it out unless told to keep it.
"""

import hashlib
import json
import logging
import time

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter

from glacier.dataset import touches_border
from glacier.errors import InputError, SolverError
from glacier.evolve import EvolveSettings, evolve, snapshot
from glacier.fields import VELOCITY_FIELDS, complete_state, with_units
from glacier.flow import get_flow_model
from glacier.schema import defaults
from glacier.smb import ElaSmb

log = logging.getLogger("icebench")


def stable_seed(*parts) -> int:
    """A 32-bit seed from any strings/numbers (the same on every machine and Python run)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """One value drawn log-uniformly in [lo, hi] from ``rng`` (``lo`` itself, drawing nothing,
    when hi <= lo)."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else float(lo)


def sample_parameters(spec: dict, seed: int, sample: int, domain: str, shape: tuple[int, int],
                      dx: float) -> dict[str, np.ndarray]:
    """Fields of A (MPa-3 a-1) and c (MPa a1/3 m-1/3) for one parameter sample.

    ``spec``: ``{"arrhenius": [lo, hi], "slidingco": [lo, hi], "variation": v}``. Sample
    ``sample`` draws one value of each, log-uniformly in [lo, hi], from a seed shared by all
    domains (with ``"per_domain": true`` in ``spec``, a seed of its own per domain, so that N
    domains x S samples give N x S distinct pairs instead of S); with ``variation`` v > 0 each
    field is multiplied by 1 + v * f, f a smooth random field in [-1, 1] (correlation length
    ~1 km) seeded by the domain too. ``variation`` and ``per_domain`` default to the config
    schema's defaults.
    """
    spec = {**defaults("parameters"), **spec}
    key = ((seed, "parameters", domain, sample) if spec["per_domain"]
           else (seed, "parameters", sample))
    rng = np.random.default_rng(stable_seed(*key))
    fields = {}
    for name in ("arrhenius", "slidingco"):
        field = np.full(shape, log_uniform(rng, *spec[name]))
        variation = float(spec["variation"])
        if variation > 0:
            local = np.random.default_rng(stable_seed(seed, domain, name, sample))
            noise = gaussian_filter(local.standard_normal(shape), sigma=max(1.0, 1000.0 / dx),
                                    mode="wrap")
            field = field * (1.0 + variation * noise / np.abs(noise).max())
        fields[name] = field
    return fields


def draw_estimate(spec: dict, estimate: dict, seed: int, domain: str, sample: int) -> dict:
    """The thickness-estimate keywords of start sample ``sample`` of ``domain``: the domain's
    own ``estimate`` with each range of ``spec`` (the config's ``start_thickness``:
    ``basal_stress`` [lo, hi] in MPa, ``slope_scale`` [lo, hi] in m) replaced by one value
    drawn log-uniformly from a seed of its own (seed, domain, sample)."""
    rng = np.random.default_rng(stable_seed(seed, "thickness", domain, sample))
    drawn = dict(estimate)
    for name in ("basal_stress", "slope_scale"):
        drawn[name] = log_uniform(rng, *spec[name])
    return drawn


def _velocity_block(vel: xr.Dataset | None, like: xr.Dataset, prefix: str, ok: bool):
    data = {}
    for f in VELOCITY_FIELDS:
        values = vel[f].values if vel is not None else np.full(like.thk.shape[-2:], np.nan)
        data[f"{prefix}_{f}"] = (("y", "x"), values, {"units": "m a-1"})
    data[f"{prefix}_converged"] = ((), ok)
    return data


def simulate_run(state: xr.Dataset, climate: dict | None, parameters: dict[str, np.ndarray],
                 simulation: dict | None, instructors: dict[str, dict], driver: str) -> xr.Dataset:
    """One transient run; returns its snapshots with each instructor's velocities.

    ``simulation``: fields of ``glacier.evolve.EvolveSettings`` (the config's ``simulation``
    section). ``instructors`` maps a name to ``{"model": registered flow model, "options": {...},
    "every": k}``; ``driver`` names the one that moves the ice (and solves every snapshot);
    another instructor solves every ``every``-th snapshot (default 1: all), starting with the
    first. The result has dims (time, y, x): the state (thk, usurf, topg, icemask, smb,
    arrhenius, slidingco) and, per instructor ``k``, ``k_ubar ... k_vvelbase``,
    ``k_solved`` and ``k_converged`` (time; NaN velocities where not solved or not converged),
    ``k_seconds`` (time, wall time of the solve), and ``touches_border`` (time: ice thicker
    than 1 m on the outermost row or column).
    If the driver itself fails, the run stops there and keeps the snapshots so far
    (attribute ``stopped_early``). With ``climate`` and ``simulation`` None the state is not
    evolved: one snapshot at t = 0 of the state as given (its balance zero), every instructor
    solving it (``solve_start``).
    """
    if driver not in instructors:
        raise InputError(f"driver '{driver}' is not among the instructors {sorted(instructors)}")
    state = complete_state(state.drop_vars(["arrhenius", "slidingco"], errors="ignore"))
    for name, field in parameters.items():
        state[name] = (("y", "x"), field)
    models = {k: get_flow_model(v["model"], **v.get("options", {})) for k, v in instructors.items()}
    settings = None if simulation is None else EvolveSettings(**simulation)
    timed = {k: _Timed(m) for k, m in models.items()}
    snapshots = []
    previous: dict[str, xr.Dataset] = {}

    def evaluate_others(snap: xr.Dataset) -> None:
        record = snap.isel(time=0)
        current = state.copy()
        current["thk"], current["usurf"] = record.thk, record.usurf
        block = _velocity_block(record, record, driver, True)
        block[f"{driver}_seconds"] = ((), timed[driver].last_seconds)
        block[f"{driver}_solved"] = ((), True)
        for name, model in timed.items():
            if name == driver:
                continue
            block[f"{name}_solved"] = ((), len(snapshots) % int(instructors[name].get("every", 1)) == 0)
            if not block[f"{name}_solved"][1]:
                block.update(_velocity_block(None, record, name, False))
                block[f"{name}_seconds"] = ((), float("nan"))
                continue
            try:
                vel, ok = model.velocity(current, guess=previous.get(name)), True
                previous[name] = vel
            except SolverError as exc:
                log.warning("%s did not converge at t=%.1f a: %s", name, float(snap.time[0]), exc)
                vel, ok = None, False
            block.update(_velocity_block(vel, record, name, ok))
            block[f"{name}_seconds"] = ((), model.last_seconds)
        snapshots.append(xr.Dataset({"thk": record.thk, "usurf": record.usurf, "smb": record.smb,
                                     **block}).expand_dims(time=[float(snap.time[0])]))
        log.info("snapshot t=%.1f a: volume %.4f km3", float(snap.time[0]),
                 float(record.thk.sum()) * float(state.x[1] - state.x[0]) ** 2 / 1e9)

    stopped = ""
    try:
        if settings is None:
            vel = timed[driver].velocity(state)
            evaluate_others(snapshot(state, vel, np.zeros(state.thk.shape), 0.0))
        else:
            evolve(state, timed[driver], ElaSmb(**climate), settings, show_progress=False,
                   on_snapshot=evaluate_others)
    except SolverError as exc:
        stopped = f"driver {driver} failed: {exc}"
        log.error("run stopped early: %s", stopped)
    if not snapshots:
        raise SolverError(f"no snapshot: {stopped}")
    run = xr.concat(snapshots, dim="time")
    run["touches_border"] = ("time", touches_border(run.thk.values))
    for name in ("topg", "icemask", "arrhenius", "slidingco"):
        run[name] = state[name]
    run.attrs.update(driver=driver, instructors=json.dumps(instructors), stopped_early=stopped,
                     retries=json.dumps({k: m.retries for k, m in timed.items()}),
                     climate=json.dumps(climate), simulation=json.dumps(simulation))
    return with_units(run)


def solve_start(state: xr.Dataset, parameters: dict[str, np.ndarray],
                instructors: dict[str, dict], driver: str) -> xr.Dataset:
    """The start state under ``parameters`` (A, c fields) solved once by every instructor, in
    the layout of a ``simulate_run`` run file with one snapshot at t = 0 (a start-state
    sample: the estimated-thickness states of real glaciers are the fastest of their runs)."""
    return simulate_run(state, None, parameters, None, instructors, driver)


class _Timed:
    """Wraps a flow model: records the wall time (s) of its last velocity solve and retries a
    failed solve once from the model's own cold start (no warm-start guess: the SIA or Picard
    start of the solvers), the safer setting; ``retries`` counts the retries made."""

    def __init__(self, model):
        self.model, self.name, self.last_seconds, self.retries = model, model.name, float("nan"), 0

    def velocity(self, state, guess=None):
        t0 = time.perf_counter()
        try:
            vel = self.model.velocity(state, guess=guess)
        except SolverError as exc:
            self.retries += 1
            log.warning("%s failed (%s); retrying once from a cold start", self.name, exc)
            vel = self.model.velocity(state, guess=None)
        self.last_seconds = time.perf_counter() - t0
        return vel
