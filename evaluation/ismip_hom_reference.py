"""The full-Stokes (FS) ensemble of ISMIP-HOM A-D (Pattyn et al. 2008, The Cryosphere 2, 95-108,
doi:10.5194/tc-2-95-2008): max / min surface speed per experiment and length.

``load_ensemble()`` reads the committed table
``stokes_solver/resources/ismip_hom_pattyn2008_fs.csv``.
``derive(root)`` rebuilds it from the paper's supplement (``tc-2-95-2008-supplement.zip`` ->
``tc-2007-0019-sp2.zip`` -> ``ismip_all/``, one text file per model, experiment and length,
e.g. ``oga1a080.txt``); the committed table was derived from the copy of ``ismip_all/`` in
github.com/LIVVkit/ISMIP-HOMily at commit 289330f4f0dce372a2e76126f65aa783c86911a8:

    python -m evaluation.ismip_hom_reference /path/to/ismip_all [-o out.csv]

Per model file: the surface speed sqrt(vx^2 + vy^2) along y = L/4 (A, C; rows of the file's
grid at y/L = 0.25, or vx and vy linearly interpolated between the two rows that bracket it
when the grid has no such row) or along the flowline (B, D: |vx|); its max and min over the
file's own x points. Per (experiment, L): mean, sample standard deviation (ddof = 1), min and
max of those over the FS models. Model list: the models marked full Stokes in the paper's
table of participants, as classified identically by the ISMIP-HOMily, PISM and IMAU-ICE
comparison scripts. Exclusions (listed in the table's ``excluded`` column):
- aas1: its B and D files (the only ones it has) are the same solution as aas2's, sampled
  more finely (max / min agree to <= 0.02 m a-1), so they would count one model twice;
  ISMIP-HOMily also leaves aas1 out.
- jvj1, D at L != 40 km: 0.5-0.65 times every other FS model's speed (its D 40 km file agrees
  with the others), an evident error in the submitted files; caught by the rule below.
Rule: a model is dropped from an (experiment, L) when its profile-mean speed differs from the
median over the FS models by more than 20 %.
rhi1 and rhi3 submitted identical D files, shifted by L/2 in x (PISM leaves them out of its D
plots for that); the shift does not change max / min, so they are kept.
"""

import argparse
import csv
import re
from pathlib import Path

import numpy as np

from glacier.ismip_hom import EXPERIMENTS, LENGTHS_KM

CSV_PATH = Path(__file__).resolve().parents[1] / "stokes_solver" / "resources" / \
    "ismip_hom_pattyn2008_fs.csv"
SOURCE = ("Pattyn et al. (2008), The Cryosphere 2, 95-108, doi:10.5194/tc-2-95-2008, supplement "
          "ismip_all/ (CC BY 3.0), copy at github.com/LIVVkit/ISMIP-HOMily "
          "commit 289330f4f0dce372a2e76126f65aa783c86911a8")
FULL_STOKES = ("aas1", "aas2", "cma1", "fpa2", "ghg1", "jvj1", "mmr1", "oga1", "rhi1", "rhi3",
               "spr1", "ssu1", "yko1")
"""Models marked full Stokes in Pattyn et al. (2008)."""
DUPLICATES = {"aas1": "aas2"}
"""Models whose files repeat another model's solution (left out)."""
OUTLIER_TOLERANCE = 0.20
"""Relative distance of a model's profile-mean speed from the FS median that drops it."""
COLUMNS = ("experiment", "length_km", "n_models", "models", "excluded",
           "max_mean", "max_std", "max_min", "max_max",
           "min_mean", "min_std", "min_min", "min_max")

_NAME = re.compile(r"^([a-z]{3}\d)([abcd])(\d{3})(_surf)?\.txt$")


def find_files(root) -> dict:
    """{(model, experiment, length_km): path} of the FS models' A-D surface files under root."""
    found = {}
    for path in sorted(Path(root).rglob("*.txt")):
        m = _NAME.match(path.name.lower())
        if m and m.group(1) in FULL_STOKES:
            found[(m.group(1), m.group(2).upper(), int(m.group(3)))] = path
    return found


