"""Our ISMIP-HOM A-D against the full-Stokes ensemble of Pattyn et al. (2008).

Runs ``stokes_solver.ismip_hom.run_case`` for every experiment and length (or reads the results
of an earlier run with ``--results``, e.g. the hybrid's from
``icebench ismip-hom --model hybrid --exp all --json``; a result's ``model`` names it, Stokes by
default), prints our max / min surface speed next to the FS
ensemble's mean +- std (``evaluation.ismip_hom_reference``, the committed table
``stokes_solver/resources/ismip_hom_pattyn2008_fs.csv``) with the distance in standard
deviations, and writes that table as CSV and a figure (max and min surface speed vs L, the
ensemble mean +- 1 std as a band, our points; one panel per experiment).

    nice -n 10 python evaluation/compare_ismip_hom.py --nz 3 [--save-results runs.json]
    python evaluation/compare_ismip_hom.py --results runs.json      # table and figure only
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from glacier.figures import pyplot, save_figure
from evaluation.ismip_hom_reference import (EXPERIMENTS, LENGTHS_KM, SOURCE, load_ensemble,
                                           write_commented_csv)

ROOT = Path(__file__).resolve().parents[1]
FIGURE = ROOT / "docs" / "figures" / "ismip_hom_vs_pattyn2008.png"
TABLE = ROOT / "docs" / "figures" / "ismip_hom_vs_pattyn2008.csv"


def run_all(experiments, lengths, nx3d=None, nxflow=None, nz=None) -> list[dict]:
    from glacier.ismip_hom import is_flowline
    from stokes_solver.ismip_hom import run_case

    out = []
    for exp in experiments:
        for length in lengths:
            r = run_case(exp, length, nx=nxflow if is_flowline(exp) else nx3d, nz=nz)
            print(f"  ran {exp} {length:>3} km: max {r['max_surface_speed']:.2f}, min "
                  f"{r['min_surface_speed']:.2f} m/a, {r['wall_time_s']:.1f} s", flush=True)
            out.append(r)
    return out


def compare(results, ensemble=None) -> list[dict]:
    """One row per result: ours, the ensemble's mean / std / range, and the distances."""
    ensemble = ensemble or load_ensemble()
    rows = []
    for r in results:
        e = ensemble[(r["experiment"], int(r["length_km"]))]
        row = {"experiment": r["experiment"], "length_km": int(r["length_km"]),
               "model": r.get("model", "stokes"), "nx": r.get("nx"), "nz": r.get("nz"),
               "n_models": e["n_models"]}
        for q in ("max", "min"):
            ours = r[f"{q}_surface_speed"]
            mean, std = e[f"{q}_mean"], e[f"{q}_std"]
            row.update({
                f"ours_{q}": ours, f"fs_{q}_mean": mean, f"fs_{q}_std": std,
                f"fs_{q}_min": e[f"{q}_min"], f"fs_{q}_max": e[f"{q}_max"],
                f"{q}_sigmas": (ours - mean) / std if std > 0 else float("nan"),
                f"{q}_rel_diff": ours / mean - 1,
                f"{q}_in_range": e[f"{q}_min"] <= ours <= e[f"{q}_max"],
            })
        row["wall_time_s"] = r.get("wall_time_s")
        rows.append(row)
    return rows


def print_table(rows):
    print(f"FS ensemble: {SOURCE}")
    print(f"{'exp':>3} {'L':>4} | {'ours max':>9} {'FS max mean+-std':>18} {'sigma':>6} "
          f"{'rel':>7} | {'ours min':>9} {'FS min mean+-std':>18} {'sigma':>7} {'rel':>7} | "
          f"{'n':>2} {'time':>6}")
    for r in rows:
        t = r["wall_time_s"]
        print(f"{r['experiment']:>3} {r['length_km']:>4} | {r['ours_max']:9.2f} "
              f"{r['fs_max_mean']:9.2f} +-{r['fs_max_std']:6.2f} {r['max_sigmas']:+6.2f} "
              f"{100 * r['max_rel_diff']:+6.1f}% | {r['ours_min']:9.2f} "
              f"{r['fs_min_mean']:9.2f} +-{r['fs_min_std']:6.3f} {r['min_sigmas']:+7.2f} "
              f"{100 * r['min_rel_diff']:+6.1f}% | "
              f"{r['n_models']:>2} {'' if t is None else f'{t:5.1f}s'}")


