"""The ``icebench`` command: one entry point, one subcommand per task.

Every subcommand validates its input before any work and exits with status 2 and a one-line
message naming the problem when the input is bad.
"""

import argparse
import importlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

from glacier.errors import InputError, SolverError

PACKAGES = ("firedrake", "petsc4py", "tensorflow-cpu", "keras", "jax", "mlflow", "zarr",
            "xarray", "dask", "snakemake", "numpy")


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def gpu_description() -> str | None:
    """Name of the first NVIDIA GPU reported by nvidia-smi, or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    result = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                            capture_output=True, text=True, check=False)
    names = result.stdout.strip().splitlines()
    return names[0] if result.returncode == 0 and names else None


def machine_info() -> dict:
    """Versions of the stack, the PETSc build, cores and GPU: recorded beside every benchmark."""
    info = {"icebench": _version("icebench"), "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "gpu": gpu_description()}
    info.update({p: _version(p) for p in PACKAGES})
    try:
        from petsc4py import PETSc
        info["petsc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
        info["petsc_dir"] = os.environ.get("PETSC_DIR")
    except ImportError:
        info["petsc"] = None
    return info


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
    from glacier.evolve import EvolveSettings, evolve
    from glacier.flow import flow_model_from_spec
    from glacier.io import read_state, write_dataset
    from glacier.smb import ElaSmb

    state = read_state(args.input, arrhenius=args.arrhenius, slidingco=args.slidingco)
    settings = EvolveSettings(years=args.years, output_interval=args.output_interval,
                              cfl=args.cfl, dt_max=args.dt_max)
    smb = ElaSmb(ela=args.ela, grad_abl=args.grad_abl, grad_acc=args.grad_acc,
                 max_acc=args.max_acc)
    model = flow_model_from_spec(args.model)
    run = evolve(state, model, smb, settings)
    run.attrs.update(input=str(args.input), ela_m=args.ela, grad_abl=args.grad_abl,
                     grad_acc=args.grad_acc, max_acc=args.max_acc)
    write_dataset(run, args.output)
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
    vel.attrs.update(flow_model=args.model, input=str(args.input))
    write_dataset(vel, args.output)
    speed = float(abs(vel.uvelsurf + 1j * vel.vvelsurf).max())
    print(f"wrote {args.output}: max surface speed {speed:.2f} m/a"
          + (f", {report.get('wall_time_s', float('nan')):.2f} s" if report else ""))
    return 0


def cmd_ismip_hom(args) -> int:
    from glacier.ismip_hom import EXPERIMENTS, LENGTHS_KM

    module = {"stokes": "stokes_solver.ismip_hom", "hybrid": "sia_ssa_solver.ismip_hom"}[args.model]
    run_case = importlib.import_module(module).run_case
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
    return 0


def cmd_data_verify(args) -> int:
    from glacier.dataset import verify_store

    ok, stored, actual = verify_store(args.store)
    print(f"{args.store}: content hash {'matches' if ok else 'MISMATCH'}\n  stored   {stored}\n"
          f"  computed {actual}")
    return 0 if ok else 1


COMMAND_MODULES = ("sia_ssa_solver.commands", "stokes_solver.commands", "evaluation.commands",
                   "emulator.commands")
"""Modules that add subcommands: each has ``add_commands(sub, verify_sub)``; they must not
import Firedrake at import time, so that ``icebench --help`` stays fast."""


def add_parameter_overrides(parser: argparse.ArgumentParser) -> None:
    """``--arrhenius`` and ``--slidingco``: constants that replace the input file's fields."""
    parser.add_argument("--arrhenius", type=float, help="constant A (MPa-3 a-1), overrides the file")
    parser.add_argument("--slidingco", type=float,
                        help="constant c (MPa a1/3 m-1/3), overrides the file")


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
    p.add_argument("--grad-abl", type=float, default=0.009, help="ablation gradient (a-1)")
    p.add_argument("--grad-acc", type=float, default=0.005, help="accumulation gradient (a-1)")
    p.add_argument("--max-acc", type=float, default=2.0, help="maximum accumulation (m a-1)")
    p.add_argument("--output-interval", type=float, default=10.0, help="years between snapshots")
    p.add_argument("--cfl", type=float, default=0.3, help="CFL number of the transport")
    p.add_argument("--dt-max", type=float, default=1.0, help="largest time step (a)")
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
    p.set_defaults(func=cmd_data_inspect)
    p = data_sub.add_parser("verify", help="recompute a store's content hash and compare")
    p.add_argument("store")
    p.set_defaults(func=cmd_data_verify)

    verify = sub.add_parser("verify", help="verification against exact solutions")
    verify_sub = verify.add_subparsers(dest="case", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, name.split(".")[0]):
                raise
            continue
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
