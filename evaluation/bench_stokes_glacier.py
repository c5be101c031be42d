"""The Stokes instructor on a real glacier: cold and warm solve times, and the error of the
default stopping test; prints a table (run it, do not import it).

Glacier: ``steep`` of ``evaluation/bench_instructors.py`` (3026 ice cells at 100 m, thickness up
to 700 m, surface slope median 0.43), A 78, 3 layers, ``auto`` solver, no slip and Weertman
sliding with c = 0.05. Per bed condition:

* ``reference``: the solve stopped only by the residual test and the absolute velocity-update
  test (``update_rtol`` = 0 in the model's ``stokes_solver.options.NewtonSettings``), the
  tightest this solver offers;
* ``cold``: the default solve of a new model (new mesh, lifted SIA start, one Picard step);
* ``warm``: the next snapshot (thickness x 1.01 on the same ice mask) solved by that model from
  its previous solution, with its kept mesh and factorization.

Columns: wall time, the process's peak resident memory (rank 0), DOFs, Picard / Newton / Krylov
iterations, the number of MPI ranks and BLAS threads, the largest velbar, and the largest
difference of velbar on the ice from the reference of the same snapshot (m a-1; none for the warm
row, whose snapshot has no reference solve).

    python evaluation/bench_stokes_glacier.py --threads 2
    mpiexec -n 2 python evaluation/bench_stokes_glacier.py          # 2 ranks, 1 thread each
"""

import argparse
import datetime
import platform
import resource
import sys

import numpy as np


def rows(bed: str, threads: int) -> list[dict]:
    from evaluation.bench_instructors import glacier
    from evaluation.timing import timed_velocity as solve
    from glacier.flow import flow_model_from_spec
    from stokes_solver.options import NewtonSettings

    spec = f"stokes:layers=3:threads={threads}" + (":sliding=false" if bed == "no slip" else "")
    state = glacier("steep")
    ice = state.thk.values > 1.0
    tightest = NewtonSettings(update_rtol=0.0)
    reference, ref_time = solve(flow_model_from_spec(spec, settings=tightest), state)
    model = flow_model_from_spec(spec)
    cold, cold_time = solve(model, state)
    grown = state.copy()
    grown["thk"] = state.thk.where(~ice, state.thk * 1.01)
    grown["usurf"] = grown.topg + grown.thk
    warm, warm_time = solve(model, grown, guess=cold)

    def speed(vel):
        return np.hypot(vel.ubar.values, vel.vbar.values)

    out = []
    for label, vel, seconds in (("reference", reference, ref_time), ("cold", cold, cold_time),
                                ("warm", warm, warm_time)):
        report = vel.attrs["solver_report"]
        out.append({"bed": bed, "solve": label, "time_s": seconds,
                    "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                    "dofs": report["dofs"], "picard": report["picard_iterations"],
                    "newton": report["newton_iterations"], "krylov": report["linear_iterations"],
                    "ranks": report["ranks"], "threads": report["blas_threads"],
                    "max_velbar": float(speed(vel).max()),
                    "max_diff": None if label == "warm" else
                    float(np.abs(speed(vel) - speed(reference))[ice].max())})
    return out


def main() -> None:
    from mpi4py import MPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per rank")
    parser.add_argument("--beds", nargs="+", choices=("no slip", "sliding"),
                        default=["no slip", "sliding"])
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # PETSc reads the command line when Firedrake is imported
    rank0 = MPI.COMM_WORLD.rank == 0

    def say(text):
        if rank0:
            print(text, flush=True)

    say(f"# bench_stokes_glacier, {datetime.date.today()}, {platform.node()}, "
        f"{platform.processor() or platform.machine()}, steep glacier, A 78, c 0.05, 3 layers, "
        "velbar in m/a")
    say(f"{'bed':>8} {'solve':>9} {'time s':>7} {'RSS GB':>6} {'DOFs':>7} {'picard':>6} "
        f"{'newton':>6} {'krylov':>6} {'ranks':>5} {'thr':>3} {'max velbar':>10} "
        f"{'max |diff|':>10}")
    for bed in args.beds:
        for r in rows(bed, args.threads):
            say(f"{r['bed']:>8} {r['solve']:>9} {r['time_s']:7.1f} {r['peak_rss_gb']:6.2f} "
                f"{r['dofs']:7d} {r['picard']:6d} {r['newton']:6d} {r['krylov']:6d} "
                f"{r['ranks']:5d} {r['threads']:3d} {r['max_velbar']:10.1f} "
                f"{'-' if r['max_diff'] is None else format(r['max_diff'], '10.2e'):>10}")


if __name__ == "__main__":
    main()
