"""Every setting of the Stokes solver, in one place: the controls of the Picard and Newton
iterations (``NewtonSettings``), the two constants fixed in the problem's forms
(``QUADRATURE_DEGREE``, ``SLIDING_SCALE``), and the PETSc options of the presets.

Two presets for the linear solves inside Newton's method:

``direct``
    MUMPS LDL^T factorization of the whole Taylor-Hood saddle-point Jacobian, reused as the
    preconditioner of GMRES in later Newton steps and in the next solve of the same problem,
    and renewed only when GMRES needs more than ``NewtonSettings.refactor_krylov_its``
    iterations. Robust; the fastest here up to a few 10^5 DOFs.
``scalable``
    FGMRES preconditioned by a Schur-complement fieldsplit: algebraic multigrid (PETSc GAMG,
    with the rigid-body modes as near-null space) on the velocity block, and on the Schur
    complement the pressure mass matrix weighted by 1/viscosity (``firedrake.MassInvPC``), the
    spectrally equivalent approximation for variable-viscosity Stokes. The linear tolerance
    follows Eisenstat-Walker (inexact Newton).

``naive``
    The naive baseline of docs/design.md, kept to measure speed-ups against: Firedrake's
    default direct solve, a fresh MUMPS LU at every Newton step (no Krylov iterations);
    ``solver.solve`` with ``picard_steps=0`` starts it from zero. Never chosen by ``"auto"``.

``solver_parameters(preset, dofs, sliding)`` resolves ``"auto"``: direct up to
``AUTO_DIRECT_MAX_DOFS`` degrees of freedom or when the bed slides, scalable above.
"""

from dataclasses import dataclass

from glacier.errors import InputError


@dataclass(frozen=True)
class NewtonSettings:
    """The controls of the Picard and Newton iterations of ``solver.solve``, read at each
    iteration (a kept nonlinear solver takes those of its current solve)."""

    picard_steps: int = 2
    """Picard (frozen-viscosity) linear solves before Newton when ``solver.solve`` has no guess
    and is not told how many (``model.StokesModel`` always tells it: its own
    ``picard_steps``)."""
    refactor_krylov_its: int = 15
    """Linear iterations above which a reused factorization (``direct`` preset) is renewed at
    the next Newton step: a stale factorization costs more in back-substitutions than a fresh
    one."""
    load_tolerance: float = 1e-8
    """Newton stops when the residual norm falls below this fraction of the norm of the gravity
    load (the assembled body force), whatever the start."""
    update_tolerance: float = 1e-3
    """Newton also stops when its direction moves no velocity by more than this (m a-1), or by
    more than ``update_rtol`` times the largest speed of the iterate, whichever is larger. The
    Newton direction at an iterate estimates that iterate's error, so the error left after the
    step is below that bound, and of order bound^2 / speed after a full step in Newton's
    quadratic phase."""
    update_rtol: float = 1e-4
    """Relative part of the velocity-update test: 0.1 m a-1 on a glacier whose fastest node
    moves at 1000 m a-1, where the step before (measured 0.04 m a-1 on the steep test glacier)
    leaves an error of ~1e-6 m a-1, and no change from ``update_tolerance`` at the ~10 m a-1 of
    ISMIP-HOM. 0 leaves the absolute test alone, the tightest solve
    (``evaluation/bench_stokes_glacier.py``'s reference)."""


QUADRATURE_DEGREE = 4
"""Quadrature degree of every form of ``problem.StokesProblem`` (3 Gauss points per
direction)."""

SLIDING_SCALE = 10.0
"""Reference sliding speed (m a-1) at which the first Picard step from rest linearises the
friction law (``problem.StokesProblem.picard_friction``)."""

AUTO_DIRECT_MAX_DOFS = 400_000
"""Largest problem (DOFs) that ``"auto"`` gives to the direct solver. On the steep 3026-cell
glacier of ``evaluation/bench_instructors.py`` (319 139 DOFs, 3 layers, no slip) ``direct``
solved in 122 s, while ``scalable`` was at its 3rd of some 20 Newton steps after 361 s (it took
1166 s on an earlier version of that glacier with ice cliffs at its outline); 2 shared cores,
2026-11-26. 250 000, the former value, sent it to ``scalable``."""

NEWTON = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "l2",
    "snes_max_it": 50,
    "snes_rtol": 0.0,
    "snes_stol": 0.0,
}
"""Newton with a line search minimising the residual norm (``l2``: 9 Newton steps on a grown
real glacier where ``bt`` takes 13 and a full step diverges). The residual is in MPa m^2 (3-D)
or MPa m (flowline); ``solver.solve`` sets ``snes_atol`` to the fraction
``NewtonSettings.load_tolerance`` of the gravity load's norm, and no relative test is made (a
poor start would make it meaningless)."""

MUMPS_LDLT = {
    "mat_type": "aij",
    "pc_type": "cholesky",
    "pc_factor_mat_solver_type": "mumps",
    "mat_mumps_icntl_7": 4,
    "mat_mumps_icntl_14": 200,
}
"""MUMPS LDL^T (symmetric indefinite, 2x2 pivots) of the whole saddle-point Jacobian. Both the
Newton and the Picard Jacobians are second derivatives of the action, and Dirichlet conditions
are imposed on rows and columns alike, so they are symmetric: LDL^T stores only one triangle
and costs about half the flops of LU. PORD ordering (ICNTL(7) = 4): on the steep 3026-cell
glacier of ``evaluation/bench_instructors.py`` (319k DOFs, sliding, 2 ranks) the same 12 Newton
steps took 57-62 s against 75-80 s with SCOTCH (ICNTL(7) = 3), 65 s with AMF and 68 s with QAMD;
on a 1057-cell snapshot of the library data (107k DOFs, 1 rank) 36.9 s against 40.4-43.3 s
(docs/stokes.md). The Debian MUMPS has no METIS. 200 % extra workspace for delayed pivots. Block
low-rank compression (ICNTL(35), CNTL(7) = 1e-4) factors ~25 % faster but leaves GMRES unable to
solve the first Picard system of the grown 200 m Aletsch window, so it is off."""

