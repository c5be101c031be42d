"""Solves of a ``problem.StokesProblem``: Picard steps, then Newton, as one PETSc SNES, and the
convergence report.

Start: a guess when given (the previous snapshot, or a field lifted from 2-D velocities), else
rest (u = 0, p = 0). Then ``picard_steps`` Picard (frozen-viscosity) steps, the first from rest
at the constant-stress viscosity eta0 = tau^(1-n) / (2A) of a representative stress
``stress_scale`` tau (MPa; e.g. the mean driving stress) and linear friction of the same
strength at ``options.SLIDING_SCALE``; then Newton with a line search on the full Glen /
Weertman problem until the residual falls below ``load_tolerance`` times the gravity load
(options.NEWTON), or the Newton direction moves no velocity by more than ``update_tolerance``
or ``update_rtol`` times the largest speed (all presets but ``naive``), the controls of
``options.NewtonSettings``. Picard and Newton steps are iterations of one PETSc SNES that
switches its Jacobian form (``StokesProblem.stepping_jacobian``): a monitor sets the form's
weights before each iteration and tells SNES when to assemble and factor it afresh, so a solve
allocates one matrix and, with ``direct``, analyses its sparsity for the factorization once.
"""

import ctypes
import functools
import os
import time
from dataclasses import dataclass

import firedrake as fd
import numpy as np
import petsc4py
from firedrake.petsc import PETSc
from threadpoolctl import threadpool_limits

from glacier.errors import InputError, SolverError
from stokes_solver import physics
from stokes_solver.options import NewtonSettings, solver_parameters
from stokes_solver.problem import StokesProblem

_SNES_REASONS = {getattr(PETSc.SNES.ConvergedReason, k): k
                 for k in dir(PETSc.SNES.ConvergedReason) if not k.startswith("_")}


@dataclass
class _Schedule:
    """What the current solve asks of a kept nonlinear solver: ``picard_steps`` Picard steps
    first, the first of them at the constant viscosity when ``cold`` (no guess), and the
    controls ``settings``."""

    picard_steps: int = 0
    cold: bool = False
    settings: NewtonSettings = NewtonSettings()


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
    ``schedule.picard_steps`` iterations are Picard steps (the first one at the constant
    viscosity when ``schedule.cold``), the rest Newton steps (see
    ``StokesProblem.stepping_jacobian``). With a ``lagged`` Jacobian (``direct``), it is
    assembled and factored afresh at each Picard step, at the first Newton step after them,
    and when the last linear solve took more than ``schedule.settings.refactor_krylov_its``
    iterations on the reused factorization; a warm Newton solve starts with the previous
    solve's factorization."""
    constant_start, newton_weight = weights

    def monitor(snes, it, fnorm):
        steps = schedule.picard_steps
        constant_start.assign(1.0 if it == 0 and steps and schedule.cold else 0.0)
        newton_weight.assign(0.0 if it < steps else 1.0)
        slow = it > 0 and \
            snes.getKSP().getIterationNumber() > schedule.settings.refactor_krylov_its
        if lagged and ((steps and it <= steps) or slow):
            _rebuild_jacobian(snes)

    return monitor


def _velocity_update_test(velocity_is, schedule):
    """SNES convergence test: PETSc's absolute residual test and, after a Newton step, the
    velocity-update test on the velocity block ``velocity_is`` of its direction: no velocity
    moved by more than max(update_tolerance, update_rtol * largest speed) of
    ``schedule.settings`` (the ``l2`` line
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
        if it > schedule.picard_steps:
            settings = schedule.settings
            bound = max(settings.update_tolerance,
                        settings.update_rtol * largest(snes.getSolution()))
            if largest(snes.getSolutionUpdate()) <= bound:
                return Reason.CONVERGED_SNORM_RELATIVE
        return Reason.ITERATING

    return test


@dataclass
class _Stepper:
    """The one nonlinear solver of a problem and preset, kept for its later solves: Picard
    steps then Newton on the Function ``iterate``, with the iteration kinds and controls of
    the current solve in ``schedule`` (updated in place by each solve); ``lagged``: its
    Jacobian (and factorization) is kept across iterations and solves (``direct``)."""

    iterate: object
    solver: object
    schedule: _Schedule
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
    schedule = _Schedule()
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
          threads: int = 1, settings: NewtonSettings = NewtonSettings()):
    """Solve ``problem``; return the mixed solution Function (u in m a-1, p in MPa) and a
    report dict (converged, snes_reason, newton_iterations, picard_iterations,
    linear_iterations, residual norms, wall_time_s, dofs, solver, and factorization: ``new``
    or ``inherited`` from the previous solve of this problem). ``guess``: a mixed Function
    to start from (warm start). ``picard_steps``: frozen-viscosity steps before Newton, the
    first frozen at the guess (at ``stress_scale`` without one); default
    ``settings.picard_steps`` without a guess, none with one. ``threads``: BLAS threads of this
    solve (MUMPS's dense frontal matrices; Firedrake sets 1 at import, right when each core
    runs its own solve). ``settings``: the stopping and refactorization controls.
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
        picard_steps = 0 if guess is not None or preset == "naive" else settings.picard_steps
    if preset == "naive" and picard_steps:
        raise InputError("the naive Stokes preset is Newton from the start; it takes no "
                         f"Picard steps (picard_steps={picard_steps})")
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    with threadpool_limits(limits=threads, user_api="blas"):
        try:
            w, report = _solve(problem, preset, guess, picard_steps, settings)
        except SolverError as error:
            if solver != "auto" or preset != "scalable":
                raise
            problem.newton.pop("scalable", None)  # keep no failed solver (and its hierarchy)
            w, report = _solve(problem, "direct", guess, picard_steps, settings)
            report["fallback"] = f"scalable failed ({error}); solved again with direct"
    report["blas_threads"] = threads
    return w, report


def _solve(problem: StokesProblem, preset: str, guess, picard_steps,
           settings: NewtonSettings):
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
    params["snes_atol"] = settings.load_tolerance * load_norm
    report = {"solver": preset, "dofs": int(dofs), "discretisation": "Q2-Q1 Taylor-Hood",
              "ranks": Z.mesh().comm.size, "absolute_tolerance": params["snes_atol"],
              "start": "warm" if guess is not None else "picard"}
    kept = preset in problem.newton
    if not kept:
        problem.newton[preset] = _stepper(problem, params, preset)
    stepper = problem.newton[preset]
    schedule = stepper.schedule  # in place: the monitor and the convergence test hold it
    schedule.picard_steps, schedule.cold, schedule.settings = picard_steps, guess is None, settings
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
