"""The full-Stokes FlowModel: a gridded glacier state in, the six IGM velocity fields out.

Mesh: only the ice. The base mesh's vertices are the grid points (see ``stokes_solver.mesh``);
of its cells, those with an ice point (thk > MIN_THICKNESS) at one of their four corners are
kept (``mesh.ice_base_mesh``) and extruded into ``layers`` terrain-following layers between
``topg`` and ``topg + H``. H is the grid thickness at ice points and MARGIN_THICKNESS at the
ice-free corners of the kept cells (the margin vertices), so the ice thins to a
MARGIN_THICKNESS cliff one grid step beyond the last ice point, where the grid puts the front.

Boundaries: the lateral margin (the cut through the margin vertices) is stress free, like the
upper surface; where the ice reaches the window's sides, those are walls (u = 0), a fair
condition for a glacier inside the window. Points with thk <= MIN_THICKNESS get exactly zero in
the output, the margin vertices included. No ice-free column is meshed and the mesh never
pinches (H >= MARGIN_THICKNESS > 0), so nothing produces a NaN.

Physics: Glen n = 3 with the state's ``arrhenius`` (MPa^-3 a^-1); at the bed Weertman sliding
(m = 3) with ``slidingco`` (MPa a^(1/3) m^(-1/3)) and impenetrability by penalty on the
continuous bed normal of the grid's centred bed slopes (``numpy.gradient`` of ``topg``; see
``physics``), or no slip (``sliding=False``); plain gravity.

Start of Newton: the previous 3-D solution when the caller passes a ``guess`` and the ice mask
is unchanged (the previous mesh is then kept and only its layers move to the new geometry, so
the function spaces, the sparsity and the forms' assembly data are reused). When the mask has
changed on the same grid, the new mesh takes the previous solution at the nodes of the columns
both meshes hold and the lifted guess on the new columns (``start`` "warm, transferred"), and
Newton starts from it with no Picard step. Otherwise a 3-D field
lifted from 2-D surface and basal velocities (the ``guess`` Dataset's, or the closed-form
SIA's of the state) along the SIA shape
u(zeta) = u_b + (u_s - u_b) (1 - (1 - zeta)^(n+1)), w along the terrain-following layers
(so u.n = 0 on the bed), with hydrostatic pressure.
"""

import gc
from dataclasses import dataclass, field

import firedrake as fd
import numpy as np
import xarray as xr
from mpi4py import MPI

from glacier.constants import GLEN_N, RHO_G, WEERTMAN_M
from glacier.errors import InputError
from glacier.fields import VELOCITY_FIELDS, grid_spacing, surface_slopes
from glacier.flow import velocity_dataset
from glacier.sia import sia_velocities
from glacier.validation import validate_state
from stokes_solver import physics
from stokes_solver.columns import Columns
from stokes_solver.mesh import (WINDOW_SIDES, grid_lookup, ice_base_mesh, layer_heights,
                                node_keys, place_layers, vertex_function, vertex_space)
from stokes_solver.options import NewtonSettings
from stokes_solver.problem import StokesProblem
from stokes_solver.solver import solve

MIN_THICKNESS = 1.0
"""Thickness (m) above which a grid point holds ice (docs/design.md's ice-covered cells)."""

MARGIN_THICKNESS = 1.0
"""Thickness (m) of the mesh at the ice-free corners of the meshed cells (the ice front)."""


@dataclass
class MeshSetup:
    """The mesh of one ice mask and what lives on it, kept by ``StokesModel`` for the next
    solve: reused as it is (layers moved) when the mask is unchanged, the source of the
    transferred start when it has changed on the same grid.

    ``key``: (grid shape, x0, y0, dx, layers, refinement, MPI ranks, ice mask bytes), equal
    for the same mesh topology; ``mesh``: the extruded mesh; ``Q1``: its vertex space;
    ``zeta``: the relative heights of its layers (``mesh.layer_heights``); ``nodes``: the grid
    keys of the Q2 and Q1 nodes (``mesh.node_keys``); ``arrhenius`` (MPa^-3 a^-1),
    ``slidingco`` (MPa a^(1/3) m^(-1/3)), ``slope_x``, ``slope_y`` (bed slopes): Q1 Functions
    that each solve refills from its state; ``problem``: the StokesProblem on them;
    ``solution``: the local values of the last solution's velocity (m a-1) and pressure (MPa),
    None before the first solve."""

    key: tuple
    mesh: object
    Q1: object
    zeta: object
    nodes: list
    arrhenius: object
    slidingco: object
    slope_x: object
    slope_y: object
    problem: StokesProblem
    solution: list | None = None


