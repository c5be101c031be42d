"""Evolution driver: any FlowModel + surface mass balance + mass transport, over N years.

Each step: velocities from the flow model (recomputed at every step, or every
``velocity_interval`` years for costly solvers, with the previous solution as a warm start),
a CFL-limited time step that lands exactly on every output time, upwind transport of the
thickness, ``usurf = topg + thk``. Snapshots at the output times hold the state (thk, usurf),
the balance and the velocity fields of that very state, so inputs and outputs of a snapshot
belong together (the training data rely on that).
"""

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from glacier.errors import InputError, SolverError
from glacier.fields import VELOCITY_FIELDS, grid_spacing, with_units
from glacier.flow import FlowModel, PreparedFlowModel
from glacier.io import write_dataset
from glacier.progress import log, progress
from glacier.schema import defaults
from glacier.transport import cfl_time_step, diffusive_time_step, step_thickness
from glacier.validation import check_thickness, validate_state


_DEFAULTS = defaults("simulation")


@dataclass
class EvolveSettings:
    """Time stepping: run ``years`` (a), snapshot every ``output_interval`` (a), CFL number,
    largest step ``dt_max`` (a), velocity update interval (a; 0 = every step), the distance
    (``velocity_displacement``, in cells; None = no such limit) after which the fastest ice
    renews the velocity before the interval has passed, and whether the step also obeys the
    diffusive limit of the deformation flux (``diffusive_limit``; the velocity CFL alone lets
    steep, thick SIA ice oscillate). The keys of the config's
    ``simulation`` section are fields of it, with the schema's defaults."""

    years: float
    output_interval: float = 10.0
    cfl: float = _DEFAULTS["cfl"]
    dt_max: float = _DEFAULTS["dt_max"]
    velocity_interval: float = _DEFAULTS["velocity_interval"]
    velocity_displacement: float | None = _DEFAULTS["velocity_displacement"]
    diffusive_limit: bool = True

    def __post_init__(self):
        if self.years <= 0:
            raise InputError(f"years must be > 0, got {self.years}")
        if not 0 < self.output_interval:
            raise InputError(f"output_interval must be > 0, got {self.output_interval}")
        if not 0 < self.cfl <= 1:
            raise InputError(f"cfl must be in (0, 1], got {self.cfl}")
        if self.dt_max <= 0 or self.velocity_interval < 0:
            raise InputError("dt_max must be > 0 and velocity_interval >= 0")
        if self.velocity_displacement is not None and self.velocity_displacement <= 0:
            raise InputError(f"velocity_displacement must be > 0 cells or None, got "
                             f"{self.velocity_displacement}")

    def output_times(self) -> np.ndarray:
        n = int(np.floor(self.years / self.output_interval + 1e-9))
        times = self.output_interval * np.arange(n + 1)
        return times if np.isclose(times[-1], self.years) else np.append(times, self.years)


def _set_thickness(state: xr.Dataset, thk: np.ndarray) -> None:
    """Put the thickness ``thk`` (m) and its surface ``topg + thk`` into ``state``."""
    state["thk"] = (("y", "x"), thk)
    state["usurf"] = (("y", "x"), state.topg.values + thk)


def snapshot(state: xr.Dataset, vel, smb: np.ndarray, t: float) -> xr.Dataset:
    """The output record of ``state`` at time ``t`` (a): thk, usurf, the balance ``smb``
    (m a-1) and the six velocity fields of ``vel`` (a dict of arrays or a Dataset, m a-1),
    with a time axis of length 1."""
    snap = xr.Dataset({"thk": state.thk, "usurf": state.usurf, "smb": (("y", "x"), smb),
                       **{k: (("y", "x"), np.asarray(vel[k], dtype=float))
                          for k in VELOCITY_FIELDS}})
    return snap.expand_dims(time=[t])


