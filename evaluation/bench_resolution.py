"""How converged the instructors are on real glaciers, in the metric the emulators are scored
with: each instructor at the data's settings against itself refined; prints a table (run it,
do not import it).

For each chosen snapshot of a run file of a data generation (``--runs``, ``--snapshots``:
indices among the snapshots Stokes solved), the state (thickness, bed, A, c) is solved cold by

- ``stokes`` with ``--layers`` (the data's: 3) and with ``--fine-layers`` (6): the vertical
  discretisation at 100 m;
- ``hybrid`` on the state's grid and on a grid ``--refine`` times finer (the state resampled
  bilinearly by ``evaluation.resample``, ice kept inside the coarse cells that have ice, so the
  outline is the same), its velocities averaged back over the fine cells of each coarse cell:
  the horizontal discretisation;
- with ``--stokes-refine``, ``stokes`` (``--layers``) on that finer grid as well, on states of
  at most ``--max-cells`` ice cells (a direct solve of 4 times the columns needs some 4 times
  the memory).

Each row gives the velbar and velsurf fidelity (``glacier.metrics``) of the data-setting solve
against the refined one, i.e. how far the data's velocities are from the instructor's own
better answer, beside the hybrid against Stokes and the stored run-file velocities against the
cold solve (the warm starts of the generation). An emulator scored against an instructor
cannot be told apart from it to better than that instructor's own discretisation error.

    python evaluation/bench_resolution.py --runs <data_dir>/runs/linth_22/*/p*.nc \\
        --snapshots 0 -1
"""

import argparse
import datetime
import time

import numpy as np

from glacier.fields import VELOCITY_FIELDS
from evaluation.runs import add_run_arguments, run_state, solved_snapshots


def refined_state(state, factor: int):
    """``state`` on a grid ``factor`` times finer (bilinear), with no ice in the fine cells of
    coarse cells without ice."""
    from evaluation.resample import resample
    from glacier.fields import complete_state

    fine = resample(state, factor * state.sizes["x"])
    ice = np.kron(state.thk.values > 1.0, np.ones((factor, factor), dtype=bool))
    fine["thk"] = fine.thk.where(ice, 0.0)
    fine["usurf"] = fine.topg + fine.thk
    return complete_state(fine)


def coarsened(fields: dict, factor: int) -> dict[str, np.ndarray]:
    """Block means over ``factor`` x ``factor`` cells of each field."""
    out = {}
    for name, values in fields.items():
        v = np.asarray(values)
        ny, nx = v.shape[0] // factor, v.shape[1] // factor
        out[name] = v.reshape(ny, factor, nx, factor).mean(axis=(1, 3))
    return out


def _solve(model, state) -> tuple[dict[str, np.ndarray], float]:
    t0 = time.perf_counter()
    vel = model.velocity(state)
    return {f: vel[f].values for f in VELOCITY_FIELDS}, time.perf_counter() - t0


def rows(paths, snapshots, layers: int, fine_layers: int, refine: int, stokes_refine: bool,
         max_cells: int) -> list[dict]:
    from glacier.flow import get_flow_model
    from glacier.metrics import fidelity_scores

    out = []
    for path, run, index in solved_snapshots(paths, snapshots):
        state = run_state(run, index)
        thk = state.thk.values
        ice = thk > 1.0

        def fid(a, b):
            return fidelity_scores(a, b, thk)["fidelity"]

        stored = {name: {f: run[f"{name}_{f}"].values[index] for f in VELOCITY_FIELDS}
                  for name in ("hybrid", "stokes")}
        stokes, t_stokes = _solve(get_flow_model("stokes", layers=layers), state)
        stokes_fine, t_stokes_fine = _solve(get_flow_model("stokes", layers=fine_layers), state)
        hybrid, t_hybrid = _solve(get_flow_model("hybrid"), state)
        fine_state = refined_state(state, refine)
        fine, t_fine = _solve(get_flow_model("hybrid"), fine_state)
        hybrid_fine = coarsened(fine, refine)
        stokes_grid, t_grid = {f: np.nan for f in ("velbar", "velsurf")}, float("nan")
        if stokes_refine and ice.sum() <= max_cells:
            fine_stokes, t_grid = _solve(get_flow_model("stokes", layers=layers), fine_state)
            stokes_grid = fid(stokes, coarsened(fine_stokes, refine))
        out.append({
            "run": "/".join(path.split("/")[-3:]), "time_a": float(run.time[index]),
            "ice_cells": int(ice.sum()), "max_thk": float(thk.max()),
            "A": float(np.median(run.arrhenius.values[ice])),
            "c": float(np.median(run.slidingco.values[ice])),
            "stokes_mean": float(np.hypot(stokes["ubar"], stokes["vbar"])[ice].mean()),
            "stokes_layers": fid(stokes, stokes_fine), "stokes_grid": stokes_grid,
            "hybrid_grid": fid(hybrid, hybrid_fine),
            "hybrid_vs_stokes": fid(hybrid, stokes_fine),
            "stored_stokes": fid(stored["stokes"], stokes),
            "stored_hybrid": fid(stored["hybrid"], hybrid),
            "seconds": {"stokes": t_stokes, "stokes_fine": t_stokes_fine,
                        "hybrid": t_hybrid, "hybrid_fine": t_fine, "stokes_grid": t_grid}})
        print(_line(out[-1]), flush=True)
    return out


