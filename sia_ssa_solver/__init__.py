"""Hybrid SIA+SSA instructor: a sliding (SSA) and a shear (SIA) mode coupled by a first-order
action and solved together with Firedrake (``sia_ssa_solver.hybrid``).

Importing the package registers the flow models "hybrid", "ssa" and "sia-mahaffy" without
importing Firedrake (that happens at the first SSA solve).
"""

from glacier.constants import WEERTMAN_M
from glacier.errors import InputError
from glacier.flow import register


def _ssa_options(solver: str | None):
    from sia_ssa_solver.ssa import SSAOptions
    return SSAOptions(solver=solver or "auto")


def _hybrid_options(solver: str | None, levels: int | None):
    from sia_ssa_solver.hybrid import HybridOptions
    return HybridOptions(solver=solver or "auto", **({} if levels is None else {"levels": levels}))


def _no_layers(name: str, layers) -> None:
    if layers is not None:
        raise InputError(f"the {name} model is depth-integrated and takes no 'layers' option")


@register("hybrid")
def _hybrid(solver: str | None = None, friction_exponent: float = WEERTMAN_M,
            sliding: bool = True, levels: int | None = None, layers=None):
    from sia_ssa_solver.models import HybridModel
    _no_layers("hybrid", layers)
    return HybridModel(friction_exponent=friction_exponent, sliding=bool(sliding),
                       options=_hybrid_options(solver, levels))


@register("ssa")
def _ssa(solver: str | None = None, friction_exponent: float = WEERTMAN_M, layers=None):
    from sia_ssa_solver.models import SSAModel
    _no_layers("ssa", layers)
    return SSAModel(friction_exponent=friction_exponent, ssa_options=_ssa_options(solver))


@register("sia-mahaffy")
def _sia_mahaffy(layers=None):
    from sia_ssa_solver.models import MahaffySIA
    _no_layers("sia-mahaffy", layers)
    return MahaffySIA()
