"""Newton solves of the Stokes action on an extruded mesh, and their convergence report.

Discretisation: Taylor-Hood Q2-Q1 on hexahedra (quadrilateral-based extruded meshes; Q2-Q1 on
quadrilaterals for flowlines), inf-sup stable. Quadrature: degree 4 (3 Gauss points per
direction).

Start: a guess when given (the previous snapshot, or a field lifted from 2-D velocities), else
the Stokes problem with the constant-stress viscosity eta0 = tau^(1-n) / (2A) of a
representative stress ``stress_scale`` tau (MPa; e.g. the mean driving stress) and linear
friction of the same strength at ``SLIDING_SCALE``. Then ``picard_steps`` Picard
(frozen-viscosity) solves, and Newton with a line search on the full Glen / Weertman problem
until the residual falls below LOAD_TOLERANCE times the gravity load (options.NEWTON), or the
Newton direction moves no velocity by more than UPDATE_TOLERANCE (all presets but ``naive``).
"""

import time
from dataclasses import dataclass, field

import firedrake as fd
import numpy as np
from firedrake.petsc import PETSc

from glacier.constants import GLEN_N
from glacier.errors import SolverError
from stokes_solver import physics
from stokes_solver.options import solver_parameters

QUADRATURE_DEGREE = 4
PICARD_STEPS = 2
"""Picard (frozen-viscosity) linear solves before Newton when there is no warm start."""
REFACTOR_KRYLOV_ITS = 15
"""Linear iterations above which a reused factorization (``direct`` preset) is renewed at the
next Newton step: a stale factorization costs more in back-substitutions than a fresh one."""
LOAD_TOLERANCE = 1e-8
"""Newton stops when the residual norm falls below this fraction of the norm of the gravity
load (the assembled body force), whatever the start."""
UPDATE_TOLERANCE = 1e-3
"""Newton also stops when its direction moves no velocity by more than this (m a-1): the
Newton direction at an iterate estimates that iterate's error, so the error left after the
step is below UPDATE_TOLERANCE, and of order UPDATE_TOLERANCE^2 / speed after a full step.
Spares the last step or two, whose updates measured 1e-4 and 1e-6 m a-1 on a glacier."""
SLIDING_SCALE = 10.0
"""Reference sliding speed (m a-1) at which the Picard start linearises the friction law."""

_SNES_REASONS = {getattr(PETSc.SNES.ConvergedReason, k): k
                 for k in dir(PETSc.SNES.ConvergedReason) if not k.startswith("_")}


@dataclass
class StokesProblem:
    """A Stokes flow problem on an extruded ``mesh`` (last coordinate = elevation, m).

    ``arrhenius`` A (MPa^-3 a^-1) and ``body_force`` rho g (MPa m-1) are UFL expressions.
    ``friction`` None means no slip at the bed (u = 0 on "bottom"); a Friction means Weertman
    sliding with impenetrability on the unit normal ``bed_normal`` (a continuous field; None:
    the facet normal). ``walls``: ids of the lateral boundaries where u = 0 (the
    others are stress free, as are periodic meshes). ``stress_scale`` (MPa) sets the Picard
    start.
    """

    mesh: object
    arrhenius: object
    body_force: object
    friction: physics.Friction | None = None
    walls: tuple = ()
    bed_normal: object = None
    stress_scale: float = 0.1
    n: float = GLEN_N
    spaces: tuple = field(init=False)
    newton: dict = field(init=False, repr=False)
    """Per preset, the Newton solver of this problem and the Function it solves for, kept for
    the next solve (see ``solve``)."""

    def __post_init__(self):
        V = fd.VectorFunctionSpace(self.mesh, "CG", 2)
        Q = fd.FunctionSpace(self.mesh, "CG", 1)
        self.spaces = (V, Q, V * Q)
        self.newton = {}

    @property
    def function_space(self):
        return self.spaces[2]

    def normal(self):
        """The bed normal of the friction and impenetrability terms."""
        return fd.FacetNormal(self.mesh) if self.bed_normal is None else self.bed_normal

    def measures(self):
        md = {"quadrature_degree": QUADRATURE_DEGREE}
        return fd.dx(metadata=md), fd.ds_b(metadata=md)

    def boundary_conditions(self):
        Z = self.function_space
        bcs = []
        if self.friction is None:
            bcs.append(fd.DirichletBC(Z.sub(0), 0, "bottom"))
        if self.walls:
            bcs.append(fd.DirichletBC(Z.sub(0), 0, self.walls))
        return bcs

    def residual(self, w, picard=False, frozen=None):
        """The weak form dL/dw; with ``frozen`` (a velocity Function, or None for the first
        step) the Picard problem whose viscosity and friction are those of ``frozen``."""
        u, p = fd.split(w)
        dx, ds_bed = self.measures()
        friction, viscous = self.friction, None
        if picard:
            viscous = physics.linear_dissipation(u, self.picard_viscosity(frozen))
            if friction is not None:
                friction = physics.Friction(self.picard_friction(frozen), 1.0)
        L = physics.action(u, p, self.arrhenius, self.body_force, dx=dx, ds_bed=ds_bed,
                           friction=friction, n=self.n, viscous=viscous,
                           bed_normal=self.bed_normal)
        return fd.derivative(L, w)

    def picard_viscosity(self, frozen):
        """Glen viscosity of ``frozen`` (MPa a), or the constant-stress viscosity
        tau^(1-n) / (2A) of ``stress_scale`` when there is none yet (the first step)."""
        if frozen is None:
            return fd.Constant(self.stress_scale) ** (1 - self.n) / (2 * self.arrhenius)
        return physics.viscosity(frozen, self.arrhenius, self.n)

    def picard_friction(self, frozen):
        """Linear friction coefficient c |u_t|^(1/m-1) of ``frozen`` (MPa a m-1), at the speed
        SLIDING_SCALE on the first step."""
        m = self.friction.exponent
        if frozen is None:
            return self.friction.coefficient * SLIDING_SCALE ** (1 / m - 1)
        u_t = physics.tangential(frozen, self.normal())
        speed2 = fd.inner(u_t, u_t) + physics.SLIDING_SPEED_MIN ** 2
        return self.friction.coefficient * speed2 ** ((1 / m - 1) / 2)

    def rigid_body_modes(self):
        """Near-null space of the velocity block (translations and rotations) for GAMG."""
        V = self.spaces[0]
        x = fd.SpatialCoordinate(self.mesh)
        dim = len(x)
        if dim == 2:
            modes = [fd.as_vector([1, 0]), fd.as_vector([0, 1]), fd.as_vector([-x[1], x[0]])]
        else:
            modes = [fd.as_vector(e) for e in np.eye(3)] + [
                fd.as_vector([-x[1], x[0], 0]), fd.as_vector([-x[2], 0, x[0]]),
                fd.as_vector([0, -x[2], x[1]])]
        basis = fd.VectorSpaceBasis([fd.Function(V).interpolate(m) for m in modes])
        basis.orthonormalize()
        return fd.MixedVectorSpaceBasis(self.function_space, [basis, self.function_space.sub(1)])


