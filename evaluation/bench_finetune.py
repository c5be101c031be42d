"""Fine-tuning on the target (``retrain_every``): what the energy steps cost and what fidelity
they buy; prints a table (run it, do not import it).

For each chosen sample of a store (a glacier state with its instructor's velocities), an
energy-trained emulator is called ``--calls`` times on that state, as an evolve run with its
velocity renewed ``--calls`` times would call it (the geometry held fixed: the fidelity is then
that of the state, not of a drifting run), once per K of ``--every`` (0: never fine-tuned).
Columns: K, the Adam rate, the fine-tuning steps taken, their mean time (ms), the mean
prediction time (ms), the energy before the first and the last step (MPa m a-1 per cell), and
velbar / velsurf fidelity against the store's velocities after the calls.

    python evaluation/bench_finetune.py --emulator <energy-trained run or bundle> \\
        --store <store> --domains linth_22 --calls 100 --every 0 10 1 --rate 2e-5
"""

import argparse
import datetime
import platform

import numpy as np


def rows(emulator: str, store: str, domains: list[str], calls: int, every: list[int],
         rates: list[float]) -> list[dict]:
    from emulator.model import load_flow_model
    from evaluation.score import strings, store_state, store_velocity
    from glacier.dataset import open_store
    from glacier.metrics import fidelity_scores

    data = open_store(store)
    names = strings(data.domain.values)
    times = np.asarray(data.time.values, dtype=float) if "time" in data else np.zeros(len(names))
    out = []
    for domain in domains:
        index = int(np.flatnonzero(names == domain)[-1])
        state = store_state(data, index)
        ref = store_velocity(data, index)
        for k in every:
            for rate in (rates if k else [0.0]):
                model = load_flow_model(emulator, retrain_every=k or None,
                                        **({"retrain_rate": rate} if k else {}))
                predict = []
                for _ in range(calls):
                    vel = model.velocity(state)
                    predict.append(vel.attrs["solver_report"]["wall_time_s"])
                tuning = model.finetuning
                fid = fidelity_scores(vel, ref, state.thk.values)["fidelity"]
                out.append({
                    "domain": domain, "time_a": times[index], "K": k or "never", "rate": rate,
                    "steps": tuning.steps if tuning else 0,
                    "step_ms": 1e3 * tuning.seconds / tuning.steps if tuning else float("nan"),
                    "predict_ms": 1e3 * float(np.mean(predict)),
                    "energy_first": tuning.energies[0] if tuning else float("nan"),
                    "energy_last": tuning.energies[-1] if tuning else float("nan"),
                    "velbar": fid["velbar"], "velsurf": fid["velsurf"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", required=True, help="an energy-trained run or bundle")
    parser.add_argument("--store", required=True, help="a store with the reference velocities")
    parser.add_argument("--domains", nargs="+", required=True,
                        help="glaciers of the store (its last sample of each is used)")
    parser.add_argument("--calls", type=int, default=100, help="velocity calls per K")
    parser.add_argument("--every", type=int, nargs="+", default=[0, 10, 1],
                        help="K values (0: no fine-tuning)")
    parser.add_argument("--rate", type=float, nargs="+", default=[2e-5], help="Adam rates")
    args = parser.parse_args()
    import keras

    table = rows(args.emulator, args.store, args.domains, args.calls, args.every, args.rate)
    print(f"# bench_finetune, {datetime.date.today()}, {platform.node()}, {platform.machine()}, "
          f"keras {keras.__version__} on {keras.backend.backend()}, {args.calls} calls per row")
    print(f"# emulator {args.emulator}; store {args.store}")
    print(f"{'domain':>12} {'t a':>5} {'K':>5} {'rate':>7} {'steps':>5} {'step ms':>8} "
          f"{'pred ms':>8} {'E first':>10} {'E last':>10} {'velbar':>7} {'velsurf':>7}")
    for r in table:
        print(f"{r['domain']:>12} {r['time_a']:5.1f} {r['K']!s:>5} {r['rate']:7.0e} "
              f"{r['steps']:5d} {r['step_ms']:8.1f} {r['predict_ms']:8.1f} "
              f"{r['energy_first']:10.3e} {r['energy_last']:10.3e} {r['velbar']:7.3f} "
              f"{r['velsurf']:7.3f}")


if __name__ == "__main__":
    main()
