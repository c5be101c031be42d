"""The ``icebench`` command: one entry point, one subcommand per task.

Every subcommand validates its input before any work and exits with status 2 and a one-line
message naming the problem when the input is bad.
"""

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from glacier.errors import InputError, SolverError
from glacier.evolve import EvolveSettings
from glacier.io import add_parameter_overrides
from glacier.provenance import machine_info
from glacier.smb import ElaSmb
from emulator import commands as emulator_commands
from evaluation import commands as evaluation_commands
from sia_ssa_solver import commands as sia_ssa_commands
from stokes_solver import commands as stokes_commands


def cmd_info(args) -> int:
    info = machine_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value if value is not None else '-'}")
    return 0


def cmd_evolve(args) -> int:
    from glacier.evolve import EvolveSettings, evolve, evolve_in_chunks
    from glacier.flow import flow_model_from_spec, spec_model_name
    from glacier.io import read_state, write_dataset
    from glacier.smb import ElaSmb

    state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
    settings = EvolveSettings(years=args.years, output_interval=args.output_interval,
                              cfl=args.cfl, dt_max=args.dt_max,
                              velocity_interval=args.velocity_interval)
    smb = ElaSmb(ela=args.ela, grad_abl=args.grad_abl, grad_acc=args.grad_acc,
                 max_acc=args.max_acc)
    climate = dict(input=str(args.input), ela_m=args.ela, grad_abl=args.grad_abl,
                   grad_acc=args.grad_acc, max_acc=args.max_acc)
    if args.chunk_years is not None and Path(args.output).suffix != ".nc":
        raise InputError(f"--chunk-years writes NetCDF: give an --output ending in .nc, not "
                         f"'{args.output}'")
    finetuning = {}
    if args.retrain_every is not None:
        if spec_model_name(args.model) != "emulator":
            raise InputError(f"--retrain-every fine-tunes an emulator; '{args.model}' is not one")
        if args.chunk_years is not None:
            raise InputError("--retrain-every cannot be resumed in chunks (the fine-tuned "
                             "weights are not stored with them): drop --chunk-years")
        finetuning = {"retrain_every": args.retrain_every}
    model = flow_model_from_spec(args.model, **finetuning)
    if args.chunk_years is None:
        run = evolve(state, model, smb, settings)
        run.attrs.update(climate)
        if finetuning:
            run.attrs.update({k: v for k, v in model.finetuning.report().items()
                              if v is not None})
        write_dataset(run, args.output)
    else:
        identity = {**climate, "model": args.model, "arrhenius": args.arrhenius,
                    "slidingco": args.slidingco, **dataclasses.asdict(settings)}
        run = evolve_in_chunks(state, model, smb, settings, args.output, args.chunk_years,
                               identity, attrs=climate)
    vol = run.volume.values
    print(f"wrote {args.output}: {run.sizes['time']} snapshots, volume {vol[0] / 1e9:.4f} -> "
          f"{vol[-1] / 1e9:.4f} km3, max thickness {float(run.thk[-1].max()):.1f} m")
    return 0


def cmd_solve(args) -> int:
    from glacier.flow import flow_model_from_spec
    from glacier.io import read_state, write_dataset

    state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
    options = {k: v for k, v in (("layers", args.layers), ("solver", args.solver)) if v is not None}
    model = flow_model_from_spec(args.model, **options)
    vel = model.velocity(state)
    report = vel.attrs.pop("solver_report", {})
    vel.attrs.update({f"solver_{k}": (json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None
                                      else v) for k, v in report.items()})
    vel.attrs.update(flow_model=args.model, input=str(args.input),
                     **{f"{key}_override": "none" if value is None else value
                        for key, value in (("arrhenius", args.arrhenius),
                                           ("slidingco", args.slidingco))})
    write_dataset(vel, args.output)
    speed = float(abs(vel.uvelsurf + 1j * vel.vvelsurf).max())
    print(f"wrote {args.output}: max surface speed {speed:.2f} m/a"
          + (f", {report.get('wall_time_s', float('nan')):.2f} s" if report else ""))
    return 0


def cmd_ismip_hom(args) -> int:
    from glacier.ismip_hom import EXPERIMENTS, LENGTHS_KM

    if args.model == "stokes":
        from stokes_solver.ismip_hom import run_case
    else:
        from sia_ssa_solver.ismip_hom import run_case
    exps = EXPERIMENTS if args.exp == "all" else [args.exp]
    lengths = LENGTHS_KM if args.length_km is None else [args.length_km]
    options = {k: v for k, v in (("nx", args.nx), ("nz", args.nz)) if v is not None}
    rows = [run_case(exp, length, **options) for exp in exps for length in lengths]
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
        return 0
    print(f"ISMIP-HOM, {args.model} model: surface speed (m/a) along y = L/4 (A, C) or the "
          "flowline (B, D)")
    print(f"{'exp':>3} {'L km':>5} {'max':>9} {'min':>9} {'dofs':>8} {'newton':>6} {'time s':>7}")
    for r in rows:
        print(f"{r['experiment']:>3} {r['length_km']:>5} {r['max_surface_speed']:9.2f} "
              f"{r['min_surface_speed']:9.2f} {r['dofs']:8d} {r['newton_iterations']:6d} "
              f"{r['wall_time_s']:7.2f}")
    return 0


