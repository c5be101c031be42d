"""Newton solves of the Stokes action on an extruded mesh, and their convergence report.

Discretisation: Taylor-Hood Q2-Q1 on hexahedra (quadrilateral-based extruded meshes; Q2-Q1 on
quadrilaterals for flowlines), inf-sup stable. Quadrature: degree 4 (3 Gauss points per
direction).

Start: a guess when given (the previous snapshot, or a field lifted from 2-D velocities), else
rest (u = 0, p = 0). Then ``picard_steps`` Picard (frozen-viscosity) steps, the first from rest
at the constant-stress viscosity eta0 = tau^(1-n) / (2A) of a representative stress
``stress_scale`` tau (MPa; e.g. the mean driving stress) and linear friction of the same
strength at ``SLIDING_SCALE``; then Newton with a line search on the full Glen / Weertman
problem until the residual falls below LOAD_TOLERANCE times the gravity load
(options.NEWTON), or the Newton direction moves no velocity by more than UPDATE_TOLERANCE or
UPDATE_RTOL times the largest speed (all presets but ``naive``). Picard and Newton steps are
iterations of one PETSc SNES that switches its Jacobian form
(``StokesProblem.stepping_jacobian``), so a solve allocates one matrix and, with ``direct``,
analyses its sparsity for the factorization once.
"""

import ctypes
import functools
import os
import time
from dataclasses import dataclass, field

import firedrake as fd
import numpy as np
import petsc4py
import ufl
from firedrake.petsc import PETSc
from threadpoolctl import threadpool_limits
from ufl.algorithms import expand_derivatives

from glacier.constants import GLEN_N
from glacier.errors import InputError, SolverError
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
"""Newton also stops when its direction moves no velocity by more than this (m a-1), or by
more than UPDATE_RTOL times the largest speed of the iterate, whichever is larger. The Newton
direction at an iterate estimates that iterate's error, so the error left after the step is
below that bound, and of order bound^2 / speed after a full step in Newton's quadratic phase."""
UPDATE_RTOL = 1e-4
"""Relative part of the velocity-update test: 0.1 m a-1 on a glacier whose fastest node moves at
1000 m a-1, where the step before (measured 0.04 m a-1 on the steep test glacier) leaves an
error of ~1e-6 m a-1, and no change from UPDATE_TOLERANCE at the ~10 m a-1 of ISMIP-HOM."""
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
    """Per preset, the nonlinear solver of this problem (a ``_Stepper``), kept for the next
    solve (see ``solve``)."""

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

    def residual(self, w):
        """The weak form dL/dw of the Glen / Weertman problem (MPa m^2 in 3-D, MPa m on a
        flowline)."""
        u, p = fd.split(w)
        dx, ds_bed = self.measures()
        return fd.derivative(physics.action(
            u, p, self.arrhenius, self.body_force, dx=dx, ds_bed=ds_bed, friction=self.friction,
            n=self.n, bed_normal=self.bed_normal), w)

    def stepping_jacobian(self, w, constant_start, newton_weight):
        """The bilinear form each nonlinear iteration solves with (and ``direct`` factors): the
        Picard operator A(u) of the iterate u (its Glen viscosity and linearised friction; with
        ``constant_start`` = 1, those of ``stress_scale`` and SLIDING_SCALE) plus
        ``newton_weight`` times the rest of the Newton Jacobian of ``residual``. The weights are
        Constants set per iteration: (1, 0) the first Picard step from rest, (0, 0) a Picard
        step, (0, 1) a Newton step. A Picard step solves A(u_k) du = -F(u_k) = f - A(u_k) u_k,
        so u_k + du is the frozen-viscosity solution; all steps share one matrix, its sparsity
        and its symbolic factorization.

        Built as the second derivative of an action whose linearised terms take their
        viscosity and friction from a placeholder velocity, which is then replaced by u.
        """
        u, p = fd.split(w)
        frozen = fd.Function(self.spaces[0])
        s, t = constant_start, newton_weight

        def linearised(coefficient):
            return s * coefficient(None) + (1 - s) * coefficient(frozen), coefficient(frozen)

        eta, eta_u = linearised(self.picard_viscosity)
        viscous = physics.linear_dissipation(u, eta - t * eta_u) + \
            t * physics.viscous_dissipation(u, self.arrhenius, self.n)
        basal = None
        if self.friction is not None:
            beta, beta_u = linearised(self.picard_friction)

            def basal(u_t):
                return 0.5 * (beta - t * beta_u) * fd.inner(u_t, u_t) + \
                    t * physics.friction_dissipation(u_t, self.friction)

        dx, ds_bed = self.measures()
        action = physics.action(u, p, self.arrhenius, self.body_force, dx=dx, ds_bed=ds_bed,
                                friction=self.friction, n=self.n, viscous=viscous, basal=basal,
                                bed_normal=self.bed_normal)
        hessian = expand_derivatives(fd.derivative(fd.derivative(action, w), w))
        return ufl.replace(hessian, {frozen: u})

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


