"""Stokes subcommands for the icebench CLI (no Firedrake import until a command runs)."""

import json


def cmd_verify_slab(args) -> int:
    from stokes_solver.slab import solve_slab

    rows = [solve_slab(n, beta2=args.beta2) for n in args.layers]
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "report"} for r in rows], indent=2))
        return 0
    print("Stokes slab on a 3 deg slope, H = 500 m, A = 100 MPa-3 a-1"
          + (f", linear sliding beta2 = {args.beta2} MPa a m-1" if args.beta2 else ", no slip"))
    print(f"{'layers':>6} {'u_s':>10} {'exact':>10} {'rel err':>9} {'p rel err':>9} {'newton':>6}")
    for r in rows:
        print(f"{r['layers']:>6} {r['surface_speed']:10.4f} {r['exact_surface_speed']:10.4f} "
              f"{r['relative_error']:9.2e} {r['pressure_relative_error']:9.2e} "
              f"{r['report']['newton_iterations']:6d}")
    return 0


def add_commands(sub, verify_sub) -> None:
    """Add ``icebench verify slab``."""
    p = verify_sub.add_parser("slab", help="Stokes: inclined slab against the exact solution")
    p.add_argument("--layers", type=int, nargs="+", default=[2, 4, 8], help="layer counts")
    p.add_argument("--beta2", type=float, help="linear friction beta^2 (MPa a m-1); default no slip")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_verify_slab)
