"""The first-order energy's own minimum against Stokes on whole glaciers of the data: how far
the physics of physics-informed training lies from the Stokes instructor, beside the hybrid
instructor on the same snapshots; prints a table (run it, do not import it).

For each run file of a data generation (``{data_dir}/runs/<domain>/<climate>/p<k>.nc``, whose
snapshots hold the state and every instructor's velocities) and each chosen snapshot that
Stokes solved (``--snapshots``: indices among those, default the last), the energy of
``emulator/energy.py`` is minimised with no network (``minimise_energy``: L-BFGS from rest,
``--levels`` levels, ``--iterations`` at most) and its six fields (depth average, top and
bottom level) are scored against Stokes with ``glacier.metrics.fidelity_scores``, as the
emulators are; the hybrid's velocities of the same snapshot likewise.

    python evaluation/bench_energy.py --runs <data_dir>/runs/linth_22/*/p*.nc --levels 6 \\
        --iterations 3000
"""

import argparse
import datetime
import time

import numpy as np

from glacier.fields import VELOCITY_FIELDS
from evaluation.runs import add_run_arguments, solved_snapshots


def energy_fields(result: dict) -> dict[str, np.ndarray]:
    """The six velocity fields (m a-1) of a ``minimise_energy`` result: depth average (the
    trapezoid rule on its levels), top level, bottom level."""
    from emulator.energy import depth_average

    u, v, zeta = result["u"], result["v"], result["zeta"]
    return {"ubar": np.asarray(depth_average(u[None], zeta))[0],
            "vbar": np.asarray(depth_average(v[None], zeta))[0],
            "uvelsurf": u[..., -1], "vvelsurf": v[..., -1],
            "uvelbase": u[..., 0], "vvelbase": v[..., 0]}


def rows(paths: list[str], snapshots: list[int], levels: int, iterations: int) -> list[dict]:
    from emulator.energy import minimise_energy
    from glacier.fields import grid_spacing, surface_slopes
    from glacier.metrics import fidelity_scores

    out = []
    for path, run, index in solved_snapshots(paths, snapshots):
        dx = grid_spacing(run)
        snap = run.isel(time=index)
        thk = snap.thk.values
        sx, sy = surface_slopes(snap.usurf.values, dx)
        t0 = time.perf_counter()
        result = minimise_energy(thk, sx, sy, run.arrhenius.values, run.slidingco.values,
                                 dx, levels=levels, max_iterations=iterations)
        seconds = time.perf_counter() - t0
        stokes = {f: snap[f"stokes_{f}"].values for f in VELOCITY_FIELDS}
        hybrid = {f: snap[f"hybrid_{f}"].values for f in VELOCITY_FIELDS}
        mine = energy_fields(result)
        ice = thk > 1.0
        out.append({
            "run": "/".join(path.split("/")[-3:]), "time_a": float(snap.time),
            "A": float(np.median(run.arrhenius.values[ice])),
            "c": float(np.median(run.slidingco.values[ice])),
            "stokes_mean": float(np.hypot(stokes["ubar"], stokes["vbar"])[ice].mean()),
            "energy_mean": float(np.hypot(mine["ubar"], mine["vbar"])[ice].mean()),
            "energy": fidelity_scores(mine, stokes, thk)["fidelity"],
            "hybrid": fidelity_scores(hybrid, stokes, thk)["fidelity"],
            "iterations": result["iterations"], "seconds": seconds})
        print(_line(out[-1]), flush=True)
    return out


def _line(r: dict) -> str:
    return (f"{r['run']:>36} {r['time_a']:>6.1f} {r['A']:>6.0f} {r['c']:>6.3f} "
            f"{r['stokes_mean']:>8.1f} {r['energy_mean']:>8.1f} "
            f"{r['energy']['velbar']:>7.3f} {r['energy']['velsurf']:>7.3f} "
            f"{r['hybrid']['velbar']:>7.3f} {r['hybrid']['velsurf']:>7.3f} "
            f"{r['iterations']:>6d} {r['seconds']:>7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser, [-1])
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()

    import keras

    from glacier.provenance import machine_info

    info = machine_info()
    print(f"# First-order energy minimum against Stokes, {datetime.date.today()}")
    print(f"# Machine: {info['processor']}, {info['cores']} cores; keras {keras.__version__} on "
          f"{keras.backend.backend()}; {args.levels} levels, at most {args.iterations} L-BFGS "
          "iterations from rest")
    print(f"{'run':>36} {'t a':>6} {'A':>6} {'c':>6} {'FS mean':>8} {'E mean':>8} "
          f"{'E velbar':>7} {'E vsurf':>7} {'H velbar':>7} {'H vsurf':>7} {'iters':>6} {'s':>7}")
    rows(args.runs, args.snapshots, args.levels, args.iterations)


if __name__ == "__main__":
    main()
