"""Memory of the Stokes instructor over solves on a moving margin; prints a table (run it, do not
import it).

The state (default: the 100-year SIA Aletsch of docs/benchmarks/speed_ladder_aletsch_2026-11-27.txt)
is resampled to ``--size`` cells along x; each solve starts from the previous solution, then the
ice advances by one cell all round (5 m of ice on the cells next to it, inside the icemask), so
every solve has a new ice mask, a new mesh and a new solver, as in a transient run of a growing
glacier. Per solve: ice cells, wall time and the resident memory of the process (GB).

    python evaluation/bench_stokes_memory.py --input <state.nc> [--size 44] [--solves 5]
"""

import argparse
import datetime
import platform
import resource
import time

import numpy as np
from scipy.ndimage import binary_dilation

from evaluation.resample import resample
from glacier.flow import flow_model_from_spec
from glacier.io import read_state


def resident_gb() -> float:
    """Resident memory of this process now (GB), from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1e9


def advanced(state):
    """``state`` with the ice one cell further all round (5 m thick there, inside the icemask)."""
    ice = state.thk.values > 1.0
    front = binary_dilation(ice) & ~ice & (state.icemask.values > 0.5)
    thk = state.thk.values + np.where(front, 5.0, 0.0)
    return state.assign(thk=(("y", "x"), thk), usurf=(("y", "x"), state.topg.values + thk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a state with ice (NetCDF)")
    parser.add_argument("--model", default="stokes:layers=3")
    parser.add_argument("--size", type=int, default=44, help="cells along x")
    parser.add_argument("--solves", type=int, default=5)
    args = parser.parse_args()
    state = resample(read_state(args.input, arrhenius=78.0, slidingco=0.05), args.size)
    model = flow_model_from_spec(args.model)
    print(f"# bench_stokes_memory, {datetime.date.today()}, {platform.node()}, {args.model}, "
          f"{args.input} at {state.sizes['x']} x {state.sizes['y']} cells, A 78, c 0.05")
    print(f"{'solve':>5} {'ice':>6} {'time s':>7} {'RSS GB':>7}")
    guess = None
    for k in range(args.solves):
        t0 = time.perf_counter()
        guess = model.velocity(state, guess=guess)
        print(f"{k:>5} {int((state.thk.values > 1.0).sum()):>6} "
              f"{time.perf_counter() - t0:>7.1f} {resident_gb():>7.2f}", flush=True)
        state = advanced(state)


if __name__ == "__main__":
    main()
