"""How far the shallow-ice velocity of the driving stress, local or averaged over a coupling
length, lies from an instructor on the states of a store: the physics behind the emulators'
SIA channels (``sia_input``, ``sia_coupling``); prints a table (run it, do not import it).

For each glacier of the chosen splits and each coupling length L (m; 0 = the local SIA of
``SiaVelocity``), the channels of emulator/layers.py ``CoupledSiaVelocity`` are decompressed
and their deformation and sliding velocities added: the depth-averaged SIA velocity of the
driving stress averaged over the ice with Gaussian weights of L. It is scored against the
store's depth-averaged velocity (velbar fidelity of glacier/metrics.py, pooled per glacier),
with the ratio of the pooled speeds (instructor / SIA).

    python evaluation/bench_coupling.py --store <data_dir>/data/hybrid_starts.zarr \\
        --lengths 0 200 400 800 1600
"""

import argparse
import datetime

import numpy as np


def sia_velbar(state_inputs: np.ndarray, inputs: list[str], length_cells: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Depth-averaged SIA velocity (m a-1; x, y) of one state's input channels (y, x, field)
    for a coupling length in cells (0: local)."""
    from emulator.layers import CoupledSiaVelocity, SiaVelocity

    layer = (SiaVelocity(inputs) if length_cells == 0
             else CoupledSiaVelocity(inputs, [length_cells]))
    q = np.asarray(layer(state_inputs[None].astype("float32")))[0].astype(float)
    u = np.sign(q) * np.expm1(np.abs(q))        # reference speed 1 m a-1
    return u[..., 0] + u[..., 2], u[..., 1] + u[..., 3]


def rows(store: str, splits: list[str], lengths: list[float]) -> list[dict]:
    from evaluation.score import split_indices, strings
    from glacier.dataset import open_store
    from glacier.fields import SIA_FIELDS, surface_slopes
    from glacier.metrics import add_sums, masked_error_sums, scores

    inputs = [*SIA_FIELDS, "slidingco"]
    data = open_store(store)
    out = []
    for split in splits:
        idx = split_indices(data, split)
        part = data.isel(sample=idx).load()
        domains = strings(part.domain.values)
        for domain in sorted(set(domains)):
            sums, sia_speed = {}, {}
            for k in np.flatnonzero(domains == domain):
                s = part.isel(sample=int(k))
                dx = float(s.dx)
                sx, sy = surface_slopes(s.usurf.values, dx)
                fields = {"thk": s.thk.values, "slopsurfx": sx, "slopsurfy": sy,
                          "arrhenius": s.arrhenius.values, "slidingco": s.slidingco.values}
                x = np.stack([fields[f] for f in inputs], axis=-1)
                ice = s.thk.values > 1.0
                ref = {"ubar": s.ubar.values, "vbar": s.vbar.values}
                for length in lengths:
                    u, v = sia_velbar(x, inputs, length / dx)
                    e = masked_error_sums({"ubar": u, "vbar": v}, ref, ice, fields=("velbar",))
                    sums[length] = add_sums(sums.get(length), e)
                    sia_speed[length] = sia_speed.get(length, 0.0) + np.hypot(u, v)[ice].sum()
            out.append({"split": split, "domain": domain,
                        "samples": int(np.sum(domains == domain)),
                        "fidelity": {L: scores(sums[L])["fidelity"]["velbar"] for L in lengths},
                        "ratio": {L: sums[L]["velbar"]["ref_l1"] / sia_speed[L]
                                  for L in lengths}})
            print(_line(out[-1], lengths), flush=True)
    return out


def _line(r: dict, lengths: list[float]) -> str:
    cells = " ".join(f"{r['fidelity'][L]:>9.3g} {r['ratio'][L]:>8.3g}" for L in lengths)
    return f"{r['split']:>5} {r['domain']:>14} {r['samples']:>3} {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a training store")
    parser.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    parser.add_argument("--lengths", type=float, nargs="+", default=[0, 200, 400, 800, 1600],
                        help="coupling lengths (m); 0 = the local SIA")
    args = parser.parse_args()

    from glacier.dataset import open_store
    from glacier.provenance import machine_info

    info = machine_info()
    data = open_store(args.store)
    print(f"# SIA of the (averaged) driving stress against the store's velbar, "
          f"{datetime.date.today()}")
    print(f"# Store: {args.store} (instructor {data.attrs.get('instructor')}, content hash "
          f"{data.attrs.get('content_hash', '?')[:16]}...); machine: {info['processor']}, "
          f"{info['cores']} cores")
    print("# Per length L (m): velbar fidelity of the SIA, and instructor / SIA pooled speed")
    head = " ".join(f"{'fid L=' + format(L, 'g'):>9} {'ratio':>8}" for L in args.lengths)
    print(f"{'split':>5} {'glacier':>14} {'n':>3} {head}")
    rows(args.store, args.splits, args.lengths)


if __name__ == "__main__":
    main()