def _refactor_when_slow(snes, its, fnorm):
    """SNES monitor: when the last linear solve (GMRES on a reused factorization) took more than
    REFACTOR_KRYLOV_ITS iterations, factor the next Jacobian afresh."""
    ksp = snes.getKSP()
    if its > 0 and ksp.getIterationNumber() > REFACTOR_KRYLOV_ITS:
        ksp.getPC().reset()


def _velocity_update_test(velocity_is):
    """SNES convergence test: PETSc's absolute residual test and UPDATE_TOLERANCE on the velocity
    block ``velocity_is`` of the last Newton direction (the ``l2`` line search leaves the full
    direction in the update vector, whatever step length it took, so a stalled line search is
    never taken for convergence). The iteration limit is applied by SNES after the test."""
    Reason = PETSc.SNES.ConvergedReason

    def test(snes, it, norms):
        fnorm = norms[2]
        if not np.isfinite(fnorm):
            return Reason.DIVERGED_FUNCTION_NANORINF
        if fnorm < snes.getTolerances()[1]:
            return Reason.CONVERGED_FNORM_ABS
        if it > 0:
            direction = snes.getSolutionUpdate().getSubVector(velocity_is)
            step = direction.norm(PETSc.NormType.INFINITY)
            snes.getSolutionUpdate().restoreSubVector(velocity_is, direction)
            if step <= UPDATE_TOLERANCE:
                return Reason.CONVERGED_SNORM_RELATIVE
        return Reason.ITERATING

    return test


def _nonlinear_solver(problem: StokesProblem, w, F, params, preset):
    u, _ = fd.split(w)
    nvp = fd.NonlinearVariationalProblem(F, w, bcs=problem.boundary_conditions())
    kwargs = {}
    if preset == "scalable":
        kwargs = {"near_nullspace": problem.rigid_body_modes(),
                  "appctx": {"mu": physics.viscosity(u, problem.arrhenius, problem.n)}}
    solver = fd.NonlinearVariationalSolver(nvp, solver_parameters=params,
                                           options_prefix="stokes_", **kwargs)
    if params.get("snes_lag_preconditioner", 1) != 1:
        solver.snes.setMonitor(_refactor_when_slow)
    if preset != "naive":
        velocity = problem.function_space.dof_dset.field_ises[0]
        solver.snes.setConvergenceTest(_velocity_update_test(velocity))
    return solver


def _run(problem: StokesProblem, w, F, params, preset):
    return _iterate(_nonlinear_solver(problem, w, F, params, preset))


def _iterate(solver):
    """Run a NonlinearVariationalSolver from its current iterate; its convergence summary."""
    solver.snes.setConvergenceHistory()
    try:
        solver.solve()
    except fd.ConvergenceError:
        pass
    snes = solver.snes
    history = np.array(snes.getConvergenceHistory()[0])
    return {
        "reason": _SNES_REASONS.get(snes.getConvergedReason(), str(snes.getConvergedReason())),
        "converged": bool(snes.getConvergedReason() > 0),
        "iterations": int(snes.getIterationNumber()),
        "linear_iterations": int(snes.getLinearSolveIterations()),
        "residual_norms": [float(r) for r in history],
    }


