"""One figure of several ``icebench score --store ... --json`` results: the velbar fidelity of
each model on each held-out glacier of the store and over all of them (run it, do not import
it).

    python evaluation/plot_scores.py --scores a.json b.json --labels "data,energy" \\
        --field velbar --output scores.png
"""

import argparse
import json

from evaluation.figures import fidelity_bars


def per_glacier(result: dict, field: str) -> dict[str, float]:
    """The fidelity of ``field`` per glacier and over all of them ("all") of one score result."""
    out = {name: block["fidelity"][field] for name, block in sorted(result["per_domain"].items())}
    out["all"] = result["all"]["fidelity"][field]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", nargs="+", required=True, help="JSON of icebench score --store")
    parser.add_argument("--labels", help="comma-separated, one per JSON (default: its model)")
    parser.add_argument("--field", default="velbar", help="velbar, velsurf, velbase or speed")
    parser.add_argument("--title", default="")
    parser.add_argument("--output", required=True, help="the figure (PNG)")
    args = parser.parse_args()
    results = [json.load(open(p)) for p in args.scores]
    labels = args.labels.split(",") if args.labels else [r["model"] for r in results]
    if len(labels) != len(results):
        parser.error(f"{len(labels)} labels for {len(results)} score files")
    bars = {label: per_glacier(r, args.field) for label, r in zip(labels, results)}
    print(fidelity_bars(bars, args.output, f"{args.field} fidelity", args.title))


if __name__ == "__main__":
    main()
