"""Benchmark of the hybrid SIA+SSA instructor; prints a table (run it, do not import it).

Time per velocity solve (wall clock, forms compiled by an untimed first solve) on
1. the Aletsch window at 200 m and 100 m with a glacier grown for ``--years`` by the
   closed-form SIA (ELA 3000 m): a cold solve (Newton from the local friction balance) and a
   warm one (the previous solution as the guess);
2. ISMIP-HOM A at L = 80 km (frozen bed: the shear mode alone) and C at L = 80 km (both modes,
   linear sliding), on periodic domains;
3. a transient run as the data driver meets it: the 200 m Aletsch glacier of 1. evolved
   ``--run-years`` more with the hybrid renewed every year (ELA 3000 m), once by one model
   carried along the run (it keeps its mesh, forms and Newton solver while the ice mask holds)
   and once by a new model per renewal (all built anew; warm start from the previous
   velocities): wall time of the run, renewals, and how many reused the setup.

    nice python evaluation/bench_hybrid.py [--years 100] [--nx 40] [--solver auto]
                                           [--run-years 20] [--json]
"""

import argparse
import json
import sys

import numpy as np


def grown_aletsch(years: float, resolution: float):
    from glacier.evolve import grow_glacier
    from glacier.geometry import topography_window

    return grow_glacier(topography_window("aletsch_100m", resolution=resolution), years, 3000.0)


def aletsch_row(years: float, resolution: float, solver: str) -> dict:
    from evaluation.timing import cold_and_warm
    from glacier.flow import get_flow_model

    state = grown_aletsch(years, resolution)
    model = get_flow_model("hybrid", solver=solver)
    model.velocity(state)
    cold, t_cold, warm, t_warm = cold_and_warm(model, state)
    rc, rw = cold.attrs["solver_report"], warm.attrs["solver_report"]
    return {"case": f"Aletsch {resolution:.0f} m", "grid": f"{state.sizes['x']}x{state.sizes['y']}",
            "ice_cells": rc["ice_cells"], "dofs": rc["dofs"], "solver": rc["solver"],
            "newton_cold": rc["newton_iterations"], "time_cold_s": t_cold,
            "newton_warm": rw["newton_iterations"], "time_warm_s": t_warm,
            "max_surface_speed": float(np.hypot(cold.uvelsurf, cold.vvelsurf).max())}


def ismip_row(exp: str, nx: int) -> dict:
    from sia_ssa_solver.ismip_hom import run_case

    run_case(exp, 80, nx=nx)
    r = run_case(exp, 80, nx=nx)
    return {"case": f"ISMIP-HOM {exp} 80 km", "grid": f"{nx}x{nx}", "ice_cells": nx * nx,
            "dofs": r["dofs"], "solver": "direct",
            "newton_cold": r["newton_iterations"], "time_cold_s": r["wall_time_s"],
            "newton_warm": None, "time_warm_s": None,
            "max_surface_speed": r["max_surface_speed"]}


class _Counted:
    """A flow model that tallies the ``setup`` its solves report (FlowModel interface); with
    ``fresh``, a new hybrid model makes each solve."""

    name = "hybrid"

    def __init__(self, solver: str, fresh: bool):
        from glacier.flow import get_flow_model

        self.make = lambda: get_flow_model("hybrid", solver=solver)
        self.model, self.fresh, self.setups = self.make(), fresh, []

    def velocity(self, state, guess=None):
        model = self.make() if self.fresh else self.model
        vel = model.velocity(state, guess=guess)
        self.setups.append(vel.attrs["solver_report"].get("setup"))
        return vel


def run_rows(years: float, run_years: float, solver: str) -> list[dict]:
    import time

    from glacier.evolve import EvolveSettings, evolve
    from glacier.smb import ElaSmb

    state = grown_aletsch(years, 200.0)
    settings = EvolveSettings(years=run_years, output_interval=run_years, velocity_interval=1.0)
    rows = []
    for label, fresh in (("one model, setup kept", False), ("a new model per renewal", True)):
        model = _Counted(solver, fresh)
        start = time.perf_counter()
        evolve(state, model, ElaSmb(ela=3000.0), settings, show_progress=False)
        rows.append({"case": label, "time_s": time.perf_counter() - start,
                     "renewals": len(model.setups), "kept": model.setups.count("kept")})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=100.0, help="growth of the glacier (a)")
    parser.add_argument("--nx", type=int, default=40, help="ISMIP-HOM cells along x and y")
    parser.add_argument("--solver", default="auto", help="SSA linear solver preset")
    parser.add_argument("--run-years", type=float, default=20.0, help="length of the run of 3. (a)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # PETSc reads the command line when Firedrake is imported
    from glacier.provenance import machine_info

    rows = [aletsch_row(args.years, res, args.solver) for res in (200.0, 100.0)]
    rows += [ismip_row("A", args.nx), ismip_row("C", args.nx)]
    runs = run_rows(args.years, args.run_years, args.solver)
    info = machine_info()
    if args.json:
        print(json.dumps({"machine": info, "settings": vars(args), "rows": rows, "runs": runs},
                         indent=2))
        return
    print(f"machine: {info['processor']}, {info['cores']} cores, {info['platform']}; "
          f"firedrake {info['firedrake']}, petsc {info['petsc']}")
    print(f"settings: glacier grown {args.years:g} a by the SIA (ELA 3000 m); SSA solver "
          f"{args.solver}; Newton rtol 1e-9 of the load; times exclude form compilation")
    head = (f"{'case':<20} {'grid':>8} {'ice':>6} {'dofs':>7} {'solver':>16} {'newton':>6} "
            f"{'cold s':>7} {'newton':>6} {'warm s':>7} {'max us m/a':>10}")
    print(head)
    for r in rows:
        warm_n = "-" if r["newton_warm"] is None else f"{r['newton_warm']:d}"
        warm_t = "-" if r["time_warm_s"] is None else f"{r['time_warm_s']:.3f}"
        print(f"{r['case']:<20} {r['grid']:>8} {r['ice_cells']:>6} {r['dofs']:>7} "
              f"{r['solver']:>16} {r['newton_cold']:>6} {r['time_cold_s']:>7.3f} {warm_n:>6} "
              f"{warm_t:>7} {r['max_surface_speed']:>10.1f}")
    print(f"\nrun: Aletsch 200 m, {args.run_years:g} a more, hybrid renewed every year")
    print(f"{'driver':<26} {'time s':>7} {'renewals':>8} {'setup kept':>10}")
    for r in runs:
        print(f"{r['case']:<26} {r['time_s']:>7.1f} {r['renewals']:>8d} {r['kept']:>10d}")


if __name__ == "__main__":
    main()
