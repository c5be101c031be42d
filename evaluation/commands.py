"""``icebench score`` and ``icebench bench speed``: fidelity of a flow model against a reference
and wall-time benchmarks. Nothing heavy is imported until a command runs."""

import json
import math


def _fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def score_lines(result: dict) -> list[str]:
    """The fidelity and rel_l2 columns of one score result, one line per field."""
    lines = [f"  {'field':<8} {'fidelity':>9} {'rel_l2':>9}"]
    for name, value in result["fidelity"].items():
        lines.append(f"  {name:<8} {_fmt(value):>9} {_fmt(result['rel_l2'][name]):>9}")
    return lines


def cmd_score(args) -> int:
    from glacier.errors import InputError
    from glacier.metrics import json_ready
    from glacier.flow import flow_model_from_spec
    from evaluation.score import score_state, score_state_against, score_store, score_store_pair

    if sum((args.input is not None, args.store is not None, args.dome)) != 1:
        raise InputError("give exactly one of --input (a state), --store (a training store) "
                         "and --dome (the symmetric-dome check)")
    if args.dome:
        return _dome(args)
    if args.reference_solution is not None and args.input is None:
        raise InputError("--reference-solution goes with --input (the state it was solved on)")
    if args.input is not None:
        from glacier.io import open_dataset, read_state

        if (args.reference is None) == (args.reference_solution is None):
            raise InputError("--input needs one of --reference (stokes, hybrid, sia or a model "
                             "spec) and --reference-solution (an 'icebench solve' output)")
        state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
        if args.reference_solution is not None:
            solution = open_dataset(args.reference_solution)
            _check_solution_parameters(solution, args)
            result = score_state_against(state, flow_model_from_spec(args.model), solution)
        else:
            result = score_state(state, flow_model_from_spec(args.model),
                                 flow_model_from_spec(args.reference))
            result["reference"] = args.reference
        result.update(model=args.model, input=str(args.input))
        if args.json:
            print(json.dumps(json_ready(result), indent=2))
            return 0
        print(f"{result['model']} against {result['reference']} on {args.input} "
              f"({result['ice_cells']} ice cells, thk > 1 m):")
        print("\n".join(score_lines(result)))
        t_ref = result["seconds"]["reference"]
        print(f"  wall time: model {result['seconds']['model']:.3g} s, reference "
              + ("not recorded" if t_ref is None else f"{t_ref:.3g} s")
              + " (first calls, set-up included)")
        return 0
    from glacier.dataset import open_store

    data = open_store(args.store)
    if args.reference_store is not None:
        result = score_store_pair(data, open_store(args.reference_store), split=args.split)
    else:
        if args.model is None:
            raise InputError("--store needs --model (or --reference-store for the cross-instructor row)")
        reference = flow_model_from_spec(args.reference) if args.reference else None
        result = score_store(data, flow_model_from_spec(args.model), reference, split=args.split)
    result["store"] = str(args.store)
    if args.json:
        print(json.dumps(json_ready(result), indent=2))
        return 0
    print(f"{result['model']} against {result['reference']}, {args.split} split of {args.store} "
          "(fidelity and rel_l2 pooled over each glacier's samples, thk > 1 m):")
    for domain, row in [*result["per_domain"].items(), ("all", result["all"])]:
        print(f"{domain} ({row['samples']} samples, {row['ice_cells']} ice cells)")
        print("\n".join(score_lines(row)))
    print("per (A, c) draw: velbar / velsurf / velbase fidelity")
    for group, row in result["per_parameters"].items():
        fid = row["fidelity"]
        print(f"  {group} (A {row['arrhenius']:.0f}, c {row['slidingco']:.3g}, {row['samples']} "
              f"samples): {fid['velbar']:.3f} / {fid['velsurf']:.3f} / {fid['velbase']:.3f}")
    return 0


