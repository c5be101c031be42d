"""ISMIP-HOM experiments A-D (Pattyn et al. 2008) with the full-Stokes solver.

Frame: every experiment is solved in the frame tilted by the mean surface slope alpha, where
the mean surface is flat (z = 0) and gravity is rho g (sin alpha, 0, -cos alpha). The domain
is then exactly periodic (the untilted geometry is periodic only up to the L tan alpha drop),
the bed of C/D is the flat plane z = -1000 m, so the friction acts on (u, v) and
impenetrability is the normal penalty on w. The bumps of A/B are measured normal to the mean
surface; the difference from the untilted definition is O(alpha^2) ~ 1e-4 relative.
Velocities are reported in that frame (the along-slope component differs from the horizontal
one by 1 - cos alpha < 4e-5).

A, C: doubly periodic square [0, L]^2, Q2-Q1 hexahedra, nx x nx columns; the profile y = L/4
is a row of grid points (nx must be a multiple of 4). B, D: flowline, periodic extruded interval.
A, B: no slip. C, D: linear sliding beta^2 (MPa a m-1). A = 1e-16 Pa^-3 a^-1 = 100 MPa^-3 a^-1.
"""

import time

import firedrake as fd
import numpy as np
from mpi4py import MPI

from glacier import ismip_hom as geom
from glacier.constants import RHO_G
from glacier.errors import InputError
from stokes_solver import physics
from stokes_solver.columns import Columns
from stokes_solver.mesh import extrude
from stokes_solver.problem import StokesProblem
from stokes_solver.solver import solve

DEFAULT_NX = {"3d": 32, "flowline": 160}
"""Default columns along x (and y) for 3-D (A, C) and flowline (B, D) runs: with 16 and 40 the
slow patches of A (its minimum speed 2-9 % above every FS model) and the maxima of B (up to
0.07 % below) were not resolved; at 32 and 160, 3 layers, A and B lie inside the FS range
(docs/stokes.md has the table)."""
DEFAULT_NZ = 3
"""Default vertical layers: A at L = 80 km on 16 x 16 columns gives a maximum surface speed of
86.69 / 86.32 / 86.25 / 86.23 / 86.22 m a-1 with 2 / 3 / 4 / 5 / 8 layers, so 3 layers are within
0.12 % of 8 for 2.2x less time than 5 (the README has the table)."""


def build_problem(exp: str, length: float, nx: int, nz: int, refinement: float = 1.0):
    """The ISMIP-HOM ``exp`` problem on a domain of length ``length`` (m)."""
    flowline = geom.is_flowline(exp)
    base = fd.PeriodicIntervalMesh(nx, length) if flowline else \
        fd.PeriodicRectangleMesh(nx, nx, length, length, quadrilateral=True)

    def bed(x, y=None):
        y = length / 4 if y is None else y
        return geom.bed(exp, x, y, length) - geom.surface(exp, x, y)

    mesh = extrude(base, nz, bed, lambda *X: -bed(*X), refinement)
    X = fd.SpatialCoordinate(mesh)
    friction = None
    if exp in ("C", "D"):
        beta2 = geom.beta2(exp, X[0], X[1] if len(X) == 3 else length / 4, length, sin=fd.sin)
        friction = physics.Friction(beta2, 1.0)
    alpha = geom.slope_angle(exp)
    force = physics.body_force(len(X), slope_x=alpha)
    tau = RHO_G * geom.THICKNESS * np.sin(alpha)
    return StokesProblem(mesh, fd.Constant(geom.ARRHENIUS), force, friction=friction,
                         stress_scale=tau)


def surface_profile(problem: StokesProblem, w, length: float, flowline: bool):
    """(x, surface speed) along the reported profile (m, m a-1), gathered on every rank."""
    cols = Columns(problem.mesh)
    surf, _, _ = cols.sample(w.subfunctions[0])
    x = np.mod(cols.xy[:, 0], length)
    speed = np.hypot(surf[:, 0], surf[:, 1]) if surf.shape[1] == 2 else np.abs(surf[:, 0])
    if not flowline:
        on = np.isclose(np.mod(cols.xy[:, 1], length), length / 4, atol=1e-6 * length)
        x, speed = x[on], speed[on]
    comm = problem.mesh.comm
    xs = np.concatenate(comm.allgather(x))
    ss = np.concatenate(comm.allgather(speed))
    order = np.argsort(xs)
    return xs[order], ss[order]


def run_case(exp: str, length_km: float, nx: int | None = None, nz: int | None = None,
             solver: str = "auto", refinement: float = 1.0, picard_steps: int | None = None) -> dict:
    """Run one experiment; return experiment, length_km, max/min/mean surface speed (m a-1,
    along y = L/4 for A/C, the flowline for B/D), dofs, newton_iterations, wall_time_s
    (mesh + solve, s) and the solver report. ``picard_steps``: see ``solver.solve`` (0 with
    the ``naive`` preset reproduces the naive baseline of docs/design.md: Newton from zero,
    LU every step)."""
    exp = exp.upper()
    if exp not in geom.EXPERIMENTS:
        raise InputError(f"unknown ISMIP-HOM experiment '{exp}'; use one of {geom.EXPERIMENTS}")
    flowline = geom.is_flowline(exp)
    nx = nx or DEFAULT_NX["flowline" if flowline else "3d"]
    nz = nz or DEFAULT_NZ
    if not flowline and nx % 4:
        raise InputError(f"nx must be a multiple of 4 for experiment {exp} (profile y = L/4)")
    length = 1000.0 * length_km
    t0 = time.perf_counter()
    problem = build_problem(exp, length, nx, nz, refinement)
    w, report = solve(problem, solver, picard_steps=picard_steps)
    x, speed = surface_profile(problem, w, length, flowline)
    wall = time.perf_counter() - t0
    wall = problem.mesh.comm.allreduce(wall, op=MPI.MAX)
    return {
        "experiment": exp, "length_km": length_km, "nx": nx, "nz": nz,
        "max_surface_speed": float(speed.max()), "min_surface_speed": float(speed.min()),
        "mean_surface_speed": float(speed.mean()),
        "dofs": report["dofs"], "newton_iterations": report["newton_iterations"],
        "picard_iterations": report.get("picard_iterations", 0),
        "linear_iterations": report["linear_iterations"], "solver": report["solver"],
        "ranks": report["ranks"], "final_residual": report["final_residual"],
        "wall_time_s": wall,
    }
