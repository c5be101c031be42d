"""At which scale an emulator's error lies, and how much of an instructor's velocity is
grid-scale detail; prints a JSON table (run it, do not import it).

Per glacier of one split of a store (``--split``), pooled over its samples as ``icebench
score`` pools them (velbar fidelity of ``glacier.metrics``):

- ``detail``: the instructor's velocities averaged over the 3 x 3 ice cells around each cell
  (``smoothed``) against themselves: 1 minus the share of the reference that is grid-scale
  detail, the score of a perfect emulator that misses only that detail;
- with ``--model``, the emulator against the instructor (``emulator``), against the smoothed
  instructor (``vs smoothed``), both smoothed (``both smoothed``: its error above the grid
  scale), and its velocities times the one factor per sample that matches the pooled speed
  (``rescaled``: what is left once each state's speed scale is right).

    python evaluation/error_scales.py --store <store.zarr> --split test [--model <bundle>]
"""

import argparse
import json
import warnings

import numpy as np

from glacier.fields import VELOCITY_FIELDS


def smoothed(fields: dict, ice: np.ndarray) -> dict[str, np.ndarray]:
    """Each field averaged over the ice cells of the 3 x 3 block around each ice cell; zero
    off the ice."""
    from scipy.ndimage import uniform_filter

    weight = np.maximum(uniform_filter(ice.astype(float), 3), 1e-9)
    return {f: np.where(ice, uniform_filter(np.where(ice, fields[f], 0.0), 3) / weight, 0.0)
            for f in VELOCITY_FIELDS}


def table(store: str, split: str, model_path: str | None) -> dict:
    from evaluation.score import split_indices, store_state, store_velocity
    from glacier.dataset import open_store
    from glacier.metrics import add_sums, error_sums, scores

    model = None
    if model_path:
        from emulator.model import EmulatorFlowModel
        model = EmulatorFlowModel.load(model_path, out_of_range="warn")
    data = open_store(store)
    part = data.isel(sample=split_indices(data, split)).load()
    sums = {}
    for k in range(part.sizes["sample"]):
        glacier = str(part.domain.values[k])
        state = store_state(part, k)
        ref = store_velocity(part, k)
        thk = state.thk.values
        ice = thk > 1.0
        ref_smooth = smoothed(ref, ice)
        pairs = {"detail": (ref_smooth, ref)}
        if model is not None:
            vel = model.velocity(state)
            mine = {f: vel[f].values for f in VELOCITY_FIELDS}
            speed = np.hypot(mine["ubar"], mine["vbar"])[ice].sum()
            factor = np.hypot(ref["ubar"], ref["vbar"])[ice].sum() / max(speed, 1e-12)
            pairs.update({"emulator": (mine, ref), "vs smoothed": (mine, ref_smooth),
                          "both smoothed": (smoothed(mine, ice), ref_smooth),
                          "rescaled": ({f: factor * mine[f] for f in VELOCITY_FIELDS}, ref)})
        for name, (a, b) in pairs.items():
            sample_sums = error_sums(a, b, thk)
            for key in ((glacier, name), ("all", name)):
                sums[key] = add_sums(sums.get(key), sample_sums)
    out = {}
    for (glacier, name), s in sorted(sums.items()):
        out.setdefault(glacier, {})[name] = round(scores(s)["fidelity"]["velbar"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--model", help="an emulator bundle or training folder")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(json.dumps({"store": args.store, "split": args.split, "model": args.model,
                      "velbar_fidelity": table(args.store, args.split, args.model)}, indent=1))


if __name__ == "__main__":
    main()