def solve(problem: StokesProblem, solver: str = "auto", guess=None, picard_steps=None):
    """Solve ``problem``; return the mixed solution Function (u in m a-1, p in MPa) and a
    report dict (converged, snes_reason, newton_iterations, picard_iterations,
    linear_iterations, residual norms, wall_time_s, dofs, solver, and factorization: ``new``
    or ``inherited`` from the previous solve of this problem). ``guess``: a mixed Function
    to start from (warm start). ``picard_steps``: frozen-viscosity linear solves before Newton,
    the first frozen at the guess (at ``stress_scale`` without one); default PICARD_STEPS
    without a guess, none with one.

    ``solver="auto"`` takes the preset that ``options.solver_parameters`` gives for the size
    and the bed; when that is ``scalable`` and it fails, the solve is repeated with ``direct``
    and the report's ``fallback`` says why.

    Raises SolverError (with the report) when Newton does not converge.
    """
    preset, _ = solver_parameters(solver, problem.function_space.dim(),
                                  sliding=problem.friction is not None)
    try:
        return _solve(problem, preset, guess, picard_steps)
    except SolverError as error:
        if solver != "auto" or preset != "scalable":
            raise
        problem.newton.pop("scalable", None)  # keep no failed solver (and its hierarchy)
        w, report = _solve(problem, "direct", guess, picard_steps)
        report["fallback"] = f"scalable failed ({error}); solved again with direct"
        return w, report


def _newton(problem: StokesProblem, w, params, preset, report):
    """Newton on the full problem from ``w`` (updated in place), with the solver kept in
    ``problem.newton``: a later solve of the same problem (the next snapshot on a reused mesh)
    starts with the factorization of the ``direct`` preset left by this one. If a solve that
    began with an inherited factorization fails, it is repeated once with a fresh one."""
    kept = preset in problem.newton
    if not kept:
        iterate = fd.Function(problem.function_space, name="newton_iterate")
        problem.newton[preset] = (iterate, _nonlinear_solver(
            problem, iterate, problem.residual(iterate), params, preset))
    iterate, solver = problem.newton[preset]
    solver.snes.setTolerances(atol=params["snes_atol"])
    iterate.assign(w)
    result = _iterate(solver)
    report["factorization"] = "inherited" if kept else "new"
    if kept and not result["converged"]:
        report["factorization"] = f"inherited, failed ({result['reason']}), renewed"
        solver.snes.getKSP().getPC().reset()
        iterate.assign(w)
        result = _iterate(solver)
    w.assign(iterate)
    return result


def _solve(problem: StokesProblem, preset: str, guess, picard_steps):
    t0 = time.perf_counter()
    Z = problem.function_space
    dofs = Z.dim()
    preset, params = solver_parameters(preset, dofs)
    v = fd.TestFunction(problem.spaces[0])
    load = fd.assemble(fd.inner(problem.body_force, v) * problem.measures()[0])
    with load.dat.vec_ro as vec:
        load_norm = vec.norm()
    params["snes_atol"] = LOAD_TOLERANCE * load_norm
    w = fd.Function(Z, name="velocity_pressure")
    report = {"solver": preset, "dofs": int(dofs), "discretisation": "Q2-Q1 Taylor-Hood",
              "ranks": Z.mesh().comm.size, "absolute_tolerance": params["snes_atol"]}
    if picard_steps is None:
        picard_steps = 0 if guess is not None else PICARD_STEPS
    frozen = None
    if guess is not None:
        w.assign(guess)
        frozen = fd.Function(problem.spaces[0]).assign(guess.subfunctions[0])
    for step in range(picard_steps):
        start = _run(problem, w, problem.residual(w, picard=True, frozen=frozen), params, preset)
        if not start["converged"]:
            report.update(converged=False, snes_reason=start["reason"],
                          wall_time_s=time.perf_counter() - t0)
            raise SolverError(f"Stokes Picard step {step} did not converge "
                              f"({start['reason']})", report)
        if frozen is None:
            frozen = fd.Function(problem.spaces[0])
        frozen.assign(w.subfunctions[0])
    report["start"] = "warm" if guess is not None else "picard"
    report["picard_iterations"] = picard_steps
    result = _newton(problem, w, params, preset, report)
    report.update(converged=result["converged"], snes_reason=result["reason"],
                  newton_iterations=result["iterations"],
                  linear_iterations=result["linear_iterations"],
                  initial_residual=result["residual_norms"][0] if result["residual_norms"] else None,
                  final_residual=result["residual_norms"][-1] if result["residual_norms"] else None,
                  residual_norms=result["residual_norms"],
                  wall_time_s=time.perf_counter() - t0)
    if not result["converged"]:
        raise SolverError(f"Stokes Newton solve did not converge ({result['reason']} after "
                          f"{result['iterations']} iterations)", report)
    return w, report