def cmd_data_inspect(args) -> int:
    from glacier.dataset import open_store, sample_figure, summary

    data = open_store(args.store)
    print(summary(data))
    if args.figure:
        print(f"figure: {sample_figure(data, args.figure, count=args.samples)}")
    if args.coverage:
        from glacier.coverage import coverage_figure
        coverage_figure(data, args.coverage)
        print(f"coverage: {args.coverage}")
    return 0


def _workflow_config(path) -> dict:
    """A workflow config file, validated against the schema (which fills in its defaults)."""
    import yaml
    from snakemake.utils import validate

    from glacier.schema import SCHEMA_PATH

    config = yaml.safe_load(Path(path).read_text())
    validate(config, str(SCHEMA_PATH))
    return config


def cmd_data_assemble(args) -> int:
    import os

    from glacier.dataset import START, assemble_config, data_files, write_store
    from glacier.errors import InputError

    config = _workflow_config(args.config)
    if args.instructor not in config["instructors"]:
        raise InputError(f"instructor '{args.instructor}' is not in {args.config}: "
                         f"{sorted(config['instructors'])}")
    data_dir = os.path.expanduser(config["data_dir"] or config["results_dir"])
    wanted = data_files(config, data_dir)
    if args.starts_only:
        wanted = {key: path for key, path in wanted.items() if key[1] == START}
    runs = {key: path for key, path in wanted.items() if path.exists()}
    if not runs:
        what = "start-state" if args.starts_only else "run"
        raise InputError(f"no {what} file of {args.config} under {data_dir} yet")
    data = assemble_config(config, args.instructor, runs)
    data.attrs["runs_assembled"] = f"{len(runs)} of {len(wanted)}"
    out = args.out or f"{data_dir}/data/{args.instructor}_partial.zarr"
    write_store(data, out)
    print(f"{out}: {data.sizes['sample']} samples from {len(runs)} of {len(wanted)} runs "
          f"({data.attrs['border_ice_total']} snapshots with ice on the border, "
          f"{'kept' if data.attrs['keep_border_ice'] else 'left out'})")
    return 0


def cmd_data_windows(args) -> int:
    from glacier.geometry import massif_windows

    config = _workflow_config(args.config)
    res = float(config["grid"]["resolution"])
    held_out = {*config["splits"]["test"], *config["splits"].get("val", [])}
    avoid, shun = [], []
    for name, spec in config["domains"].items():
        if "x0" in spec and "y0" in spec:
            nx, ny = spec.get("nx", config["grid"]["nx"]), spec.get("ny", config["grid"]["ny"])
            (avoid if name in held_out else shun).append(
                (spec["x0"], spec["y0"], spec["x0"] + res * (nx - 1), spec["y0"] + res * (ny - 1)))
    found = massif_windows(args.topography, args.elevations, args.size, res, args.margin,
                           (args.min_cells, args.max_cells), avoid, shun)
    print(f"# {len(found)} massif window(s) of {args.topography} at {res:g} m: no window over a "
          f"held-out domain of {args.config}, no massif in another domain's window (cells "
          "above the outline, summit in m)")
    for k, w in enumerate(found, start=1):
        print(f"{args.prefix}{k}: {{topography: {args.topography}, x0: {w['x0']:.0f}, "
              f"y0: {w['y0']:.0f}, nx: {args.size}, ny: {args.size}, outline_elevation: "
              f"{w['outline_elevation']:g}, runs: false, estimate: *estimate}}  "
              f"# {w['cells']} cells, summit {w['summit']:.0f}")
    return 0


def cmd_data_verify(args) -> int:
    from glacier.dataset import verify_store

    ok, stored, actual = verify_store(args.store)
    print(f"{args.store}: content hash {'matches' if ok else 'MISMATCH'}\n  stored   {stored}\n"
          f"  computed {actual}")
    return 0 if ok else 1


