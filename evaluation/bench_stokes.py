"""Benchmark of the full-Stokes instructor; prints tables (run it, do not import it).

1. The naive baseline case of docs/design.md, ISMIP-HOM A at L = 80 km on 16x16 columns, measured here: the
   ``naive`` preset (5 layers, Newton from zero, a MUMPS LU at every Newton step; docs/design.md
   quotes 25 s) beside the default solver (Picard start, lagged LDL^T factorization) at 5 and at the default 3
   layers, and the vertical convergence (2, 3, 4, 5, 8 layers) that justifies 3.
2. Cost growth: ISMIP-HOM A at L = 80 km on four meshes (16x more DOFs from first to last)
   with the given solver preset: wall time (warm: forms compiled by a first untimed run),
   Newton and Krylov iterations, DOFs, and the fitted exponent of time vs DOFs.
3. Grown glaciers, each solved cold (SIA start; the first once untimed to compile the forms),
   then warm (previous solution as the guess): a 32x32 synthetic valley at 200 m grown 40 years with the
   SIA (ELA 3000 m) and the Aletsch window at 200 m grown ``--years`` with the SIA (ELA 3000 m):
   time per solve, Newton steps, DOFs, meshed columns, the process's peak resident memory.
4. The baseline on a real transient run, as the data generator meets it: the valley of 3.
   grown 2, 4, 6 and 8 more years; each snapshot solved by the naive recipe (5 layers, Newton
   from rest, LU at every step), by the default (3 layers) cold, and by one default model
   carried along the run (warm start, kept mesh and factorization while the ice mask holds);
   the per-snapshot and whole-run speed-ups.

    nice python evaluation/bench_stokes.py [--sizes 8 16 24 32] [--layers 3] [--solver direct]
    nice python evaluation/bench_stokes.py --skip-ismip --only-aletsch --aletsch-resolution 100
    mpiexec -n 2 python evaluation/bench_stokes.py ...   (the baseline's 2 cores)
"""

import argparse
import json
import os
import sys
import resource

import numpy as np


def ismip_scaling(sizes, layers, solver):
    from stokes_solver.ismip_hom import run_case

    run_case("A", 80, nx=sizes[0], nz=layers, solver=solver)
    rows = [run_case("A", 80, nx=n, nz=layers, solver=solver) for n in sizes]
    dofs = np.array([r["dofs"] for r in rows], dtype=float)
    times = np.array([r["wall_time_s"] for r in rows])
    exponent = float(np.polyfit(np.log(dofs), np.log(times), 1)[0])
    return rows, exponent


def baseline_comparison(nx=16):
    """Rows (label, run_case result) of the baseline case: naive, then the default solver at 5
    and 3 layers, then the default solver at 2, 4 and 8 layers for the vertical convergence."""
    from stokes_solver.ismip_hom import run_case

    run_case("A", 80, nx=8, nz=3, solver="naive", picard_steps=0)  # compile the forms untimed
    run_case("A", 80, nx=8, nz=3, solver="direct")
    rows = [("naive, 5 layers", run_case("A", 80, nx=nx, nz=5, solver="naive", picard_steps=0))]
    rows += [(f"direct, {nz} layers", run_case("A", 80, nx=nx, nz=nz, solver="direct"))
             for nz in (5, 3, 2, 4, 8)]
    return rows


def print_baseline(rows):
    naive = rows[0][1]["wall_time_s"]
    converged = rows[-1][1]["max_surface_speed"]
    print(f"ISMIP-HOM A, L = 80 km, {rows[0][1]['nx']}x{rows[0][1]['nx']} columns, "
          f"{rows[0][1]['ranks']} rank(s); speed-up against the naive solve measured here "
          f"(docs/design.md: 25 s); max speed error against 8 layers")
    print(f"{'solver':<18} {'dofs':>7} {'picard':>6} {'newton':>6} {'krylov':>6} {'time s':>7} "
          f"{'speed-up':>8} {'max u':>7} {'err %':>6}")
    for label, r in rows:
        print(f"{label:<18} {r['dofs']:>7} {r['picard_iterations']:>6} {r['newton_iterations']:>6} "
              f"{r['linear_iterations']:>6} {r['wall_time_s']:7.2f} {naive / r['wall_time_s']:8.1f} "
              f"{r['max_surface_speed']:7.2f} "
              f"{100 * abs(r['max_surface_speed'] / converged - 1):6.2f}")