DIRECT = {
    **MUMPS_LDLT,
    "mat_type": "matfree",
    "pmat_type": "aij",
    "snes_lag_jacobian": -2,
    "ksp_type": "gmres",
    "ksp_gmres_restart": 200,
    "ksp_max_it": 200,
    "ksp_rtol": 1e-3,
}
"""MUMPS_LDLT of an assembled Jacobian, kept as the preconditioner of GMRES for the later Newton
steps until it goes stale (the factorization costs ~50 Krylov iterations of back-substitution on
the 16x16x5 ISMIP-HOM mesh), and across solves of the same problem: the next snapshot on a
reused mesh starts with it. The Jacobian is assembled only when it is factored (lag -2: once,
then as ``solver._step_monitor`` asks); GMRES applies the current Newton Jacobian matrix-free
(Firedrake's ``matfree``), which costs less than assembling it at each Newton step (16x16x2
ISMIP-HOM A: 3.1 s -> 2.8 s, same iterations). GMRES stops at 1e-3 of the Newton residual: the
back-substitutions cost as much as the factorizations (steep glacier, sliding: 125 of them,
22-28 s, against 27 s for 4 factorizations), and on that glacier 1e-3 instead of 1e-4 took 8
Newton steps and 74 GMRES iterations instead of 9 and 101 without sliding (54.8 s against
60.6 s, 2 ranks), 12 and 115 instead of 11 and 113 with it (69.8 s against 72.2 s), velbar
within 0.015 m a-1 of the 1e-4 solve (docs/stokes.md)."""

SCALABLE = {
    "mat_type": "aij",
    "snes_ksp_ew": None,
    "snes_ksp_ew_rtol0": 1e-2,
    "snes_ksp_ew_rtolmax": 1e-1,
    "ksp_type": "fgmres",
    "ksp_gmres_restart": 100,
    "ksp_max_it": 400,
    "ksp_rtol": 1e-4,
    "pc_type": "fieldsplit",
    "pc_fieldsplit_type": "schur",
    "pc_fieldsplit_schur_fact_type": "upper",
    "pc_fieldsplit_schur_precondition": "a11",
    "fieldsplit_0_ksp_type": "preonly",
    "fieldsplit_0_pc_type": "gamg",
    "fieldsplit_0_pc_gamg_threshold": 0.0,
    "fieldsplit_0_pc_gamg_square_graph": 1,
    "fieldsplit_0_mg_levels_ksp_type": "chebyshev",
    "fieldsplit_0_mg_levels_ksp_max_it": 3,
    "fieldsplit_0_mg_levels_pc_type": "sor",
    "fieldsplit_0_mg_coarse_pc_type": "lu",
    "fieldsplit_1_ksp_type": "preonly",
    "fieldsplit_1_pc_type": "python",
    "fieldsplit_1_pc_python_type": "firedrake.MassInvPC",
    "fieldsplit_1_Mp_mat_type": "aij",
    "fieldsplit_1_Mp_ksp_type": "preonly",
    "fieldsplit_1_Mp_pc_type": "sor",
}

NAIVE = {"mat_type": "aij", "ksp_type": "preonly", "pc_type": "lu",
         "pc_factor_mat_solver_type": "mumps", "mat_mumps_icntl_14": 200, "mat_mumps_icntl_7": 4}
"""Firedrake's own default direct solve (MUMPS LU, 200 % workspace) with the PORD ordering, the
one the Debian MUMPS used when the baseline's 25 s (docs/design.md) was measured. On 2 ranks it
is the fastest ordering for this recipe (16x16x5 ISMIP-HOM A: 21.1 s, against 28.6 s with the
default choice of the PT-SCOTCH build; on 1 rank 25.2-28.3 s against 25.7 s, within the run-to-run spread),
so our build does not slow the baseline down."""

PRESETS = {"direct": DIRECT, "scalable": SCALABLE, "naive": NAIVE}


def solver_parameters(preset: str, dofs: int, sliding: bool = False) -> tuple[str, dict]:
    """The resolved preset name and the full PETSc options (Newton + linear solver).

    ``preset`` is ``"auto"``, ``"direct"``, ``"scalable"`` or ``"naive"``; ``dofs`` is the global
    size; ``sliding``: the bed slides (GAMG on the velocity block then stalls: the linear
    solve of the first Picard step of a grown valley glacier at 200 m, 67k DOFs, does not
    converge in 400 iterations, while it converges without sliding), so ``"auto"`` stays direct.
    """
    if preset == "auto":
        preset = "direct" if dofs <= AUTO_DIRECT_MAX_DOFS or sliding else "scalable"
    if preset not in PRESETS:
        raise InputError(f"unknown Stokes solver preset '{preset}'; use auto, direct, scalable or naive")
    return preset, {**NEWTON, **PRESETS[preset]}
