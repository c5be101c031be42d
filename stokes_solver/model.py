"""The full-Stokes FlowModel: a gridded glacier state in, the six IGM velocity fields out.

Mesh: the base mesh's vertices are the grid points (see ``stokes_solver.mesh``), extruded into
``layers`` terrain-following layers between ``topg`` and ``topg + max(thk, MIN_THICKNESS)``.

Margins and ice-free cells: every column is meshed, ice-free ones (thk < MIN_THICKNESS) with a
MIN_THICKNESS sliver of ice. A drag of ICE_FREE_DRAG (MPa a m-2) on every element touching an
ice-free grid point pins the velocity there to zero (to ~1e-6 of the ice speeds), so the
margin of the ice does not slide over bare rock: the ice front is held at the last ice grid
point and the cells between it and bare rock carry a smooth ramp to zero. Ice-free points get
exactly zero in the output. Window edges are walls (u = 0), a fair condition for a glacier
inside the window. Nothing in this produces a NaN: the mesh never pinches.

Physics: Glen n = 3 with the state's ``arrhenius`` (MPa^-3 a^-1); at the bed Weertman sliding
(m = 3) with ``slidingco`` (MPa a^(1/3) m^(-1/3)) and impenetrability by penalty, or no slip
(``sliding=False``); plain gravity, stress-free surface.
"""

from dataclasses import dataclass, field

import firedrake as fd
import numpy as np
import xarray as xr
from mpi4py import MPI

from glacier.constants import RHO_G, WEERTMAN_M
from glacier.fields import VELOCITY_FIELDS, grid_spacing, surface_slopes
from glacier.flow import velocity_dataset
from glacier.validation import validate_state
from stokes_solver import physics
from stokes_solver.columns import Columns
from stokes_solver.mesh import extrude, grid_base_mesh, grid_lookup, vertex_function, vertex_space
from stokes_solver.solver import StokesProblem, solve

MIN_THICKNESS = 1.0
"""Thickness (m) below which a column counts as ice-free: meshed with this thickness, pinned."""

MIN_STRESS = 0.01
"""Floor (MPa) of the representative driving stress that sets the Picard start."""


@dataclass
class StokesModel:
    """Full-Stokes flow model (FlowModel interface). ``layers``: vertical layers;
    ``refinement`` >= 1 packs them towards the bed; ``solver``: auto, direct or scalable;
    ``sliding``: Weertman sliding with ``slidingco`` (else no slip); ``return_3d``: also
    return the 3-D velocity ``uvel``, ``vvel``, ``wvel`` (zeta, y, x) at the column nodes.

    Warm start: when ``velocity`` gets a ``guess`` (the evolution driver passes the previous
    snapshot's velocities) and the model's previous solve was on the same grid, Newton starts
    from that previous 3-D velocity and pressure (the mesh topology is the same, only the
    geometry moved); otherwise from the Picard start."""

    layers: int = 5
    refinement: float = 1.0
    solver: str = "auto"
    sliding: bool = True
    return_3d: bool = False
    name: str = "stokes"
    _previous: tuple | None = field(default=None, init=False, repr=False)

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        state = validate_state(state)
        thk = state.thk.values
        shape = thk.shape
        if not np.any(thk >= MIN_THICKNESS):
            zeros = {k: np.zeros(shape) for k in VELOCITY_FIELDS}
            return velocity_dataset(state, zeros, {"converged": True, "dofs": 0,
                                                   "newton_iterations": 0, "wall_time_s": 0.0,
                                                   "note": "no ice: nothing to solve"})
        x, y, dx = state.x.values, state.y.values, grid_spacing(state)
        look = lambda values: grid_lookup(x[0], y[0], dx, np.asarray(values, dtype=float))  # noqa: E731
        ice_free = thk < MIN_THICKNESS
        height = np.where(ice_free, MIN_THICKNESS, thk)
        mesh = extrude(grid_base_mesh(x, y), self.layers, look(state.topg.values), look(height),
                       self.refinement)
        Q1 = vertex_space(mesh)
        A = vertex_function(Q1, lambda X, Y: look(state.arrhenius.values)(X, Y))
        drag = vertex_function(Q1, lambda X, Y: physics.ICE_FREE_DRAG * look(ice_free)(X, Y))
        friction = None
        if self.sliding:
            c = vertex_function(Q1, lambda X, Y: look(state.slidingco.values)(X, Y))
            friction = physics.Friction(c, WEERTMAN_M)
        sx, sy = surface_slopes(state.usurf.values, dx)
        tau = RHO_G * thk * np.hypot(sx, sy)
        stress = max(float(tau[~ice_free].mean()), MIN_STRESS)
        problem = StokesProblem(mesh, A, physics.body_force(3), friction=friction, drag=drag,
                                side_walls=True, stress_scale=stress)
        key = (shape, x[0], y[0], dx, self.layers, self.refinement, mesh.comm.size)
        start = None
        if guess is not None and self._previous is not None and self._previous[0] == key:
            start = fd.Function(problem.function_space)
            for target, values in zip(start.subfunctions, self._previous[1]):
                target.dat.data_wo_with_halos[:] = values
        w, report = solve(problem, self.solver, guess=start)
        self._previous = (key, [f.dat.data_ro_with_halos.copy() for f in w.subfunctions])
        report.update(layers=self.layers, refinement=self.refinement, sliding=self.sliding,
                      min_thickness_m=MIN_THICKNESS, ice_free_points=int(ice_free.sum()))
        fields, extra = self._grid_fields(mesh, w, x, y, dx, shape)
        ds = velocity_dataset(state, fields, report)
        for name, values in extra.items():
            ds[name] = values
        return ds

    def _grid_fields(self, mesh, w, x, y, dx, shape):
        u = w.subfunctions[0]
        cols = Columns(mesh)
        surf, base, mean = cols.sample(u)
        i = np.rint((cols.xy[:, 0] - x[0]) / dx).astype(int)
        j = np.rint((cols.xy[:, 1] - y[0]) / dx).astype(int)
        comm = mesh.comm
        fields = {}
        for name, values, comp in (("ubar", mean, 0), ("vbar", mean, 1), ("uvelsurf", surf, 0),
                                   ("vvelsurf", surf, 1), ("uvelbase", base, 0),
                                   ("vvelbase", base, 1)):
            grid = np.zeros(shape)
            grid[j, i] = values[:, comp]
            comm.Allreduce(MPI.IN_PLACE, grid, op=MPI.SUM)
            fields[name] = grid
        extra = {}
        if self.return_3d:
            prof = cols.profiles(u)
            nodes = prof.shape[1]
            z = cols.z[:1]
            zeta = ((z - z[:, :1]) / (z[:, -1:] - z[:, :1])).ravel()
            for name, comp in (("uvel", 0), ("vvel", 1), ("wvel", 2)):
                grid = np.zeros((nodes,) + shape)
                grid[:, j, i] = prof[:, :, comp].T
                comm.Allreduce(MPI.IN_PLACE, grid, op=MPI.SUM)
                extra[name] = xr.DataArray(grid, dims=("zeta", "y", "x"),
                                           coords={"zeta": zeta, "y": y, "x": x},
                                           attrs={"units": "m a-1"})
        return fields, extra