def _line(r: dict) -> str:
    s = r["seconds"]
    return (f"{r['run']:>34} {r['time_a']:>6.1f} {r['ice_cells']:>5d} {r['max_thk']:>5.0f} "
            f"{r['A']:>5.0f} {r['c']:>6.3f} {r['stokes_mean']:>7.1f} "
            f"{r['stokes_layers']['velbar']:>7.3f} {r['stokes_layers']['velsurf']:>7.3f} "
            f"{r['stokes_grid']['velbar']:>7.3f} {r['stokes_grid']['velsurf']:>7.3f} "
            f"{r['hybrid_grid']['velbar']:>7.3f} {r['hybrid_grid']['velsurf']:>7.3f} "
            f"{r['hybrid_vs_stokes']['velbar']:>7.3f} "
            f"{r['stored_stokes']['velbar']:>7.3f} {r['stored_hybrid']['velbar']:>7.3f} "
            f"{s['stokes']:>5.0f} {s['stokes_fine']:>5.0f} {s['hybrid']:>5.1f} "
            f"{s['hybrid_fine']:>5.1f} {s['stokes_grid']:>5.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser, [0, -1])
    parser.add_argument("--layers", type=int, default=3, help="the data's Stokes layers")
    parser.add_argument("--fine-layers", type=int, default=6)
    parser.add_argument("--refine", type=int, default=2, help="grid refinement factor")
    parser.add_argument("--stokes-refine", action="store_true",
                        help="also solve Stokes on the finer grid")
    parser.add_argument("--max-cells", type=int, default=1500,
                        help="largest ice-cell count for the fine Stokes solve")
    args = parser.parse_args()

    from glacier.provenance import machine_info

    info = machine_info()
    print(f"# Instructors against themselves refined, {datetime.date.today()}")
    print(f"# Machine: {info['processor']}, {info['cores']} cores; Stokes {args.layers} against "
          f"{args.fine_layers} layers; hybrid{' and Stokes' if args.stokes_refine else ''} "
          f"against a grid {args.refine} times finer (averaged back); every solve cold; velbar "
          "/ velsurf fidelity, the refined solve the reference")
    print(f"{'run':>34} {'t a':>6} {'cells':>5} {'H max':>5} {'A':>5} {'c':>6} {'FS mean':>7} "
          f"{'FS lay':>7} {'FS lay':>7} {'FS grid':>7} {'FS grid':>7} {'H grid':>7} {'H grid':>7} {'H-FS':>7} "
          f"{'st. FS':>7} {'st. H':>7} {'t FS':>5} {'t FS+':>5} {'t H':>5} {'t H+':>5} "
          f"{'t FSg':>5}")
    print(f"{'':>34} {'':>6} {'':>5} {'m':>5} {'':>5} {'':>6} {'m/a':>7} {'velbar':>7} "
          f"{'velsurf':>7} {'velbar':>7} {'velsurf':>7} {'velbar':>7} {'velsurf':>7} "
          f"{'velbar':>7} {'velbar':>7} {'velbar':>7} {'s':>5} {'s':>5} {'s':>5} {'s':>5} "
          f"{'s':>5}")
    rows(args.runs, args.snapshots, args.layers, args.fine_layers, args.refine,
         args.stokes_refine, args.max_cells)


if __name__ == "__main__":
    main()