def _check_solution_parameters(solution, args) -> None:
    """A reference solution records the A and c overrides it was solved with
    (``icebench solve``); scoring with other overrides compares two different problems."""
    from glacier.errors import InputError

    for key in ("arrhenius", "slidingco"):
        recorded = solution.attrs.get(f"{key}_override")
        if recorded is None:
            continue
        given = getattr(args, key)
        same = (given is None) if recorded == "none" else (
            given is not None and abs(float(recorded) - given) <= 1e-9 * abs(given))
        if not same:
            raise InputError(f"the reference solution was solved with --{key} {recorded}, "
                             f"the score asks for {given if given is not None else 'none'}")


def _dome(args) -> int:
    from glacier.errors import InputError
    from glacier.flow import flow_model_from_spec
    from evaluation.symmetry import MOVING, dome_check

    if args.model is None:
        raise InputError("--dome needs --model")
    overrides = {k: v for k, v in (("arrhenius", args.arrhenius), ("slidingco", args.slidingco))
                 if v is not None}
    result = dome_check(flow_model_from_spec(args.model), **overrides)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.model} on the symmetric dome (64 x 64 at 100 m, 300 m thick): asymmetry "
          f"{100 * result['asymmetry']:.3g} % of the total speed, {100 * result['outward']:.2f} % "
          f"of {result['moving_cells']} moving cells (> {MOVING} m/a) flow outward, max "
          f"{result['max_speed']:.1f} m/a")
    return 0


def _sizes(text: str) -> list[int]:
    from glacier.errors import InputError

    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise InputError(f"--sizes must be comma-separated integers, got '{text}'") from exc
    if not sizes or min(sizes) < 3:
        raise InputError(f"--sizes needs sizes >= 3 cells, got '{text}'")
    return sizes


def _labelled_specs(text: str) -> dict[str, str]:
    """The comma-separated model specs of ``--models``, keyed by their table labels
    (``evaluation.score.model_label``); none at all is refused."""
    from glacier.errors import InputError
    from evaluation.score import model_label

    labels = {}
    for spec in (s.strip() for s in text.split(",")):
        if spec:
            labels[model_label(spec, set(labels))] = spec
    if not labels:
        raise InputError("--models names no model")
    return labels


def cmd_bench_speed(args) -> int:
    from glacier.io import read_state
    from glacier.flow import flow_model_from_spec
    from evaluation.speed import benchmark, format_table, mpi_ranks, transient_times

    state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
    models = {label: flow_model_from_spec(spec)
              for label, spec in _labelled_specs(args.models).items()}
    result = benchmark(state, models, _sizes(args.sizes), repeats=args.repeats)
    result["input"] = str(args.input)
    rows = result["rows"]
    if args.transient_years:
        from glacier.evolve import EvolveSettings
        from glacier.smb import ElaSmb

        settings = EvolveSettings(years=args.transient_years,
                                  output_interval=args.transient_years)
        result["transient"] = transient_times(state, models, ElaSmb(ela=args.ela), settings)
    if mpi_ranks() > 1:
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank > 0:
            return 0  # every rank took part in the solves; rank 0 reports them
    if args.plot:
        from evaluation.figures import speed_plot

        speed_plot(rows, args.plot)
    if args.output:
        from pathlib import Path

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(rows_json(result), indent=2))
        return 0
    print(format_table(rows))
    for gemm in filter(None, (result["sgemm"], result["device_sgemm"])):
        print(f"sgemm ({gemm['library']} float32, n={gemm['n']}, {gemm['device']}): "
              f"{gemm['flops_per_s'] / 1e9:.1f} GFLOP/s")
    for e in result["efficiency"]:
        print(f"{e['model']} {e['nx']}x{e['ny']}: {e['flops'] / 1e9:.3f} GFLOP per inference, "
              f"{e['seconds']:.4g} s, {e['flops_per_s'] / 1e9:.2f} GFLOP/s = "
              f"{100 * e['fraction_of_sgemm']:.1f}% of sgemm on {e['device']}")
    for t in result.get("transient", []):
        print(f"transient {t['years']:g} a on {t['nx']}x{t['ny']} with {t['model']}: "
              f"{t['seconds']:.3g} s")
    return 0


