"""The emulator's fast path in time loops (emulator/step.py) against its ``velocity()`` call:
the share of each call spent outside the network, per grid size; prints a table with the
machine, the backend and the date (run it, do not import it).

The state (a NetCDF glacier state at the emulator's grid spacing) is resampled to n x n cells
over the same extent (``evaluation.resample``, as ``icebench bench speed`` does; the emulator's
grid-spacing check is relaxed to a warning, silenced: the cost does not depend on the values).
Per size, after one untimed warm-up, the median of ``--repeats`` calls of:

- network: ``predict_on_batch`` of the emulator's Keras model on its input array, built
  beforehand (the network itself, with the copies to and from the device);
- velocity(): the FlowModel call (validation, slopes on the host, network, xarray packaging);
- fast path: ``prepare(state)`` once, then the step on a thickness array.

Overhead = 1 - network / call. ``--transient-years Y`` also times a whole ``glacier.evolve``
run of Y years on the state as given, driven through velocity() and through the fast path
(their end volumes beside the times).

    python evaluation/bench_fast_path.py --emulator library/hybrid/v001 --input state.nc \\
        --sizes 256 512 1024 --repeats 5 --transient-years 10
"""

import argparse
import datetime
import time

import numpy as np

from evaluation.timing import quietly, time_call


class _Plain:
    """An emulator seen without its fast path, as the driver sees any other flow model."""

    def __init__(self, model):
        self.name, self.velocity = model.name, quietly(model.velocity)


def ladder(model, state, sizes: list[int], repeats: int) -> list[dict]:
    from evaluation.resample import resample

    rows = []
    velocity = quietly(model.velocity)
    for n in sizes:
        grid = resample(state, n)
        x = model.input_fields(grid)
        step = quietly(model.prepare)(grid)
        thk = grid.thk.values
        network = time_call(lambda: model.keras_model.predict_on_batch(x), repeats)["seconds"]
        call = time_call(lambda: velocity(grid), repeats)["seconds"]
        fast = time_call(lambda: step(thk), repeats)["seconds"]
        rows.append({"nx": grid.sizes["x"], "ny": grid.sizes["y"], "network_s": network,
                     "velocity_s": call, "fast_s": fast,
                     "velocity_overhead": 1 - network / call, "fast_overhead": 1 - network / fast})
    return rows


def transient(model, state, years: float) -> list[dict]:
    from glacier.evolve import EvolveSettings, evolve
    from glacier.smb import ElaSmb

    settings = EvolveSettings(years=years, output_interval=years)
    smb = ElaSmb(ela=float(np.percentile(state.usurf.values, 60)))
    out = []
    for label, driver in (("velocity()", _Plain(model)), ("fast path", model)):
        t0 = time.perf_counter()
        run = quietly(evolve)(state, driver, smb, settings, False)
        out.append({"path": label, "seconds": time.perf_counter() - t0,
                    "end_volume_km3": float(run.volume[-1]) / 1e9})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", required=True, help="bundle or training directory")
    parser.add_argument("--input", required=True, help="NetCDF glacier state")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--transient-years", type=float, default=0.0)
    args = parser.parse_args()

    import keras
    import xarray as xr

    from emulator.model import EmulatorFlowModel
    from evaluation.efficiency import keras_device
    from glacier.fields import complete_state, grid_spacing
    from glacier.provenance import machine_info

    model = EmulatorFlowModel.load(args.emulator, out_of_range="warn")
    with xr.open_dataset(args.input) as ds:
        state = complete_state(ds.load())
    info = machine_info()
    print(f"# Emulator fast path against velocity(), {datetime.date.today()}")
    print(f"# Machine: {info['processor']}, {info['cores']} cores, GPU: {info['gpu'] or 'none'}; "
          f"keras {keras.__version__} on {keras.backend.backend()}, device {keras_device()}")
    print(f"# Emulator: {args.emulator} ({model.keras_model.count_params():,} parameters); "
          f"state: {args.input}, {state.sizes['x']} x {state.sizes['y']} at "
          f"{grid_spacing(state):g} m, resampled to n x n; median of {args.repeats} after a "
          "warm-up")
    print(f"{'grid':>11} {'network ms':>11} {'velocity() ms':>14} {'overhead':>9} "
          f"{'fast path ms':>13} {'overhead':>9}")
    for r in ladder(model, state, args.sizes, args.repeats):
        print(f"{r['nx']:>5} x {r['ny']:<5} {1e3 * r['network_s']:>11.1f} "
              f"{1e3 * r['velocity_s']:>14.1f} {r['velocity_overhead']:>9.0%} "
              f"{1e3 * r['fast_s']:>13.1f} {r['fast_overhead']:>9.0%}", flush=True)
    if args.transient_years:
        print(f"# evolve, {args.transient_years:g} years on the state as given "
              f"({state.sizes['x']} x {state.sizes['y']}), ELA at the 60th percentile of usurf")
        for r in transient(model, state, args.transient_years):
            print(f"{r['path']:>11} {r['seconds']:>9.1f} s  end volume "
                  f"{r['end_volume_km3']:.6f} km3", flush=True)


if __name__ == "__main__":
    main()