@dataclass
class StokesModel:
    """Full-Stokes flow model (FlowModel interface). ``layers``: vertical layers;
    ``refinement`` >= 1 packs them towards the bed; ``solver``: auto, direct or scalable;
    ``sliding``: Weertman sliding with ``slidingco`` (else no slip); ``return_3d``: also
    return the 3-D velocity ``uvel``, ``vvel``, ``wvel`` (zeta, y, x) at the column nodes;
    ``picard_steps``: frozen-viscosity steps after a lifted start (none after the previous
    solution, nor with the naive preset; docs/stokes.md compares one and two);
    ``start``: how a solve without a usable previous solution begins, ``"lifted"`` (the
    guess's or the SIA's velocities lifted to 3-D) or ``"rest"`` (u = 0, p = 0: the naive
    baseline of docs/design.md, with ``solver="naive", picard_steps=0``); ``threads``: BLAS
    threads of the factorizations (``solver.solve``; 1 suits one solve per core, as the data
    rules run them); ``settings``: the stopping and refactorization controls of Newton
    (``options.NewtonSettings``).

    ``guess`` (the evolution driver passes the previous snapshot's velocities): Newton starts
    from the model's previous 3-D solution when that was on the same grid and ice mask (the
    mesh topology is the same, only the geometry moved), else from the guess's surface and
    basal velocities lifted to 3-D; without a guess, from the SIA's."""

    layers: int = 5
    refinement: float = 1.0
    solver: str = "auto"
    sliding: bool = True
    return_3d: bool = False
    picard_steps: int = 1
    start: str = "lifted"
    threads: int = 1
    settings: NewtonSettings = NewtonSettings()
    name: str = "stokes"
    _previous: MeshSetup | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.start not in ("lifted", "rest"):
            raise InputError(f"unknown Stokes start '{self.start}'; use lifted or rest")

    def velocity(self, state: xr.Dataset, guess: xr.Dataset | None = None) -> xr.Dataset:
        state = validate_state(state)
        thk = state.thk.values
        shape = thk.shape
        ice = thk > MIN_THICKNESS
        if not ice.any():
            zeros = {k: np.zeros(shape) for k in VELOCITY_FIELDS}
            return velocity_dataset(state, zeros, {"converged": True, "dofs": 0,
                                                   "newton_iterations": 0, "wall_time_s": 0.0,
                                                   "note": "no ice: nothing to solve"})
        x, y, dx = state.x.values, state.y.values, grid_spacing(state)
        look = lambda values: grid_lookup(x[0], y[0], dx, np.asarray(values, dtype=float))  # noqa: E731
        height = np.where(ice, thk, MARGIN_THICKNESS)
        key = (shape, x[0], y[0], dx, self.layers, self.refinement, MPI.COMM_WORLD.size,
               ice.tobytes())
        previous = self._previous
        same_mesh = previous is not None and previous.key == key
        setup = previous if same_mesh else self._mesh(x, y, dx, ice, key)
        mesh, Q1, problem = setup.mesh, setup.Q1, setup.problem
        place_layers(mesh, setup.zeta, look(state.topg.values), look(height))
        bx, by = surface_slopes(state.topg.values, dx)
        for out, values in ((setup.arrhenius, state.arrhenius), (setup.slidingco, state.slidingco),
                            (setup.slope_x, bx), (setup.slope_y, by)):
            vertex_function(Q1, look(values), out=out)
        w0 = fd.Function(problem.function_space)
        if guess is not None and same_mesh:
            for target, values in zip(w0.subfunctions, setup.solution):
                target.dat.data_wo_with_halos[:] = values
            start = "warm"
        elif self.start == "rest":
            start = "rest"
        else:
            lifted = guess if guess is not None else sia_velocities(
                thk, state.usurf.values, state.arrhenius.values, state.slidingco.values, dx,
                sliding=self.sliding)
            self._lift(w0, Q1, look, lifted, state.topg.values, height)
            start = "guess profile" if guess is not None else "sia profile"
            if guess is not None and previous is not None and previous.key[:-1] == key[:-1]:
                start = self._transfer(previous, setup, w0)
        if not same_mesh and previous is not None:
            # the replaced mesh's solver holds its LDL^T factors (GBs on a whole glacier) in
            # reference cycles; freed now, a run with a moving margin stays at one mesh's memory
            # (0.5 GB more per new mesh at 807 ice cells otherwise, 23 GB after 3 at 7241)
            self._previous = previous = None
            gc.collect()
        newton_only = start.startswith("warm") or self.solver == "naive"
        w, report = solve(problem, self.solver, guess=w0,
                          picard_steps=0 if newton_only else self.picard_steps,
                          threads=self.threads, settings=self.settings)
        report["start"] = start
        report["mesh"] = "reused, layers moved" if same_mesh else "new"
        setup.solution = [f.dat.data_ro_with_halos.copy() for f in w.subfunctions]
        self._previous = setup
        report.update(layers=self.layers, refinement=self.refinement, sliding=self.sliding,
                      min_thickness_m=MIN_THICKNESS, margin_thickness_m=MARGIN_THICKNESS,
                      ice_free_points=int((~ice).sum()), meshed_columns=int(
                          mesh.comm.allreduce(Columns(mesh).xy.shape[0], op=MPI.SUM)))
        fields, extra = self._grid_fields(mesh, w, x, y, dx, shape)
        ds = velocity_dataset(state, fields, report, ice_threshold=MIN_THICKNESS)
        for name, values in extra.items():
            ds[name] = values
        return ds

    def _mesh(self, x, y, dx, ice, key) -> MeshSetup:
        """A new extruded mesh of the ice columns (layers still at unit height), its Q1 space,
        the Functions of the grid fields and the StokesProblem on them, which later solves on
        the same ice mask reuse after moving the layers (``place_layers``)."""
        base = ice_base_mesh(x, y, ice)
        mesh = fd.ExtrudedMesh(base, self.layers, layer_height=1.0 / self.layers)
        Q1 = vertex_space(mesh)
        zeta = layer_heights(mesh, self.refinement)
        nodes = [node_keys(mesh, degree, x[0], y[0], dx, self.layers) for degree in (2, 1)]
        arrhenius, slidingco, gx, gy = (fd.Function(Q1, name=name) for name in
                                        ("arrhenius", "slidingco", "slope_x", "slope_y"))
        normal = fd.as_vector([-gx, -gy, 1.0]) / fd.sqrt(1.0 + gx**2 + gy**2)
        friction = physics.Friction(slidingco, WEERTMAN_M) if self.sliding else None
        markers = set(int(k) for k in base.exterior_facets.unique_markers)
        walls = tuple(k for k in WINDOW_SIDES if k in markers)
        problem = StokesProblem(mesh, arrhenius, physics.body_force(3), friction=friction,
                                walls=walls, bed_normal=normal)
        return MeshSetup(key, mesh, Q1, zeta, nodes, arrhenius, slidingco, gx, gy, problem)

    @staticmethod
    def _transfer(previous: MeshSetup, setup: MeshSetup, w):
        """Copy the previous solve's solution (velocity and pressure) into ``w`` at the nodes the
        new mesh shares with the previous one (same grid, other ice mask), leaving the lifted
        start on the new columns; returns the start's name, with the share of nodes kept."""
        comm = setup.mesh.comm
        kept = total = 0
        for target, old_keys, new_keys, old_values in zip(
                w.subfunctions, previous.nodes, setup.nodes, previous.solution):
            old_keys = np.concatenate(comm.allgather(old_keys))
            old_values = np.concatenate(comm.allgather(old_values))
            order = np.argsort(old_keys)
            ordered = old_keys[order]
            at = np.minimum(np.searchsorted(ordered, new_keys), len(order) - 1)
            hit = ordered[at] == new_keys
            target.dat.data_wo_with_halos[hit] = old_values[order[at[hit]]]
            kept += comm.allreduce(int(hit.sum()))
            total += comm.allreduce(len(new_keys))
        return f"warm, transferred ({100 * kept / total:.0f} % of nodes)"

    @staticmethod
    def _lift(w, Q1, look, fields, topg, height):
        """Fill ``w`` with the 3-D velocity (m a-1) of the SIA vertical shape between the grid's
        basal and surface velocities ``fields`` (IGM names) and the hydrostatic pressure (MPa)."""
        z = fd.SpatialCoordinate(Q1.mesh())[2]
        b = vertex_function(Q1, look(topg))
        H = vertex_function(Q1, look(height))
        zeta = fd.max_value(fd.min_value((z - b) / H, 1.0), 0.0)
        shape = 1.0 - (1.0 - zeta) ** (GLEN_N + 1)
        comps = []
        for surf, bed in (("uvelsurf", "uvelbase"), ("vvelsurf", "vvelbase")):
            us = vertex_function(Q1, look(np.asarray(fields[surf])))
            ub = vertex_function(Q1, look(np.asarray(fields[bed])))
            comps.append(ub + (us - ub) * shape)
        # w follows the terrain-following layers: tangential to the bed (no penalty load from
        # u.n) and to the surface
        slope = (1.0 - zeta) * fd.grad(b) + zeta * fd.grad(b + H)
        vertical = comps[0] * slope[0] + comps[1] * slope[1]
        u, p = w.subfunctions
        u.interpolate(fd.as_vector([comps[0], comps[1], vertical]))
        p.interpolate(RHO_G * (b + H - z))

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
