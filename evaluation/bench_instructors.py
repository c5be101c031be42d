"""Both instructors on real-glacier geometries; prints a table (run it, do not import it).

Per glacier: the hybrid (sliding and frozen bed), the former additive hybrid (SSA + Mahaffy SIA,
rebuilt from the ``ssa`` and ``sia-mahaffy`` models) and Stokes (3 layers, ``auto``; sliding
with c = 0.05 and no slip), A = 78: wall time, peak memory of the process so far, DOFs, Newton
steps, mean and max velbar on the ice, the hybrid's SIA-invalid share, and the velbar
fidelity of each hybrid against the Stokes solve with the same bed condition.

Glaciers: ``steep`` (``glacier.geometry.outlined_glacier`` on a Ticino window, 3026 ice cells
at 100 m, thickness estimated from the surface and outline, up to 700 m); whole glaciers grown
for 100 a by the closed-form SIA from the ice-free beds of the three shipped DEMs at 200 m:
``aletsch200`` (the whole Aletsch DEM, ELA 3000 m), ``ticino200`` (60 x 70 cells from
(451123, 5129191), ELA 2700 m), ``linth200`` (70 x 60 cells from (500000, 5185200), ELA
2600 m).

    nice python evaluation/bench_instructors.py [--glaciers steep aletsch200 ...] [--no-stokes]
"""

import argparse
import datetime
import platform
import resource
import sys
import time

import numpy as np

GROWN = {"aletsch200": ("aletsch_100m", {}, 3000.0),
          "ticino200": ("ticino_200m", {"x0": 451123, "y0": 5129191, "nx": 60, "ny": 70}, 2700.0),
          "linth200": ("linth_200m", {"x0": 500000, "y0": 5185200, "nx": 70, "ny": 60}, 2600.0)}
"""Grown glaciers: DEM, window (the whole DEM if empty) at 200 m, ELA (m)."""
GLACIERS = ("steep", *GROWN)


def glacier(name: str):
    from glacier.evolve import grow_glacier
    from glacier.geometry import outlined_glacier, topography_window

    if name == "steep":
        return outlined_glacier("ticino_200m", 450923, 5147591, 120, 108, 100.0, 2600,
                                slope_scale=1000.0, basal_stress=0.15, min_slope=0.03)
    source, window, ela = GROWN[name]
    return grow_glacier(topography_window(source, resolution=200.0, **window), 100.0, ela)


def additive_hybrid(state):
    """The hybrid as it was before the coupled model: SSA sliding plus the local SIA."""
    from glacier.flow import get_flow_model

    ssa = get_flow_model("ssa").velocity(state)
    sia = get_flow_model("sia-mahaffy").velocity(state)
    out = ssa.copy()
    for name in ("ubar", "vbar", "uvelsurf", "vvelsurf"):
        out[name] = ssa[name] + sia[name]
    return out


def rows(name: str, stokes: bool) -> list[dict]:
    from glacier.metrics import fidelity_scores
    from glacier.flow import flow_model_from_spec

    state = glacier(name)
    thk = state.thk.values
    ice = thk > 1.0
    runs = [("hybrid", "hybrid"), ("hybrid:sliding=false", "hybrid:sliding=false"),
            ("additive SSA+SIA (before)", None)]
    if stokes:
        runs += [("stokes:layers=3:sliding=false", "stokes:layers=3:sliding=false"),
                 ("stokes:layers=3", "stokes:layers=3")]
    out, fields = [], {}
    for label, spec in runs:
        start = time.perf_counter()
        vel = additive_hybrid(state) if spec is None else flow_model_from_spec(spec).velocity(state)
        seconds = time.perf_counter() - start
        report = vel.attrs.get("solver_report", {})
        speed = np.hypot(vel.ubar.values, vel.vbar.values)
        fields[label] = vel
        out.append({"glacier": name, "ice_cells": int(ice.sum()), "model": label,
                    "time_s": seconds, "peak_rss_gb": resource.getrusage(
                        resource.RUSAGE_SELF).ru_maxrss / 1e6,
                    "dofs": report.get("dofs"), "newton": report.get("newton_iterations"),
                    "mean_velbar": float(speed[ice].mean()), "max_velbar": float(speed.max()),
                    "sia_invalid_share": report.get("sia_invalid_share"), "fidelity": None})
    if stokes:
        pairs = {"hybrid": "stokes:layers=3", "additive SSA+SIA (before)": "stokes:layers=3",
                 "hybrid:sliding=false": "stokes:layers=3:sliding=false"}
        for row in out:
            if row["model"] in pairs:
                ref = fields[pairs[row["model"]]]
                row["fidelity"] = fidelity_scores(fields[row["model"]], ref, thk)["fidelity"]["velbar"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glaciers", nargs="+", choices=GLACIERS, default=list(GLACIERS))
    parser.add_argument("--no-stokes", action="store_true", help="skip the Stokes solves")
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # PETSc reads the command line when Firedrake is imported
    print(f"# bench_instructors, {datetime.date.today()}, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, A 78, c 0.05, velbar in m/a")
    print(f"{'glacier':>10} {'cells':>5} {'model':>30} {'time s':>7} {'RSS GB':>6} {'DOFs':>7} "
          f"{'newton':>6} {'mean':>8} {'max':>10} {'SIA-inv':>7} {'fid. vs Stokes':>14}")
    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    for name in args.glaciers:
        for r in rows(name, not args.no_stokes):
            print(f"{r['glacier']:>10} {r['ice_cells']:>5} {r['model']:>30} {r['time_s']:7.1f} "
                  f"{r['peak_rss_gb']:6.2f} {fmt(r['dofs'], '7d'):>7} {fmt(r['newton'], '6d'):>6} "
                  f"{r['mean_velbar']:8.1f} {r['max_velbar']:10.1f} "
                  f"{fmt(r['sia_invalid_share'], '7.2f'):>7} {fmt(r['fidelity'], '14.3f'):>14}",
                  flush=True)


if __name__ == "__main__":
    main()
