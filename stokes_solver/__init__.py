"""Full-Stokes instructor: Glen-law Stokes flow on terrain-following extruded meshes (Firedrake).

Importing this package registers the flow model ``"stokes"`` without importing Firedrake, so that
``icebench --help`` stays fast; the model is built on first use. Units: m, a, MPa.

Modules: ``physics`` (the action functional), ``mesh`` (extruded meshes over the input grid,
periodic ISMIP-HOM meshes, flowline meshes), ``options`` (every PETSc solver setting, in one
place), ``solver`` (Newton with line search, initial guesses, the convergence report),
``model`` (the FlowModel), ``ismip_hom`` (the benchmark), ``commands`` (CLI verifications).
"""

from glacier.flow import register


@register("stokes")
def _stokes(**options):
    from stokes_solver.model import StokesModel

    return StokesModel(**options)
