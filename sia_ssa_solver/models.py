"""Flow models of the package (the FlowModel interface of ``glacier.flow``), velocities in m a-1.

- ``hybrid`` (Bueler & Brown 2009, as in PISM): u(z) = u_SSA + u_SIA,deformation(z). The SSA,
  solved with Firedrake, gives the basal (sliding) velocity; the staggered SIA adds the
  deformation profile, so ubar = u_SSA + ubar_SIA, uvelsurf = u_SSA + usurf_SIA,
  uvelbase = u_SSA.
- ``ssa``: plug flow, the SSA velocity at every depth.
- ``sia-mahaffy``: the staggered SIA deformation velocities alone (no sliding).

The SSA is warm-started from the basal velocity of ``guess`` (e.g. the previous snapshot): from
the model's own last nodal (Q1) solution when ``guess`` is the output of its last call, else
from the cell-centred values averaged to the corners.
Firedrake is imported only when an SSA is solved.
"""

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from glacier.constants import WEERTMAN_M
from glacier.errors import InputError
from glacier.fields import grid_spacing
from glacier.flow import velocity_dataset
from glacier.validation import validate_state
from sia_ssa_solver.sia import deformation_velocities


def _check_friction(state: xr.Dataset, thk_min: float) -> None:
    """Every connected ice body needs friction somewhere, else the SSA has rigid-body modes."""
    from scipy.ndimage import label

    ice = state.thk.values > thk_min
    bodies, count = label(ice)
    grip = np.bincount(bodies[state.slidingco.values > 0], minlength=count + 1)
    free = [k for k in range(1, count + 1) if grip[k] == 0]
    if free:
        cells = int(np.sum(np.isin(bodies, free)))
        raise InputError(f"field 'slidingco' is 0 under a whole ice body ({cells} cells): the "
                         "SSA of an unconfined body without friction has no unique solution")


@dataclass
class MahaffySIA:
    """Flow model: SIA deformation velocities on the staggered grid, no sliding."""

    name: str = "sia-mahaffy"

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        fields = deformation_velocities(state.thk.values, state.usurf.values,
                                        state.arrhenius.values, grid_spacing(state))
        return velocity_dataset(state, fields)


@dataclass
class HybridModel:
    """Flow model: SSA sliding plus SIA deformation (``deformation=True``, "hybrid") or the SSA
    alone (``deformation=False``, "ssa"). ``friction_exponent`` is Weertman's m; ``ssa_options``
    an ``sia_ssa_solver.ssa.SSAOptions`` (None: defaults)."""

    name: str = "hybrid"
    deformation: bool = True
    friction_exponent: float = WEERTMAN_M
    ssa_options: object = None
    _last: tuple | None = field(default=None, init=False, repr=False)

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        from sia_ssa_solver.ssa import SSAOptions, solve_ssa

        state = validate_state(state)
        options = self.ssa_options or SSAOptions()
        _check_friction(state, options.thk_min)
        dx = grid_spacing(state)
        start, at_corners = None, False
        if guess is not None:
            start = (guess.uvelbase.values, guess.vvelbase.values)
            if self._last is not None and self._last[0].shape == start[0].shape and \
                    np.array_equal(self._last[0], start[0]) and np.array_equal(self._last[1], start[1]):
                start, at_corners = self._last[2], True
        ub, vb, report = solve_ssa(state.thk.values, state.usurf.values, state.arrhenius.values,
                                   state.slidingco.values, dx, m=self.friction_exponent,
                                   guess=start, guess_at_corners=at_corners, options=options)
        corners = report.pop("corners")
        self._last = None if corners is None else (ub, vb, corners)
        report["warm_start"] = "nodal" if at_corners else ("cell" if guess is not None else "none")
        fields = {"uvelbase": ub, "vvelbase": vb}
        if self.deformation:
            sia = deformation_velocities(state.thk.values, state.usurf.values,
                                         state.arrhenius.values, dx)
            for name in ("ubar", "vbar", "uvelsurf", "vvelsurf"):
                fields[name] = sia[name] + (ub if name[0] == "u" else vb)
        else:
            fields.update(ubar=ub, vbar=vb, uvelsurf=ub, vvelsurf=vb)
        report = {**report, "model": self.name, "friction_exponent": self.friction_exponent}
        return velocity_dataset(state, fields, report)