@functools.cache
def _libpetsc():
    config = petsc4py.get_config()
    return ctypes.CDLL(os.path.join(config["PETSC_DIR"], config["PETSC_ARCH"], "lib",
                                    "libpetsc.so"))


def _rebuild_jacobian(snes):
    """SNESSetLagJacobian(snes, -2), which petsc4py does not wrap: assemble (and factor) the
    Jacobian at the next iteration, then reuse it until told again."""
    error = _libpetsc().SNESSetLagJacobian(ctypes.c_void_p(snes.handle), ctypes.c_int(-2))
    if error:
        raise RuntimeError(f"SNESSetLagJacobian failed with PETSc error {error}")


def _step_monitor(weights, schedule, lagged):
    """SNES monitor, called before each iteration's Jacobian: the first
    ``schedule["picard_steps"]`` iterations are Picard steps (the first one at the constant
    viscosity when ``schedule["cold"]``), the rest Newton steps (see
    ``StokesProblem.stepping_jacobian``). With a ``lagged`` Jacobian (``direct``), it is
    assembled and factored afresh at each Picard step, at the first Newton step after them,
    and when the last linear solve took more than REFACTOR_KRYLOV_ITS iterations on the
    reused factorization; a warm Newton solve starts with the previous solve's factorization."""
    constant_start, newton_weight = weights

    def monitor(snes, it, fnorm):
        steps = schedule["picard_steps"]
        constant_start.assign(1.0 if it == 0 and steps and schedule["cold"] else 0.0)
        newton_weight.assign(0.0 if it < steps else 1.0)
        slow = it > 0 and snes.getKSP().getIterationNumber() > REFACTOR_KRYLOV_ITS
        if lagged and ((steps and it <= steps) or slow):
            _rebuild_jacobian(snes)

    return monitor


def _velocity_update_test(velocity_is, schedule):
    """SNES convergence test: PETSc's absolute residual test and, after a Newton step, the
    velocity-update test on the velocity block ``velocity_is`` of its direction: no velocity
    moved by more than max(UPDATE_TOLERANCE, UPDATE_RTOL * largest speed) (the ``l2`` line
    search leaves the full direction in the update vector, whatever step length it took, so a
    stalled line search is never taken for convergence; a small Picard step proves nothing).
    The iteration limit is applied by SNES after the test."""
    Reason = PETSc.SNES.ConvergedReason

    def largest(vec):
        block = vec.getSubVector(velocity_is)
        value = block.norm(PETSc.NormType.INFINITY)
        vec.restoreSubVector(velocity_is, block)
        return value

    def test(snes, it, norms):
        fnorm = norms[2]
        if not np.isfinite(fnorm):
            return Reason.DIVERGED_FUNCTION_NANORINF
        if fnorm < snes.getTolerances()[1]:
            return Reason.CONVERGED_FNORM_ABS
        if it > schedule["picard_steps"]:
            bound = max(UPDATE_TOLERANCE, UPDATE_RTOL * largest(snes.getSolution()))
            if largest(snes.getSolutionUpdate()) <= bound:
                return Reason.CONVERGED_SNORM_RELATIVE
        return Reason.ITERATING

    return test


@dataclass
class _Stepper:
    """The one nonlinear solver of a problem and preset, kept for its later solves: Picard
    steps then Newton on the Function ``iterate``, with the iteration kinds of the current
    solve in ``schedule``; ``lagged``: its Jacobian (and factorization) is kept across
    iterations and solves (``direct``)."""

    iterate: object
    solver: object
    schedule: dict
    lagged: bool


def _stepper(problem: StokesProblem, params, preset) -> _Stepper:
    """``naive`` differentiates the residual as Firedrake does by default, and takes no
    Picard step; the others solve with ``StokesProblem.stepping_jacobian``."""
    iterate = fd.Function(problem.function_space, name="stokes_iterate")
    weights = (fd.Constant(0.0), fd.Constant(1.0))
    J = None if preset == "naive" else problem.stepping_jacobian(iterate, *weights)
    nvp = fd.NonlinearVariationalProblem(problem.residual(iterate), iterate, J=J,
                                         bcs=problem.boundary_conditions())
    kwargs = {}
    if preset == "scalable":
        u, _ = fd.split(iterate)
        kwargs = {"near_nullspace": problem.rigid_body_modes(),
                  "appctx": {"mu": physics.viscosity(u, problem.arrhenius, problem.n)}}
    solver = fd.NonlinearVariationalSolver(nvp, solver_parameters=params,
                                           options_prefix="stokes_", **kwargs)
    schedule = {"picard_steps": 0, "cold": False}
    lagged = params.get("snes_lag_jacobian", 1) != 1
    if preset != "naive":
        solver.snes.setMonitor(_step_monitor(weights, schedule, lagged))
        velocity = problem.function_space.dof_dset.field_ises[0]
        solver.snes.setConvergenceTest(_velocity_update_test(velocity, schedule))
    return _Stepper(iterate, solver, schedule, lagged)


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


