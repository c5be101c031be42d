"""The inclined slab: the exact solution every Stokes solver must reproduce.

A slab of thickness H on a bed inclined by alpha, infinite along the slope, solved as a
periodic flowline in the frame tilted by alpha (gravity rho g (sin alpha, -cos alpha)). Force
balance gives the shear stress tau_xz = rho g sin(alpha) (s - z) and zero deviatoric normal
stresses, hence the hydrostatic pressure p = rho g cos(alpha) (s - z). Glen's law
du/dz = 2 A tau_xz^n integrates to

    u(z) = u_b + 2A/(n+1) (rho g sin alpha)^n [H^(n+1) - (s - z)^(n+1)],

so u_s = 2A/(n+1) (rho g sin alpha)^n H^(n+1) + u_b, with u_b = 0 under no slip and
u_b = tau_b / beta^2 = rho g H sin(alpha) / beta^2 under linear friction.

The profile is a polynomial of degree n + 1 = 4 in z, which Q2 (piecewise quadratic) does not
hold, so the computed surface speed carries a discretisation error that shrinks with the layer
thickness (measured rate: see tests/test_stokes_slab.py).
"""

import firedrake as fd
import numpy as np
from mpi4py import MPI

from glacier.constants import GLEN_N, RHO_G
from stokes_solver import physics
from stokes_solver.columns import Columns
from stokes_solver.mesh import extrude
from stokes_solver.problem import StokesProblem
from stokes_solver.solver import solve


def exact_surface_speed(arrhenius, thickness, slope, beta2=None, n=GLEN_N):
    """u_s (m a-1) of the slab: A (MPa^-3 a^-1), H (m), alpha (rad), beta^2 (MPa a m-1)."""
    tau_b = RHO_G * thickness * np.sin(slope)
    sliding = 0.0 if beta2 is None else tau_b / beta2
    return 2 * arrhenius / (n + 1) * (RHO_G * np.sin(slope)) ** n * thickness ** (n + 1) + sliding


def solve_slab(layers: int, beta2: float | None = None, arrhenius: float = 100.0,
               thickness: float = 500.0, slope_deg: float = 3.0, columns: int = 4,
               refinement: float = 1.0, solver: str = "direct") -> dict:
    """Solve the slab with ``layers`` layers; return the computed and exact surface speed
    (m a-1), their relative error, the relative max error of the pressure against
    hydrostatic, the basal speed and the solver report."""
    slope = np.deg2rad(slope_deg)
    length = columns * thickness
    base = fd.PeriodicIntervalMesh(columns, length)
    mesh = extrude(base, layers, lambda x: np.zeros_like(x), lambda x: np.full_like(x, thickness),
                   refinement)
    friction = None if beta2 is None else physics.Friction(fd.Constant(beta2), 1.0)
    problem = StokesProblem(mesh, fd.Constant(arrhenius), physics.body_force(2, slope),
                            friction=friction, stress_scale=RHO_G * thickness * np.sin(slope))
    w, report = solve(problem, solver)
    u, p = w.subfunctions
    surf, base_u, _ = Columns(mesh).sample(u)
    exact = exact_surface_speed(arrhenius, thickness, slope, beta2)
    z = fd.SpatialCoordinate(mesh)[1]
    p_exact = fd.Function(p.function_space()).interpolate(RHO_G * np.cos(slope) * (thickness - z))
    p_err = mesh.comm.allreduce(float(np.abs(p.dat.data_ro - p_exact.dat.data_ro).max(initial=0)),
                                op=MPI.MAX)
    surface_speed = float(np.mean(surf[:, 0]))
    return {
        "layers": layers, "beta2": beta2, "surface_speed": surface_speed,
        "exact_surface_speed": float(exact),
        "relative_error": abs(surface_speed - exact) / exact,
        "pressure_relative_error": p_err / (RHO_G * np.cos(slope) * thickness),
        "basal_speed": float(np.mean(base_u[:, 0])),
        "report": report,
    }