def cmd_bench_century(args) -> int:
    """Every model of ``--models`` evolves the ``--input`` state for ``--years`` under the same
    warming climate and renewal schedule, each run in resumable chunks under ``--out`` (a run
    finished before is reused, not redone), then the table, numbers and figure against
    ``--reference`` (evaluation/century.py)."""
    from pathlib import Path

    from evaluation.century import (compare_drivers, driver_run, file_digest, table,
                                    warming_climate)
    from evaluation.figures import century_figure
    from glacier.errors import InputError
    from glacier.evolve import EvolveSettings
    from glacier.flow import flow_model_from_spec, spec_model_name
    from glacier.io import read_state
    from glacier.metrics import json_ready

    labels = _labelled_specs(args.models)
    if args.reference not in labels:
        raise InputError(f"--reference '{args.reference}' is not among the models' labels "
                         f"{list(labels)}")
    state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
    settings = EvolveSettings(years=args.years, output_interval=args.output_interval,
                              velocity_interval=args.velocity_interval,
                              velocity_displacement=args.velocity_displacement or None)
    climate = warming_climate({"ela": args.ela}, 0.0, args.years, args.ela_rise)
    # all built before any run, so that a bad spec stops the command first; an emulator warns
    # outside its training ranges instead of stopping the run (its manifest's out_of_range)
    models = {label: flow_model_from_spec(spec, **({"out_of_range": "warn"}
                                                   if spec_model_name(spec) == "emulator" else {}))
              for label, spec in labels.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for label, spec in labels.items():
        identity = {"spec": spec, "input": str(args.input)}
        if getattr(models[label], "source", None):
            identity["weights"] = file_digest(models[label].source)
        file = out / (label.replace("/", "_").replace(":", "_") + ".nc")
        print(f"{label}: {args.years:g} a into {file}", flush=True)
        runs[label] = driver_run(state, models[label], climate, settings, file,
                                 args.chunk_years, identity, show_progress=True)
    rows = compare_drivers(runs, args.reference)
    text = table(rows, args.reference)
    (out / "century.json").write_text(json.dumps(json_ready(rows), indent=2) + "\n")
    (out / "century.md").write_text(f"# {args.years:g}-year runs of {args.input} against "
                                    f"{args.reference}\n\n" + text)
    century_figure(runs, args.reference, out / "century.png", title=Path(args.input).stem)
    print(text, end="")
    return 0


def cmd_bench_plot(args) -> int:
    """One log-log figure of several ``bench speed --output`` results (e.g. the same ladder on
    a 2-core CPU and on a GPU): each result's rows keep their model names, and their device
    becomes the result's label."""
    from pathlib import Path

    from evaluation.figures import speed_plot
    from glacier.errors import InputError

    labels = [s.strip() for s in args.labels.split(",")] if args.labels else \
        [Path(p).stem for p in args.results]
    if len(labels) != len(args.results):
        raise InputError(f"--labels names {len(labels)} results, but {len(args.results)} "
                         "were given")
    rows = []
    for path, label in zip(args.results, labels):
        try:
            result = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read speed results '{path}': {error}") from error
        if not isinstance(result, dict) or not result.get("rows"):
            raise InputError(f"'{path}' holds no speed rows (write it with "
                             "'icebench bench speed --output')")
        rows += [{**r, "device": label} for r in result["rows"]]
    speed_plot(rows, args.output, title="median of repeated runs, batch 1")
    print(f"wrote {args.output}")
    return 0


def rows_json(result: dict) -> list[dict]:
    """The ``--json`` output: the rows, each with the machine info beside its timings."""
    keep = ("model", "nx", "ny", "dx_m", "ice_cells", "seconds", "times", "warmup_seconds",
            "warm_seconds", "device", "cores", "ranks", "speedup_vs_stokes", "speedup_vs_hybrid",
            "warm_speedup_vs_stokes", "warm_speedup_vs_hybrid")
    return [{**{k: r[k] for k in keep}, "machine": result["machine"]} for r in result["rows"]]


def add_commands(sub, verify_sub) -> None:
    """Add ``icebench score`` and ``icebench bench speed``, ``century`` and ``plot``."""
    from glacier.io import add_parameter_overrides

    models_help = ("a registered flow model, name[:key=value...] (e.g. sia:sliding=true, "
                   "stokes:layers=4), or the path of an emulator bundle or .keras file")
    p = sub.add_parser("score", help="fidelity and relative L2 error of a flow model against a reference")
    p.add_argument("--model", help=models_help)
    p.add_argument("--reference", help="the reference model (stokes, hybrid, sia, ...); with "
                                       "--store the default is the store's own velocities")
    p.add_argument("--input", help="a state (IGM-style NetCDF/Zarr with usurf/topg and thk)")
    p.add_argument("--reference-solution",
                   help="with --input, instead of --reference: the velocities a costly solve "
                        "already made on that state ('icebench solve --output'), so that one "
                        "Stokes solve scores many models")
    p.add_argument("--store", help="a training store: score its split per glacier instead")
    p.add_argument("--reference-store", help="with --store: a second store on the same states "
                                             "(the cross-instructor row)")
    p.add_argument("--dome", action="store_true", help="the symmetric-dome check of --model: "
                                                         "asymmetry and share of outward flow")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    add_parameter_overrides(p)
    p.add_argument("--json", action="store_true", help="print JSON (keys fidelity, rel_l2)")
    p.set_defaults(func=cmd_score)

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    p = bench_sub.add_parser("speed", help="wall time of one velocity field per model and grid size")
    p.add_argument("--input", required=True, help="a state with ice; resampled to each size")
    p.add_argument("--models", required=True, help="comma-separated: " + models_help)
    p.add_argument("--sizes", default="32,64,128", help="cells along x, comma-separated")
    p.add_argument("--repeats", type=int, default=5, help="timed calls after the warm-up")
    p.add_argument("--transient-years", type=float,
                   help="also time a whole evolve run of this many years (a) with each model")
    p.add_argument("--ela", type=float, default=3000.0, help="ELA (m) of the transient runs")
    add_parameter_overrides(p)
    p.add_argument("--plot", help="write the log-log plot of time vs cells here (PNG)")
    p.add_argument("--output", help="write the full results (rows, machine, sgemm, efficiency) "
                                    "as JSON here")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=cmd_bench_speed)
    p = bench_sub.add_parser("century", help="whole transient runs of one state per model: wall "
                                             "time and speed-ups beside volume, area and "
                                             "thickness against a reference")
    p.add_argument("--input", required=True, help="the start state (IGM-style NetCDF/Zarr)")
    p.add_argument("--models", required=True, help="comma-separated drivers: " + models_help)
    p.add_argument("--reference", default="stokes", help="the label of the reference driver")
    p.add_argument("--years", type=float, default=100.0, help="length of every run (a)")
    p.add_argument("--ela", type=float, required=True, help="ELA at the start (m)")
    p.add_argument("--ela-rise", type=float, default=200.0,
                   help="linear rise of the ELA over the run (m)")
    p.add_argument("--output-interval", type=float, default=10.0, help="years between snapshots")
    p.add_argument("--chunk-years", type=float, default=10.0,
                   help="write each run every this many years and resume from there")
    p.add_argument("--velocity-interval", type=float, default=1.0,
                   help="years between velocity solves of every driver")
    p.add_argument("--velocity-displacement", type=float, default=1.0,
                   help="renew sooner once the fastest ice has moved this many cells (0: "
                        "never sooner, a fixed schedule)")
    add_parameter_overrides(p)
    p.add_argument("--out", required=True, help="folder of the runs, century.md/.json/.png")
    p.set_defaults(func=cmd_bench_century)
    p = bench_sub.add_parser("plot", help="one figure of several 'bench speed --output' results")
    p.add_argument("results", nargs="+", help="JSON files written by 'icebench bench speed --output'")
    p.add_argument("--labels", help="comma-separated, one per result (e.g. '2-core CPU,H100'); "
                                    "default: the file names")
    p.add_argument("--output", required=True, help="the figure (PNG)")
    p.set_defaults(func=cmd_bench_plot)