def solve(problem: StokesProblem, solver: str = "auto", guess=None, picard_steps=None,
          threads: int = 1):
    """Solve ``problem``; return the mixed solution Function (u in m a-1, p in MPa) and a
    report dict (converged, snes_reason, newton_iterations, picard_iterations,
    linear_iterations, residual norms, wall_time_s, dofs, solver, and factorization: ``new``
    or ``inherited`` from the previous solve of this problem). ``guess``: a mixed Function
    to start from (warm start). ``picard_steps``: frozen-viscosity steps before Newton, the
    first frozen at the guess (at ``stress_scale`` without one); default PICARD_STEPS
    without a guess, none with one. ``threads``: BLAS threads of this solve (MUMPS's dense
    frontal matrices; Firedrake sets 1 at import, right when each core runs its own solve).
    All steps are iterations of one nonlinear solver, kept
    in ``problem.newton`` for the next solve of the problem (the next snapshot on a reused
    mesh starts with the factorization of the ``direct`` preset left by this one).

    ``solver="auto"`` takes the preset that ``options.solver_parameters`` gives for the size
    and the bed; when that is ``scalable`` and it fails, the solve is repeated with ``direct``
    and the report's ``fallback`` says why. ``"naive"`` is Newton from the start, with no
    Picard step.

    Raises SolverError (with the report) when the solve does not converge, InputError when
    Picard steps are asked of ``naive``.
    """
    preset, _ = solver_parameters(solver, problem.function_space.dim(),
                                  sliding=problem.friction is not None)
    if picard_steps is None:
        picard_steps = 0 if guess is not None or preset == "naive" else PICARD_STEPS
    if preset == "naive" and picard_steps:
        raise InputError("the naive Stokes preset is Newton from the start; it takes no "
                         f"Picard steps (picard_steps={picard_steps})")
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    with threadpool_limits(limits=threads, user_api="blas"):
        try:
            w, report = _solve(problem, preset, guess, picard_steps)
        except SolverError as error:
            if solver != "auto" or preset != "scalable":
                raise
            problem.newton.pop("scalable", None)  # keep no failed solver (and its hierarchy)
            w, report = _solve(problem, "direct", guess, picard_steps)
            report["fallback"] = f"scalable failed ({error}); solved again with direct"
    report["blas_threads"] = threads
    return w, report


def _solve(problem: StokesProblem, preset: str, guess, picard_steps):
    """Picard steps and Newton from ``guess`` (zero without one) with the problem's kept
    stepper; if a warm solve that began with the previous solve's factorization fails, it is
    repeated once with a fresh one."""
    t0 = time.perf_counter()
    Z = problem.function_space
    dofs = Z.dim()
    preset, params = solver_parameters(preset, dofs)
    v = fd.TestFunction(problem.spaces[0])
    load = fd.assemble(fd.inner(problem.body_force, v) * problem.measures()[0])
    with load.dat.vec_ro as vec:
        load_norm = vec.norm()
    params["snes_atol"] = LOAD_TOLERANCE * load_norm
    report = {"solver": preset, "dofs": int(dofs), "discretisation": "Q2-Q1 Taylor-Hood",
              "ranks": Z.mesh().comm.size, "absolute_tolerance": params["snes_atol"],
              "start": "warm" if guess is not None else "picard"}
    kept = preset in problem.newton
    if not kept:
        problem.newton[preset] = _stepper(problem, params, preset)
    stepper = problem.newton[preset]
    stepper.schedule.update(picard_steps=picard_steps, cold=guess is None)
    stepper.solver.snes.setTolerances(atol=params["snes_atol"])
    inherited = kept and picard_steps == 0 and stepper.lagged
    report["factorization"] = "inherited" if inherited else "new"

    def run():
        if guess is None:
            stepper.iterate.zero()
        else:
            stepper.iterate.assign(guess)
        return _iterate(stepper.solver)

    result = run()
    if inherited and not result["converged"]:
        report["factorization"] = f"inherited, failed ({result['reason']}), renewed"
        _rebuild_jacobian(stepper.solver.snes)
        result = run()
    picard = min(picard_steps, result["iterations"])
    norms = result["residual_norms"]
    report.update(converged=result["converged"], snes_reason=result["reason"],
                  picard_iterations=picard, newton_iterations=result["iterations"] - picard,
                  linear_iterations=result["linear_iterations"],
                  initial_residual=norms[0] if norms else None,
                  final_residual=norms[-1] if norms else None, residual_norms=norms,
                  wall_time_s=time.perf_counter() - t0)
    if not result["converged"]:
        raise SolverError(f"Stokes solve did not converge ({result['reason']} after "
                          f"{picard} Picard and {result['iterations'] - picard} Newton "
                          "iterations)", report)
    w = fd.Function(Z, name="velocity_pressure")
    w.assign(stepper.iterate)
    return w, report
