"""Terrain-following extruded meshes (m).

How grid values map to the mesh: the *vertices* of the quadrilateral base mesh are the cell
centres of the input grid (IGM's grid points), so a grid of nx x ny points gives
(nx - 1) x (ny - 1) base cells spanning [x0, x_last] x [y0, y_last]. Every vertex-based field
(bed, thickness, A, c) takes the grid value at its point exactly, and the velocities are read
back at the same points, so nothing is interpolated on the way in or out. ``ice_base_mesh``
keeps only the base cells with ice at one of their four corners (a Firedrake ``Submesh``): the
window's sides keep their boundary ids 1-4 (x = x0, x = x_last, y = y0, y = y_last) and the cut
through the ice-free points gets one new id.

Vertically, each column is split into ``layers`` layers between the bed b and the surface b + H
at the fractions zeta_k = (k / layers)^refinement: ``refinement`` > 1 packs layers towards the
bed, where the shear is. Periodic variants (doubly periodic squares for ISMIP-HOM A/C) and a
flowline variant (an extruded interval, x-z, for B/D and the slab) share the same lifting.
"""

import firedrake as fd
import numpy as np


def layer_fractions(layers: int, refinement: float = 1.0) -> np.ndarray:
    """Heights zeta_k in [0, 1] of the layer interfaces, k = 0..layers (0 at the bed)."""
    if layers < 1 or refinement <= 0:
        raise ValueError(f"need layers >= 1 and refinement > 0, got {layers}, {refinement}")
    return (np.arange(layers + 1) / layers) ** refinement


def extrude(base, layers: int, bed, thickness, refinement: float = 1.0):
    """Extrude ``base`` into ``layers`` terrain-following layers.

    ``bed(x[, y])`` and ``thickness(x[, y])`` are numpy callables on base coordinates (m) that
    give the bed elevation and the ice thickness (m, > 0). Returns the extruded mesh whose last
    coordinate is the elevation z (m).
    """
    mesh = fd.ExtrudedMesh(base, layers, layer_height=1.0 / layers)
    place_layers(mesh, layer_heights(mesh, refinement), bed, thickness)
    return mesh


def layer_heights(mesh, refinement: float = 1.0) -> np.ndarray:
    """zeta in [0, 1] (0 at the bed) of every coordinate node of a freshly extruded ``mesh``
    (unit layer height), packed towards the bed by ``refinement``."""
    return np.clip(mesh.coordinates.dat.data_ro_with_halos[:, -1], 0.0, 1.0) ** refinement


def place_layers(mesh, zeta: np.ndarray, bed, thickness):
    """Move the coordinate nodes of ``mesh`` to z = bed + thickness * zeta (m), in place; the
    topology, and with it every function space and sparsity built on ``mesh``, is kept."""
    coords = mesh.coordinates.dat.data_with_halos
    horizontal = [coords[:, i] for i in range(coords.shape[1] - 1)]
    coords[:, -1] = bed(*horizontal) + thickness(*horizontal) * zeta


def grid_base_mesh(x: np.ndarray, y: np.ndarray, comm=None):
    """Quadrilateral mesh whose vertices are the grid points (x, y) (1-D, uniform, m)."""
    kwargs = {} if comm is None else {"comm": comm}
    # RectangleMesh takes the lower-left (origin) and upper-right corners, not the extent
    return fd.RectangleMesh(len(x) - 1, len(y) - 1, x[-1], y[-1], originX=x[0], originY=y[0],
                            quadrilateral=True, **kwargs)


ICE_CELLS = 1
"""Cell label of the ice-covered base cells in ``ice_base_mesh``."""

WINDOW_SIDES = (1, 2, 3, 4)
"""Boundary ids of the window's sides on a grid base mesh (and on its ice submesh)."""


