"""Benchmark of the full-Stokes instructor; prints tables (run it, do not import it).

1. Cost growth: ISMIP-HOM A at L = 80 km on four meshes (16x more DOFs from first to last)
   with the given solver preset (default scalable): wall time (warm: forms compiled by a first
   untimed run), Newton and Krylov iterations, DOFs, and the fitted exponent of time vs DOFs.
2. A real glacier: the Aletsch window at 200 m with a glacier grown by the SIA for ``--years``
   (ELA 3000 m), then one Stokes velocity solve cold (Picard start) and one warm (previous
   solution as the guess): time per solve and the process's peak resident memory.

    nice python evaluation/bench_stokes.py [--sizes 8 16 24 32] [--layers 5] [--solver scalable]
"""

import argparse
import json
import resource
import time

import numpy as np


def ismip_scaling(sizes, layers, solver):
    from stokes_solver.ismip_hom import run_case

    run_case("A", 80, nx=sizes[0], nz=layers, solver=solver)
    rows = [run_case("A", 80, nx=n, nz=layers, solver=solver) for n in sizes]
    dofs = np.array([r["dofs"] for r in rows], dtype=float)
    times = np.array([r["wall_time_s"] for r in rows])
    exponent = float(np.polyfit(np.log(dofs), np.log(times), 1)[0])
    return rows, exponent


def grown_aletsch(years, resolution):
    from glacier.evolve import EvolveSettings, evolve
    from glacier.flow import get_flow_model
    from glacier.geometry import topography_window
    from glacier.smb import ElaSmb

    state = topography_window("aletsch_100m", resolution=resolution)
    run = evolve(state, get_flow_model("sia"), ElaSmb(ela=3000.0),
                 EvolveSettings(years=years, output_interval=years), show_progress=False)
    grown = state.copy()
    grown["thk"] = run.thk.isel(time=-1)
    grown["usurf"] = run.usurf.isel(time=-1)
    return grown


def glacier_solves(years, resolution, layers, solver):
    from glacier.flow import get_flow_model

    state = grown_aletsch(years, resolution)
    model = get_flow_model("stokes", layers=layers, solver=solver)
    t0 = time.perf_counter()
    cold = model.velocity(state)
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = model.velocity(state, guess=cold)
    t_warm = time.perf_counter() - t0
    speed = np.hypot(warm.uvelsurf, warm.vvelsurf)
    rep_c, rep_w = cold.attrs["solver_report"], warm.attrs["solver_report"]
    return {
        "grid": f"{state.sizes['x']}x{state.sizes['y']} at {resolution:.0f} m",
        "ice_points": int((state.thk > 1).sum()), "max_thk_m": float(state.thk.max()),
        "layers": layers, "dofs": rep_c["dofs"], "solver": rep_c["solver"],
        "cold_s": t_cold, "cold_newton": rep_c["newton_iterations"],
        "warm_s": t_warm, "warm_newton": rep_w["newton_iterations"],
        "max_surface_speed": float(speed.max()),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs=4, default=[8, 16, 24, 32])
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--solver", default="scalable")
    p.add_argument("--glacier-solver", default="auto")
    p.add_argument("--years", type=float, default=100.0)
    p.add_argument("--resolution", type=float, default=200.0)
    p.add_argument("--skip-ismip", action="store_true")
    p.add_argument("--skip-glacier", action="store_true")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    from icebench.cli import machine_info

    out = {"machine": {k: machine_info()[k] for k in ("processor", "cores", "petsc", "firedrake")}}
    if not args.skip_ismip:
        rows, exponent = ismip_scaling(args.sizes, args.layers, args.solver)
        out.update(ismip=rows, exponent=exponent)
        print(f"ISMIP-HOM A, L = 80 km, {args.layers} layers, solver {args.solver}")
        print(f"{'nx':>4} {'dofs':>8} {'newton':>6} {'krylov':>6} {'time s':>8} {'max u':>8}")
        for r in rows:
            print(f"{r['nx']:>4} {r['dofs']:>8} {r['newton_iterations']:>6} "
                  f"{r['linear_iterations']:>6} {r['wall_time_s']:8.2f} {r['max_surface_speed']:8.2f}")
        print(f"fitted time ~ DOFs^{exponent:.2f}")
    if not args.skip_glacier:
        g = glacier_solves(args.years, args.resolution, args.layers, args.glacier_solver)
        out["glacier"] = g
        print(f"Aletsch window {g['grid']}, SIA-grown {args.years:.0f} a: {g['ice_points']} ice "
              f"points, max thk {g['max_thk_m']:.0f} m, {g['layers']} layers, {g['dofs']} DOFs, "
              f"solver {g['solver']}")
        print(f"  cold solve {g['cold_s']:.2f} s ({g['cold_newton']} Newton), warm solve "
              f"{g['warm_s']:.2f} s ({g['warm_newton']} Newton), max surface speed "
              f"{g['max_surface_speed']:.1f} m/a, peak RSS {g['peak_rss_mib']:.0f} MiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=str)


if __name__ == "__main__":
    main()