def glacier_solves(state, layers, solver, compile_first):
    """Cold (timed) and warm Stokes solves of ``state``, after an untimed one that compiles the
    forms if ``compile_first`` (the kernels are shared by all grids of the same layers)."""
    from evaluation.timing import cold_and_warm
    from glacier.flow import get_flow_model

    if compile_first:
        get_flow_model("stokes", layers=layers, solver=solver).velocity(state)
    model = get_flow_model("stokes", layers=layers, solver=solver)
    cold, t_cold, warm, t_warm = cold_and_warm(model, state)
    speed = np.hypot(warm.uvelsurf, warm.vvelsurf)
    rep_c, rep_w = cold.attrs["solver_report"], warm.attrs["solver_report"]
    return {
        "grid": f"{state.sizes['x']}x{state.sizes['y']} at {float(state.x[1] - state.x[0]):.0f} m",
        "ice_points": int((state.thk > 1).sum()), "max_thk_m": float(state.thk.max()),
        "meshed_columns": rep_c["meshed_columns"],
        "layers": layers, "dofs": rep_c["dofs"], "solver": rep_c["solver"],
        "cold_s": t_cold, "cold_picard": rep_c["picard_iterations"],
        "cold_newton": rep_c["newton_iterations"], "cold_krylov": rep_c["linear_iterations"],
        "warm_s": t_warm, "warm_newton": rep_w["newton_iterations"],
        "max_surface_speed": float(speed.max()),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def snapshot_comparison(previous, snapshots=4, years=2.0, ela=3000.0):
    """The next ``snapshots`` snapshots, ``years`` apart, after ``previous`` (grown with the
    SIA, ELA ``ela`` m), as a transient run meets them. Rows (label, seconds, report, max
    surface speed m/a): each snapshot by the naive recipe, by the default cold (a new model),
    and by one default model carried along the run (warm: the previous snapshot's solution, and
    its mesh and factorization while the ice mask is unchanged; a new mask meshes anew and
    starts from the previous solution transferred to it). Each configuration is compiled first on a 12 x 12 corner
    of the glacier (untimed)."""
    from evaluation.timing import timed_velocity
    from glacier.evolve import grow_glacier
    from glacier.flow import get_flow_model

    states = [previous]
    for _ in range(snapshots):
        states.append(grow_glacier(states[-1], years, ela))
    corner = previous.isel(x=slice(4, 16), y=slice(4, 16))
    configs = {"naive": dict(layers=5, solver="naive", picard_steps=0, start="rest"),
               "default": dict(layers=3)}
    for options in configs.values():
        get_flow_model("stokes", **options).velocity(corner)

    def timed(model, target, guess=None):
        ds, seconds = timed_velocity(model, target, guess)
        speed = float(np.hypot(ds.uvelsurf, ds.vvelsurf).max())
        return seconds, ds.attrs["solver_report"], speed, ds

    carried = get_flow_model("stokes", **configs["default"])
    before = timed(carried, previous)[3]
    rows = []
    for k, state in enumerate(states[1:], start=1):
        t = f"+{k * years:g} a"
        rows.append((f"{t} naive, 5 layers, rest",) +
                    timed(get_flow_model("stokes", **configs["naive"]), state)[:3])
        rows.append((f"{t} default, cold",) +
                    timed(get_flow_model("stokes", **configs["default"]), state)[:3])
        warm = timed(carried, state, guess=before)
        rows.append((f"{t} default, carried",) + warm[:3])
        before = warm[3]
    return rows


def print_snapshots(rows):
    print(f"The next {len(rows) // 3} snapshots of the valley, 2 a apart: each by the naive "
          "recipe, by the default cold, and by one default model carried along the run")
    print(f"{'snapshot, solver':<30} {'dofs':>7} {'picard':>6} {'newton':>6} {'krylov':>6} "
          f"{'time s':>7} {'speed-up':>8} {'max u':>7}  start / mesh / factorization")
    totals = dict.fromkeys(("naive", "default cold", "default carried"), 0.0)
    for i, (label, seconds, r, speed) in enumerate(rows):
        naive = rows[i - i % 3][1]
        totals[list(totals)[i % 3]] += seconds
        print(f"{label:<30} {r['dofs']:>7} {r.get('picard_iterations', 0):>6} "
              f"{r['newton_iterations']:>6} {r['linear_iterations']:>6} {seconds:7.2f} "
              f"{naive / seconds:8.1f} {speed:7.2f}  {r.get('start')} / {r.get('mesh')} / "
              f"{r.get('factorization')}")
    naive_total = totals["naive"]
    print("whole run: " + ", ".join(f"{k} {v:.1f} s ({naive_total / v:.1f}x)"
                                    for k, v in totals.items()))


def print_glacier(title, g):
    print(f"{title}: {g['grid']}, {g['ice_points']} ice points, {g['meshed_columns']} meshed "
          f"columns, max thk {g['max_thk_m']:.0f} m, {g['layers']} layers, {g['dofs']} DOFs, "
          f"solver {g['solver']}")
    print(f"  cold solve {g['cold_s']:.2f} s ({g['cold_picard']} Picard + {g['cold_newton']} "
          f"Newton, {g['cold_krylov']} Krylov), warm solve {g['warm_s']:.2f} s "
          f"({g['warm_newton']} Newton), max surface speed {g['max_surface_speed']:.1f} m/a, "
          f"peak RSS {g['peak_rss_mib']:.0f} MiB")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs=4, default=[8, 16, 24, 32])
    p.add_argument("--layers", type=int, default=3, help="layers of the ISMIP-HOM meshes")
    p.add_argument("--solver", default="direct", help="preset of the cost-growth ladder")
    p.add_argument("--glacier-layers", type=int, default=3)
    p.add_argument("--glacier-solver", default="auto")
    p.add_argument("--years", type=float, default=100.0, help="growth of the Aletsch glacier")
    p.add_argument("--aletsch-resolution", type=float, default=200.0,
                   help="grid spacing (m) of the Aletsch window (the DEM is 100 m)")
    p.add_argument("--skip-ismip", action="store_true")
    p.add_argument("--skip-glacier", action="store_true")
    p.add_argument("--only-snapshots", action="store_true",
                   help="of the glacier parts, run only 4. (the transient snapshots)")
    p.add_argument("--only-aletsch", action="store_true",
                   help="of the glacier parts, run only the Aletsch window")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    from mpi4py import MPI

    from glacier.provenance import machine_info

    if MPI.COMM_WORLD.rank:  # under mpiexec, rank 0 prints and writes
        sys.stdout, args.json = open(os.devnull, "w"), None

    out = {"machine": {k: machine_info()[k] for k in ("processor", "cores", "petsc", "firedrake")}}
    if not args.skip_ismip:
        out["baseline"] = baseline = baseline_comparison()
        print_baseline(baseline)
        rows, exponent = ismip_scaling(args.sizes, args.layers, args.solver)
        out.update(ismip=rows, exponent=exponent)
        print(f"ISMIP-HOM A, L = 80 km, {args.layers} layers, solver {args.solver}")
        print(f"{'nx':>4} {'dofs':>8} {'newton':>6} {'krylov':>6} {'time s':>8} {'max u':>8}")
        for r in rows:
            print(f"{r['nx']:>4} {r['dofs']:>8} {r['newton_iterations']:>6} "
                  f"{r['linear_iterations']:>6} {r['wall_time_s']:8.2f} {r['max_surface_speed']:8.2f}")
        print(f"fitted time ~ DOFs^{exponent:.2f}")
    from glacier.evolve import grow_glacier
    from glacier.geometry import synthetic_valley, topography_window

    if not args.skip_glacier and not args.only_aletsch:
        valley = grow_glacier(synthetic_valley(1, nx=32, ny=32, resolution=200.0), 40.0, 3000.0)
        if not args.only_snapshots:
            out["valley"] = g = glacier_solves(valley, args.glacier_layers, args.glacier_solver,
                                               True)
            print_glacier("Synthetic valley 1, SIA-grown 40 a", g)
        rows = snapshot_comparison(valley)
        out["snapshot"] = [{"label": r[0], "seconds": r[1], "report": r[2], "max_surface_speed": r[3]}
                           for r in rows]
        print_snapshots(rows)
    if not args.skip_glacier and not args.only_snapshots:
        aletsch = grow_glacier(topography_window("aletsch_100m", resolution=args.aletsch_resolution),
                               args.years, 3000.0)
        out["aletsch"] = g = glacier_solves(aletsch, args.glacier_layers, args.glacier_solver, False)
        print_glacier(f"Aletsch window at {args.aletsch_resolution:.0f} m, SIA-grown {args.years:.0f} a", g)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=str)


if __name__ == "__main__":
    main()