def ice_base_mesh(x: np.ndarray, y: np.ndarray, ice: np.ndarray, comm=None):
    """The base mesh of the grid points (x, y) (1-D, uniform, m) restricted to the cells with a
    grid point of the (ny, nx) boolean mask ``ice`` at one of their corners; the whole mesh when
    that is every cell."""
    parent = grid_base_mesh(x, y, comm)
    corner = ice[:-1, :-1] | ice[:-1, 1:] | ice[1:, :-1] | ice[1:, 1:]
    if corner.all():
        return parent
    centres = fd.Function(fd.VectorFunctionSpace(parent, "DG", 0)).interpolate(
        fd.SpatialCoordinate(parent)).dat.data_ro_with_halos
    dx = x[1] - x[0]
    i = np.floor((centres[:, 0] - x[0]) / dx).astype(int)
    j = np.floor((centres[:, 1] - y[0]) / dx).astype(int)
    indicator = fd.Function(fd.FunctionSpace(parent, "DG", 0))
    indicator.dat.data_with_halos[:] = corner[j, i]
    return fd.Submesh(fd.RelabeledMesh(parent, [indicator], [ICE_CELLS]), 2, ICE_CELLS)



def grid_lookup(x0: float, y0: float, dx: float, values: np.ndarray):
    """A numpy callable f(x, y) returning ``values[j, i]`` at the grid point nearest (x, y)."""
    ny, nx = values.shape

    def f(x, y):
        i = np.clip(np.rint((np.asarray(x) - x0) / dx).astype(int), 0, nx - 1)
        j = np.clip(np.rint((np.asarray(y) - y0) / dx).astype(int), 0, ny - 1)
        return values[j, i]

    return f


def vertex_function(V, fn, out=None):
    """A Function of the vertex-based scalar space V with the values fn(x, y[, z]) at its nodes
    (written into ``out`` when given)."""
    mesh = V.mesh()
    X = fd.Function(fd.VectorFunctionSpace(mesh, V.ufl_element())).interpolate(
        fd.SpatialCoordinate(mesh))
    xyz = X.dat.data_ro_with_halos
    f = fd.Function(V) if out is None else out
    f.dat.data_with_halos[:] = fn(*[xyz[:, i] for i in range(xyz.shape[1] - 1)])
    return f


def column_space(mesh, vector: bool = False):
    """Q1 in the horizontal x P2 in the vertical: its nodes are the grid points of each column
    at every layer interface and layer midpoint, where a Q2 velocity is read exactly."""
    base_cell = mesh._base_mesh.ufl_cell()
    horizontal = fd.FiniteElement("Q" if base_cell == fd.quadrilateral else "CG",
                                  base_cell, 1)
    element = fd.TensorProductElement(horizontal, fd.FiniteElement("CG", fd.interval, 2))
    if vector:
        return fd.VectorFunctionSpace(mesh, element)
    return fd.FunctionSpace(mesh, element)


def vertex_space(mesh):
    """Q1 (trilinear) scalar space: one node per mesh vertex."""
    base_cell = mesh._base_mesh.ufl_cell()
    horizontal = fd.FiniteElement("Q" if base_cell == fd.quadrilateral else "CG",
                                  base_cell, 1)
    return fd.FunctionSpace(mesh, fd.TensorProductElement(horizontal,
                                                          fd.FiniteElement("CG", fd.interval, 1)))


def node_keys(mesh, degree: int, x0: float, y0: float, dx: float, layers: int) -> np.ndarray:
    """An integer key per node of the continuous degree-``degree`` (1 or 2) spaces on an
    extruded grid mesh whose layers are still at unit height (before ``place_layers``): the
    node's position on the grid refined twice in each direction (half steps dx / 2 from
    (x0, y0), m, and 1 / (2 layers) in height). Nodes of two meshes of the same grid and layer
    count with equal keys are the same point of the same column, whichever cells each mesh
    holds. Local nodes, halos included, in the order of the spaces' data."""
    coords = fd.Function(fd.VectorFunctionSpace(mesh, "CG", degree))
    coords.interpolate(fd.SpatialCoordinate(mesh))
    xyz = coords.dat.data_ro_with_halos
    ix = np.rint((xyz[:, 0] - x0) / (0.5 * dx)).astype(np.int64)
    iy = np.rint((xyz[:, 1] - y0) / (0.5 * dx)).astype(np.int64)
    iz = np.rint(xyz[:, 2] * 2 * layers).astype(np.int64)
    return (ix << 42) | (iy << 21) | iz