def evolve(state: xr.Dataset, flow_model: FlowModel, smb_model, settings: EvolveSettings,
           show_progress: bool = True, on_snapshot=None, stop_on_failure: bool = False,
           start_time: float = 0.0, guess: xr.Dataset | None = None) -> xr.Dataset:
    """Run the evolution from ``state`` at ``start_time`` (a; the climate's clock and the
    snapshots' times start there) for ``settings.years``; return the snapshots as a Dataset
    (time, y, x). ``guess``: velocities to warm-start the first solve (the velocity is always
    renewed at an output time, so the start's velocity is the flow model's own).

    ``on_snapshot(snapshot_dataset)`` is called at each output time (e.g. to evaluate a second
    flow model on the same state). Static fields (topg, icemask, arrhenius, slidingco) are
    stored once; ``volume`` (m3) and ``area`` (m2, thk > 1 m) are time series; ``clipped_volume``
    (m3) is the ablation that found no ice. A solver that fails raises SolverError, a state
    driven out of the valid ranges (e.g. thicker than glacier.validation allows) InputError;
    with ``stop_on_failure`` the run ends instead at its last snapshot, and the attribute
    ``stopped`` says when and why (it still raises when no snapshot was made).
    """
    state = validate_state(state).copy(deep=True)
    dx = grid_spacing(state)
    topg = state.topg.values
    thk = state.thk.values.copy()
    icemask = state.icemask.values if "icemask" in state else None
    step = flow_model.prepare(state) if isinstance(flow_model, PreparedFlowModel) else None
    out_times = start_time + settings.output_times()
    snaps, clipped, stopped = [], 0.0, None
    t, next_out, t_vel = float(start_time), 0, -np.inf
    vel, last, top_speed = None, guess, 0.0
    reach = np.inf if settings.velocity_displacement is None else settings.velocity_displacement * dx
    with progress(f"evolve[{flow_model.name}]", total=settings.years, enabled=show_progress) as adv:
        try:
            while True:
                at_output = np.isclose(t, out_times[next_out], atol=1e-9)
                if vel is None or t - t_vel >= settings.velocity_interval - 1e-9 or \
                        top_speed * (t - t_vel) >= reach or np.isclose(t, out_times[next_out]):
                    if step is not None:  # arrays only: no per-step Dataset or validation
                        check_thickness(state, thk)
                        vel = step(thk)
                    else:
                        _set_thickness(state, thk)
                        last = flow_model.velocity(state, guess=last)
                        vel = {k: last[k].values for k in VELOCITY_FIELDS}
                    t_vel, top_speed = t, float(np.hypot(vel["ubar"], vel["vbar"]).max())
                usurf = topg + thk
                smb = smb_model(usurf, t, icemask)
                if next_out < len(out_times) and at_output:
                    _set_thickness(state, thk)
                    snap = snapshot(state, vel, smb, t)
                    snaps.append(snap)
                    if on_snapshot is not None:
                        on_snapshot(snap)
                    vol = float(thk.sum()) * dx * dx
                    adv(0, f"t={t:.1f} a, volume={vol / 1e9:.4f} km3")
                    next_out += 1
                    if next_out == len(out_times):
                        break
                u, v = vel["ubar"], vel["vbar"]
                dt = cfl_time_step(u, v, dx, settings.cfl, settings.dt_max)
                if settings.diffusive_limit:
                    dt = min(dt, diffusive_time_step(thk, u, v, vel["uvelbase"],
                                                     vel["vvelbase"], usurf, dx))
                dt = min(dt, out_times[next_out] - t)
                thk, dclip = step_thickness(thk, u, v, smb, dx, dt)
                if not np.all(np.isfinite(thk)):
                    raise SolverError(f"thickness became non-finite at t={t:.3f} a")
                clipped += dclip
                t = out_times[next_out] if np.isclose(t + dt, out_times[next_out]) else t + dt
                adv(dt)
        except (InputError, SolverError) as error:
            if not stop_on_failure or not snaps:
                raise
            stopped = f"after the snapshot at t = {float(snaps[-1].time[0]):g} a: {error}"
            log.warning("evolve[%s]: stopped %s", flow_model.name, stopped)
    log.info("evolve[%s]: %d snapshots, %.1f a from t = %g a", flow_model.name, len(snaps),
             settings.years, start_time)
    run = xr.concat(snaps, dim="time")
    for name in ("topg", "icemask", "arrhenius", "slidingco"):
        if name in state:
            run[name] = state[name]
    run["volume"] = ("time", (run.thk.sum(("x", "y")) * dx * dx).values)
    run["area"] = ("time", ((run.thk > 1.0).sum(("x", "y")) * dx * dx).values)
    run.time.attrs["units"] = "a"
    run.volume.attrs["units"] = "m3"
    run.area.attrs["units"] = "m2"
    run.attrs.update(flow_model=flow_model.name, clipped_volume_m3=clipped, cfl=settings.cfl,
                     dt_max_a=settings.dt_max, velocity_interval_a=settings.velocity_interval)
    if stopped:
        run.attrs["stopped"] = stopped
    return with_units(run)


