"""Flow models of the package (the FlowModel interface of ``glacier.flow``), velocities in m a-1.

- ``hybrid``: a sliding (SSA) mode and a shear (SIA) mode of fixed vertical profile, coupled by
  the first-order action of ``sia_ssa_solver.hybrid``: ubar = u_b + u_d,
  uvelsurf = u_b + (n+2)/(n+1) u_d, uvelbase = u_b. Its solver report carries the share of ice
  where the SIA's local stress balance fails, and a large share is logged as a warning.
- ``ssa``: plug flow, the SSA velocity at every depth.
- ``sia-mahaffy``: the staggered SIA deformation velocities alone (no sliding).

Solves are warm-started from ``guess`` (e.g. the previous snapshot): from the model's own last
nodal (Q1) solution when ``guess`` is the output of its last call, else from the cell-centred
values averaged to the corners. The hybrid keeps its mesh, forms and Newton solver for the next
solve on the same ice mask. Firedrake is imported only at the first solve.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from glacier.constants import GLEN_N, WEERTMAN_M
from glacier.errors import InputError
from glacier.fields import grid_spacing
from glacier.flow import velocity_dataset
from glacier.validation import validate_state
from sia_ssa_solver.sia import deformation_velocities

log = logging.getLogger(__name__)

SIA_WARN_SHARE = 0.05
"""Share of the ice (0-1) outside the SIA's validity above which the hybrid warns."""


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
class SSAModel:
    """Flow model "ssa": plug flow, the SSA velocity at every depth. ``friction_exponent`` is
    Weertman's m; ``ssa_options`` an ``sia_ssa_solver.ssa.SSAOptions`` (None: defaults)."""

    name: str = "ssa"
    friction_exponent: float = WEERTMAN_M
    ssa_options: object = None
    _last: tuple | None = field(default=None, init=False, repr=False)

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        from sia_ssa_solver.ssa import SSAOptions, solve_ssa

        state = validate_state(state)
        options = self.ssa_options or SSAOptions()
        _check_friction(state, options.thk_min)
        start, at_corners = _warm_start(self._last, guess, ("uvelbase", "vvelbase"))
        ub, vb, report = solve_ssa(state.thk.values, state.usurf.values, state.arrhenius.values,
                                   state.slidingco.values, grid_spacing(state),
                                   m=self.friction_exponent, guess=start,
                                   guess_at_corners=at_corners, options=options)
        corners = report.pop("corners")
        self._last = None if corners is None else ((ub, vb), corners)
        report.update(warm_start=_start_kind(guess, at_corners), model=self.name,
                      friction_exponent=self.friction_exponent)
        fields = {"uvelbase": ub, "vvelbase": vb, "ubar": ub, "vbar": vb, "uvelsurf": ub,
                  "vvelsurf": vb}
        return velocity_dataset(state, fields, report)


