"""Read a Q2 velocity back on the grid points: surface, base and depth-averaged values.

The column space (Q1 horizontal x P2 vertical) has its nodes at every grid point on each layer
interface and layer midpoint; the Q2 velocity is exact there, and Simpson's rule on each layer
integrates its vertical profile exactly, so the depth average carries no extra error.
"""

import firedrake as fd
import numpy as np

from stokes_solver.mesh import column_space


class Columns:
    """The owned columns of an extruded mesh: horizontal positions (m) and node order."""

    def __init__(self, mesh):
        self.space = column_space(mesh, vector=True)
        xyz = fd.Function(self.space).interpolate(fd.SpatialCoordinate(mesh)).dat.data_ro.copy()
        self.dim = xyz.shape[1]
        nodes_per_column = 2 * mesh.layers - 1
        horizontal = xyz[:, :-1]
        scale = max(float(np.ptp(horizontal)) if horizontal.size else 1.0, 1.0)
        keys = np.rint(horizontal / (1e-7 * scale)).astype(np.int64)
        _, column = np.unique(keys, axis=0, return_inverse=True)
        column = column.ravel()
        order = np.lexsort((xyz[:, -1], column))
        if len(order) % nodes_per_column:
            raise RuntimeError("column nodes do not split into whole columns")
        self.order = order.reshape(-1, nodes_per_column)
        self.xy = horizontal[self.order[:, 0]]
        self.z = xyz[self.order, -1]

    def sample(self, u):
        """Surface, base and depth-averaged horizontal velocity (m a-1) of the vector field
        ``u`` at each owned column: three arrays of shape (ncolumns, dim - 1)."""
        values = fd.Function(self.space).interpolate(u).dat.data_ro[:, :-1][self.order]
        z = self.z
        dz = (z[:, 2::2] - z[:, :-2:2])[:, :, None]
        simpson = dz / 6.0 * (values[:, :-2:2] + 4.0 * values[:, 1::2] + values[:, 2::2])
        thickness = (z[:, -1] - z[:, 0])[:, None]
        return values[:, -1], values[:, 0], simpson.sum(axis=1) / thickness

    def profiles(self, u):
        """All node values of ``u`` (ncolumns, nodes per column, dim), bed to surface."""
        return fd.Function(self.space).interpolate(u).dat.data_ro[self.order]
