"""``icebench verify halfar`` and ``icebench verify ssa``: the package's verification commands.

Imports nothing heavy at import time (Firedrake loads only when an SSA is solved).
"""

import json


def _print(result: dict, as_json: bool, keys: tuple[str, ...], title: str) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(title)
    for key in keys:
        value = result[key]
        print(f"  {key:<28} {value:.6g}" if isinstance(value, float) else f"  {key:<28} {value}")


def cmd_verify_halfar(args) -> int:
    from sia_ssa_solver.halfar import run_halfar

    result = run_halfar(args.dx, transport=args.transport)
    _print(result, args.json, ("dx_m", "nx", "steps", "max_thickness_error_m",
                               "mean_thickness_error_m", "central_thickness_error_m",
                               "relative_volume_error", "volume_drift", "wall_time_s"),
           f"Halfar dome (Bueler et al. 2005 test B), SIA with {args.transport} transport, "
           "t0 -> t0 + 25000 a:")
    return 0


def cmd_verify_ssa(args) -> int:
    from sia_ssa_solver.shelf import run_shelf

    result = run_shelf(args.dx, front=args.front)
    _print(result, args.json, ("dx_m", "nx", "max_velocity_error", "mean_velocity_error",
                               "relative_l2_error", "newton_iterations", "dofs", "wall_time_s"),
           f"SSA, van der Veen ice shelf ({args.front} front), errors in m/a:")
    return 0


def add_commands(sub, verify_sub) -> None:
    """Add ``verify halfar`` and ``verify ssa`` to the ``icebench verify`` subparsers."""
    p = verify_sub.add_parser("halfar", help="SIA thickness evolution against the Halfar dome")
    p.add_argument("--dx", type=float, required=True,
                   help="grid spacing (m); must divide the 2400 km domain, e.g. 50000")
    p.add_argument("--transport", choices=("mahaffy", "driver"), default="mahaffy",
                   help="Mahaffy flux form (default) or the glacier.evolve driver")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify_halfar)

    p = verify_sub.add_parser("ssa", help="SSA against van der Veen's exact ice shelf")
    p.add_argument("--dx", type=float, required=True,
                   help="grid spacing (m); must divide the 50 km shelf, e.g. 2500")
    p.add_argument("--front", choices=("natural", "dirichlet"), default="natural",
                   help="calving-front stress condition (default) or the exact front velocity")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify_ssa)
