"""Full-Stokes instructor: Glen-law Stokes flow on terrain-following extruded meshes (Firedrake).

The flow model ``"stokes"`` is ``model.StokesModel`` (named in pyproject.toml's entry points):
importing this package imports no Firedrake, so that ``icebench --help`` stays fast. Units: m,
a, MPa.

Modules: ``physics`` (the action functional), ``problem`` (the Taylor-Hood problem: spaces,
boundary conditions, residual, the Picard / Newton Jacobian), ``mesh`` (extruded meshes over
the input grid, periodic ISMIP-HOM meshes, flowline meshes), ``options`` (every solver setting,
in one place: the Newton controls and the PETSc presets), ``solver`` (Picard then Newton with
line search as one PETSc SNES, the convergence report), ``model`` (the FlowModel: meshes of
the ice, initial guesses), ``ismip_hom`` (the benchmark), ``commands`` (CLI verifications).
"""