def write_table(rows, path=TABLE) -> Path:
    return write_commented_csv(
        rows, path, f"Our ISMIP-HOM runs (column model) vs the FS ensemble ({SOURCE}); speeds in m a-1")


def figure(rows, path=FIGURE, ensemble=None) -> Path:
    plt = pyplot()

    ensemble = ensemble or load_ensemble()
    fig, axes = plt.subplots(2, 4, figsize=(15, 7), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2]})
    L = list(LENGTHS_KM)
    for col, exp in enumerate(EXPERIMENTS):
        ax, rel = axes[0, col], axes[1, col]
        for q, colour, marker in (("max", "tab:blue", "ko"), ("min", "tab:green", "o")):
            mean = np.array([ensemble[(exp, n)][f"{q}_mean"] for n in L])
            std = np.array([ensemble[(exp, n)][f"{q}_std"] for n in L])
            ax.fill_between(L, mean - std, mean + std, color=colour, alpha=0.3, lw=0,
                            label=f"FS {q}: mean +- 1 std")
            ax.plot(L, mean, "-", color=colour, lw=1)
            rel.fill_between(L, -100 * std / mean, 100 * std / mean, color=colour, alpha=0.3, lw=0)
            ours = {r["length_km"]: r[f"ours_{q}"] for r in rows if r["experiment"] == exp}
            if ours:
                xs = sorted(ours)
                m = {n: mu for n, mu in zip(L, mean)}
                style = dict(color="k" if q == "max" else "tab:red", ms=5)
                model = next(r["model"] for r in rows if r["experiment"] == exp)
                ax.plot(xs, [ours[n] for n in xs], "o", label=f"{model}, {q}", **style)
                rel.plot(xs, [100 * (ours[n] / m[n] - 1) for n in xs], "o-", lw=0.8, **style)
        ax.set_yscale("log")
        ax.set_title(f"ISMIP-HOM {exp}")
        rel.axhline(0, color="0.5", lw=0.8)
        rel.set_xscale("log")
        rel.set_xticks(L, [str(n) for n in L])
        rel.set_xlabel("L (km)")
        for a in (ax, rel):
            a.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_ylabel("surface speed (m/a)")
    axes[1, 0].set_ylabel("ours / FS mean - 1 (%)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Max / min surface speed vs the full-Stokes ensemble of Pattyn et al. (2008); "
                 "bands: FS mean +- 1 std")
    return save_figure(fig, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exp", nargs="+", default=list(EXPERIMENTS))
    p.add_argument("--lengths", nargs="+", type=int, default=list(LENGTHS_KM))
    p.add_argument("--nx-3d", type=int, default=None, help="columns along x and y for A, C")
    p.add_argument("--nx-flowline", type=int, default=None, help="columns along x for B, D")
    p.add_argument("--nz", type=int, default=None, help="vertical layers")
    p.add_argument("--results", help="a JSON list of run_case results to read instead of running")
    p.add_argument("--save-results", help="write the run_case results as JSON here")
    p.add_argument("--csv", default=str(TABLE))
    p.add_argument("--figure", default=str(FIGURE))
    args = p.parse_args(argv)
    sys.argv = sys.argv[:1]  # PETSc (initialised on import of firedrake) would read our options

    if args.results:
        results = json.loads(Path(args.results).read_text())
    else:
        results = run_all([e.upper() for e in args.exp], args.lengths, args.nx_3d,
                          args.nx_flowline, args.nz)
        if args.save_results:
            Path(args.save_results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.save_results).write_text(json.dumps(results, indent=1))
    rows = compare(results)
    print_table(rows)
    print(write_table(rows, args.csv))
    print(figure(rows, args.figure))


if __name__ == "__main__":
    main()