def profile_speed(data: np.ndarray, exp: str) -> np.ndarray:
    """Surface speed (m a-1) along the reported profile of one model file's rows."""
    data = data[np.all(np.isfinite(data[:, :4 if exp in ("A", "C") else 2]), axis=1)]
    if exp in ("B", "D"):
        return np.abs(data[:, 1])
    y = np.round(data[:, 1], 6)
    ys = np.unique(y)
    on = np.isclose(y, 0.25, atol=1e-6)
    if on.any():
        return np.hypot(data[on, 2], data[on, 3])
    y0, y1 = ys[ys < 0.25].max(), ys[ys > 0.25].min()
    lo, hi = data[y == y0], data[y == y1]
    lo, hi = lo[np.argsort(lo[:, 0])], hi[np.argsort(hi[:, 0])]
    if lo.shape != hi.shape or not np.allclose(lo[:, 0], hi[:, 0], atol=1e-6):
        raise ValueError("rows bracketing y/L = 0.25 do not share their x points")
    t = (0.25 - y0) / (y1 - y0)
    v = (1 - t) * lo[:, 2:4] + t * hi[:, 2:4]
    return np.hypot(v[:, 0], v[:, 1])


def _stats(values) -> tuple:
    v = np.asarray(values, dtype=float)
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), std, float(v.min()), float(v.max())


def derive(root) -> list[dict]:
    """The 24 rows of the table from the supplement's ``ismip_all`` directory at ``root``."""
    files = find_files(root)
    rows = []
    for exp in EXPERIMENTS:
        for length in LENGTHS_KM:
            per_model, excluded = {}, []
            for model in FULL_STOKES:
                path = files.get((model, exp, length))
                if path is None:
                    continue
                if model in DUPLICATES:
                    excluded.append(f"{model} (= {DUPLICATES[model]})")
                    continue
                speed = profile_speed(np.loadtxt(path, ndmin=2), exp)
                per_model[model] = (speed.max(), speed.min(), speed.mean())
            median = np.median([m[2] for m in per_model.values()])
            for model, (_, _, mean) in list(per_model.items()):
                if abs(mean / median - 1) > OUTLIER_TOLERANCE:
                    excluded.append(f"{model} (mean speed {mean / median:.2f} x median)")
                    del per_model[model]
            mx = _stats([m[0] for m in per_model.values()])
            mn = _stats([m[1] for m in per_model.values()])
            rows.append({
                "experiment": exp, "length_km": length, "n_models": len(per_model),
                "models": " ".join(per_model), "excluded": "; ".join(excluded),
                **dict(zip(("max_mean", "max_std", "max_min", "max_max"), mx)),
                **dict(zip(("min_mean", "min_std", "min_min", "min_max"), mn)),
            })
    return rows


def write_commented_csv(rows, path, comment: str, columns=None) -> Path:
    """Write ``rows`` (dicts) as CSV under a ``# comment`` line, floats with 4 decimals,
    atomically; ``columns``: the header (default: the first row's keys)."""
    from glacier.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(f"# {comment}\n")
        w = csv.DictWriter(f, fieldnames=list(columns or rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    return path


def write_csv(rows, path=CSV_PATH) -> Path:
    """Write the ensemble table (``derive``'s rows) to ``path``."""
    return write_commented_csv(
        rows, path, "ISMIP-HOM A-D full-Stokes ensemble, max / min surface speed (m a-1) along "
        f"y = L/4 (A, C) or the flowline (B, D); std with ddof = 1. Source: {SOURCE}. "
        "Derived by evaluation/ismip_hom_reference.py (see its docstring).", COLUMNS)


def load_ensemble(path=CSV_PATH) -> dict:
    """{(experiment, length_km): row} of the committed table, numbers as float / int."""
    with open(path) as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        out = {}
        for r in reader:
            row = {k: (v if k in ("experiment", "models", "excluded") else
                       int(v) if k in ("length_km", "n_models") else float(v))
                   for k, v in r.items()}
            out[(row["experiment"], row["length_km"])] = row
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", help="the supplement's ismip_all directory")
    p.add_argument("-o", "--output", default=str(CSV_PATH))
    args = p.parse_args(argv)
    rows = derive(args.root)
    print(write_csv(rows, args.output))
    for r in rows:
        print(f"{r['experiment']} {r['length_km']:>3} n={r['n_models']:>2} "
              f"max {r['max_mean']:8.3f} +- {r['max_std']:6.3f} "
              f"[{r['max_min']:.3f}, {r['max_max']:.3f}]  "
              f"min {r['min_mean']:7.3f} +- {r['min_std']:6.3f}  excl: {r['excluded']}")


if __name__ == "__main__":
    main()