COMMAND_MODULES = (sia_ssa_commands, stokes_commands, evaluation_commands, emulator_commands)
"""Modules that add subcommands: each has ``add_commands(sub, verify_sub)``; they must not
import Firedrake at import time, so that ``icebench --help`` stays fast."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icebench", description=__doc__.splitlines()[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="versions of the stack, cores and GPU")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("evolve", help="grow or shrink a glacier with a flow model, SMB and transport")
    p.add_argument("--model", default="sia", help="flow model: a name (sia, hybrid, stokes), "
                   "name:key=value options, or an emulator bundle path")
    p.add_argument("--input", required=True, help="IGM-style NetCDF/Zarr with usurf or topg")
    p.add_argument("--output", required=True, help="output .nc or .zarr (snapshots over time)")
    p.add_argument("--years", type=float, required=True, help="length of the run (a)")
    p.add_argument("--ela", type=float, required=True, help="equilibrium-line altitude (m)")
    climate = {f.name: f.default for f in dataclasses.fields(ElaSmb)}
    p.add_argument("--grad-abl", type=float, default=climate["grad_abl"],
                   help="ablation gradient (a-1; default %(default)s)")
    p.add_argument("--grad-acc", type=float, default=climate["grad_acc"],
                   help="accumulation gradient (a-1; default %(default)s)")
    p.add_argument("--max-acc", type=float, default=climate["max_acc"],
                   help="maximum accumulation (m a-1; default %(default)s)")
    settings = {f.name: f.default for f in dataclasses.fields(EvolveSettings)}
    for option, key, text in (("--output-interval", "output_interval", "years between snapshots"),
                              ("--cfl", "cfl", "CFL number of the transport"),
                              ("--dt-max", "dt_max", "largest time step (a)"),
                              ("--velocity-interval", "velocity_interval",
                               "years between velocity solves (0: every step)")):
        p.add_argument(option, type=float, default=settings[key],
                       help=f"{text} (default %(default)s)")
    p.add_argument("--chunk-years", type=float, default=None,
                   help="write the run to --output (.nc) every this many years (a multiple of "
                        "--output-interval) and resume from it when rerun with the same options: "
                        "for runs longer than a session (Stokes-driven centuries)")
    p.add_argument("--retrain-every", type=int, default=None, metavar="K",
                   help="fine-tune an energy-trained emulator on the glacier itself: one Adam "
                        "step on the first-order energy every K velocity solves")
    add_parameter_overrides(p)
    p.set_defaults(func=cmd_evolve)

    p = sub.add_parser("solve", help="velocity fields of one state with a flow model")
    p.add_argument("--model", default="hybrid", help="flow model: a name (stokes, hybrid, sia), "
                   "name:key=value options, or an emulator bundle path")
    p.add_argument("--input", required=True, help="IGM-style NetCDF/Zarr with usurf/topg and thk")
    p.add_argument("--output", required=True, help="output .nc or .zarr with the velocity fields")
    add_parameter_overrides(p)
    p.add_argument("--layers", type=int, help="vertical layers (Stokes)")
    p.add_argument("--solver", help="solver preset (e.g. direct, scalable; default: by size)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("ismip-hom", help="ISMIP-HOM experiments A-D (Pattyn et al. 2008)")
    p.add_argument("--model", choices=("stokes", "hybrid"), default="stokes")
    p.add_argument("--exp", choices=("A", "B", "C", "D", "all"), default="A")
    p.add_argument("--length-km", type=int, help="domain length L (km); default: all six")
    p.add_argument("--nx", type=int, help="cells along x (and y)")
    p.add_argument("--nz", type=int, help="vertical layers (Stokes)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_ismip_hom)

    data = sub.add_parser("data", help="training datasets (Zarr stores)")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("inspect", help="summary of a store and a figure of a few samples")
    p.add_argument("store", help="a store written by the workflow (results/data/<instructor>.zarr)")
    p.add_argument("--figure", help="write a PNG of a few samples (thk, surface speed) here")
    p.add_argument("--samples", type=int, default=4, help="samples in the figure")
    p.add_argument("--coverage", help="write a PNG of the histograms of thk, slope, speed, A, c "
                   "over the ice per split and held-out glacier here")
    p.set_defaults(func=cmd_data_inspect)
    p = data_sub.add_parser("assemble", help="a store of the runs of a workflow config made so "
                                             "far (train on a generation under way)")
    p.add_argument("--config", required=True, help="the workflow config of the generation")
    p.add_argument("--instructor", required=True, help="whose velocities (hybrid, stokes, ...)")
    p.add_argument("--out", help="store path (default <data_dir>/data/<instructor>_partial.zarr)")
    p.add_argument("--starts-only", action="store_true",
                   help="only the start-state samples (start_states), not the runs")
    p.set_defaults(func=cmd_data_assemble)
    p = data_sub.add_parser("windows", help="find DEM windows that each hold one massif whole "
                                            "(new glaciers of estimated thickness for a config)")
    p.add_argument("--config", required=True, help="workflow config: its grid, and its domains "
                                                   "to keep clear of")
    p.add_argument("--topography", required=True, help="a bundled DEM name or a NetCDF path")
    p.add_argument("--elevations", type=float, nargs="+", required=True,
                   help="outline elevations to try (m)")
    p.add_argument("--size", type=int, default=96, help="window cells per side")
    p.add_argument("--margin", type=float, default=1000.0, help="ice-free margin (m)")
    p.add_argument("--min-cells", type=int, default=300)
    p.add_argument("--max-cells", type=int, default=1500)
    p.add_argument("--prefix", default="window_", help="domain name prefix")
    p.set_defaults(func=cmd_data_windows)
    p = data_sub.add_parser("verify", help="recompute a store's content hash and compare")
    p.add_argument("store")
    p.set_defaults(func=cmd_data_verify)

    verify = sub.add_parser("verify", help="verification against exact solutions")
    verify_sub = verify.add_subparsers(dest="case", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(sub, verify_sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # Firedrake initialises PETSc from sys.argv: it would take these arguments for PETSc
    # options and print them as unused at exit, into the --json output
    sys.argv = sys.argv[:1]
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"icebench: error: {exc}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"icebench: solver failed: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