def evolve_in_chunks(state: xr.Dataset, flow_model: FlowModel, smb_model,
                     settings: EvolveSettings, path, chunk_years: float, identity: dict,
                     attrs: dict | None = None, show_progress: bool = True,
                     stop_on_failure: bool = False) -> xr.Dataset:
    """``evolve`` in chunks of ``chunk_years`` (a multiple of the output interval), writing the
    run so far to ``path`` (NetCDF, with the attributes ``attrs``) atomically after each chunk,
    so that a run longer than a session survives interruptions: called again with the same
    ``identity`` (a dict of what defines the run: model, climate, settings, input; stored in
    the file), it continues from the last snapshot written. Each chunk starts from a snapshot,
    where ``evolve`` renews the velocity anyway (warm-started from the snapshot's own
    velocities), so the chunked run takes the same steps as one ``evolve`` over the whole
    length. Returns the whole run; its attribute ``complete`` is 1 once ``settings.years`` are
    done, ``wall_time_s`` sums the wall time of its chunks (s). With ``stop_on_failure`` a model
    that fails ends the run at its last snapshot (``evolve``'s ``stopped`` attribute, and
    ``complete`` 1: there is nothing left to run). A file of another identity is refused with
    an InputError, before any work."""
    ratio = chunk_years / settings.output_interval
    if chunk_years <= 0 or abs(ratio - round(ratio)) > 1e-9:
        raise InputError(f"chunk_years ({chunk_years} a) must be a positive multiple of the "
                         f"output interval ({settings.output_interval} a)")
    path, key = Path(path), json.dumps(identity, sort_keys=True, default=str)
    run = None
    if path.exists():
        with xr.open_dataset(path) as stored:
            run = stored.load()
        if run.attrs.get("run_identity") != key:
            raise InputError(f"'{path}' holds a run of other settings; remove it or write "
                             f"elsewhere (its identity: {run.attrs.get('run_identity')})")
        log.info("evolve[%s]: resuming %s at t = %g a", flow_model.name, path,
                 float(run.time[-1]))
    state = validate_state(state).copy(deep=True)
    while run is None or (float(run.time[-1]) < settings.years - 1e-9
                          and "stopped" not in run.attrs):
        t0, guess = 0.0, None
        if run is not None:  # restart from the last snapshot, with its velocities as the guess
            last = run.isel(time=-1).drop_vars("time")
            t0, guess = float(run.time[-1]), last[list(VELOCITY_FIELDS)]
            state["thk"], state["usurf"] = last.thk, last.usurf
        years = min(chunk_years, settings.years - t0)
        started = time.perf_counter()
        part = evolve(state, flow_model, smb_model, dataclasses.replace(settings, years=years),
                      show_progress=show_progress, start_time=t0, guess=guess,
                      stop_on_failure=stop_on_failure)
        seconds = time.perf_counter() - started
        stopped = {"stopped": part.attrs["stopped"]} if "stopped" in part.attrs else {}
        clipped = part.attrs["clipped_volume_m3"]
        if run is not None:
            clipped += run.attrs["clipped_volume_m3"]
            seconds += run.attrs.get("wall_time_s", 0.0)
            part = xr.concat([run, part.isel(time=slice(1, None))], dim="time",
                             data_vars="minimal", coords="minimal", compat="override",
                             combine_attrs="override")
        done = float(part.time[-1]) >= settings.years - 1e-9 or bool(stopped)
        part.attrs.update(attrs or {}, **stopped, clipped_volume_m3=clipped, run_identity=key,
                          wall_time_s=seconds, complete=int(done))
        write_dataset(part, path)
        run = part
    return run


def grow_glacier(state: xr.Dataset, years: float, ela: float, model: str = "sia") -> xr.Dataset:
    """The state after ``years`` (a) of growth under a constant ELA (m) with the flow model
    ``model`` (default: the closed-form SIA): a glacier to benchmark or score solvers on."""
    from glacier.flow import get_flow_model
    from glacier.smb import ElaSmb

    run = evolve(state, get_flow_model(model), ElaSmb(ela=ela),
                 EvolveSettings(years=years, output_interval=years), show_progress=False)
    grown = state.copy()
    grown["thk"] = run.thk.isel(time=-1, drop=True)
    grown["usurf"] = run.usurf.isel(time=-1, drop=True)
    return grown