@dataclass
class HybridModel:
    """Flow model "hybrid": the sliding (SSA) and shear (SIA) modes coupled by the first-order
    action of ``sia_ssa_solver.hybrid``; ``sliding=False`` freezes the bed. ``options`` is a
    ``HybridOptions`` (None: defaults). A solution where the SIA's local stress balance fails
    on more than ``SIA_WARN_SHARE`` of the ice is logged as a warning."""

    name: str = "hybrid"
    friction_exponent: float = WEERTMAN_M
    sliding: bool = True
    options: object = None
    _last: tuple | None = field(default=None, init=False, repr=False)
    _kept: object = field(default=None, init=False, repr=False)
    """A ``sia_ssa_solver.hybrid.HybridCache`` (made at the first solve, as Firedrake loads
    only then): the mesh, forms and Newton solver of the last solve, reused while the grid,
    the ice mask and the settings stay the same (``solve_hybrid``'s ``kept``)."""

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        from sia_ssa_solver.hybrid import HybridCache, HybridOptions, solve_hybrid

        state = validate_state(state)
        options = self.options or HybridOptions()
        if self._kept is None:
            self._kept = HybridCache()
        if self.sliding:
            _check_friction(state, options.thk_min)
        start, at_corners = _warm_start(self._last, guess, ("uvelbase", "vvelbase", "ubar",
                                                            "vbar"))
        if start is not None and not at_corners:
            ub, vb, ubar, vbar = start
            start = ((ub, vb), (ubar - ub, vbar - vb))
        out, report = solve_hybrid(state.thk.values, state.usurf.values,
                                   state.arrhenius.values, state.slidingco.values,
                                   grid_spacing(state), m=self.friction_exponent,
                                   sliding=self.sliding, guess=start,
                                   guess_at_corners=at_corners, options=options,
                                   kept=self._kept)
        corners = report.pop("corners")
        ub, vb, ud, vd = out["ub"], out["vb"], out["ud"], out["vd"]
        self._last = None if corners is None else ((ub, vb, ub + ud, vb + vd), corners)
        report.update(warm_start=_start_kind(guess, at_corners), model=self.name,
                      friction_exponent=self.friction_exponent, sliding=self.sliding)
        share = report["sia_invalid_share"]
        if share > SIA_WARN_SHARE:
            log.warning("hybrid: the SIA's local stress balance fails on %.0f %% of the ice "
                        "(surface slope median %.2f, 99th percentile %.2f; H/dx up to %.1f); "
                        "membrane stresses carry the load there", 100 * share,
                        report["surface_slope_median"], report["surface_slope_p99"],
                        report["aspect_ratio_max"])
        surface = (GLEN_N + 2) / (GLEN_N + 1)
        fields = {"uvelbase": ub, "vvelbase": vb, "ubar": ub + ud, "vbar": vb + vd,
                  "uvelsurf": ub + surface * ud, "vvelsurf": vb + surface * vd}
        return velocity_dataset(state, fields, report)


def _warm_start(last, guess, names):
    """The start of a solve: the model's own last nodal solution when ``guess`` is the output of
    its last call (at_corners True), else the cell-centred ``names`` fields of ``guess``."""
    if guess is None:
        return None, False
    start = tuple(guess[name].values for name in names)
    if last is not None and all(a.shape == b.shape and np.array_equal(a, b)
                                for a, b in zip(last[0], start)):
        return last[1], True
    return start, False


def _start_kind(guess, at_corners: bool) -> str:
    return "nodal" if at_corners else ("cell" if guess is not None else "none")


def _ssa_options(solver: str | None):
    from sia_ssa_solver.ssa import SSAOptions
    return SSAOptions(solver=solver or "auto")


def _hybrid_options(solver: str | None, levels: int | None):
    from sia_ssa_solver.hybrid import HybridOptions
    return HybridOptions(solver=solver or "auto", **({} if levels is None else {"levels": levels}))


def _no_layers(name: str, layers) -> None:
    if layers is not None:
        raise InputError(f"the {name} model is depth-integrated and takes no 'layers' option")


def hybrid_model(solver: str | None = None, friction_exponent: float = WEERTMAN_M,
                 sliding: bool = True, levels: int | None = None, layers=None) -> HybridModel:
    """The flow model ``hybrid`` (its entry point in pyproject.toml)."""
    _no_layers("hybrid", layers)
    return HybridModel(friction_exponent=friction_exponent, sliding=bool(sliding),
                       options=_hybrid_options(solver, levels))


def ssa_model(solver: str | None = None, friction_exponent: float = WEERTMAN_M,
              layers=None) -> SSAModel:
    """The flow model ``ssa`` (its entry point in pyproject.toml)."""
    _no_layers("ssa", layers)
    return SSAModel(friction_exponent=friction_exponent, ssa_options=_ssa_options(solver))


def sia_mahaffy_model(layers=None) -> MahaffySIA:
    """The flow model ``sia-mahaffy`` (its entry point in pyproject.toml)."""
    _no_layers("sia-mahaffy", layers)
    return MahaffySIA()
