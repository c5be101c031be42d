"""The symmetric-dome check of a flow model: does it treat every direction of the grid alike?

A dome of ice on a flat bed, centred on a square grid of cell centres, is unchanged by the 8
symmetries of the grid (rotations by 90 degrees, reflections), so the velocity of any sound flow
model must turn with them and point away from the summit. Two numbers over the ice cells
(thk > 1 m), from the depth-averaged velocity u = (ubar, vbar) (m a-1):

- asymmetry = max over the 7 non-trivial symmetries T of sum |T(u) - u| / sum |u|
  (0 for an exactly equivariant model; |.| the vector magnitude);
- outward = the share of moving cells (|u| > ``MOVING`` m a-1) where u points away from the
  dome's centre (u . r > 0, r from the centre to the cell).

The default dome is the one of the emulators issue: 64 x 64 cells at 100 m, 300 m thick at its
summit, a parabolic profile H = 300 sqrt(1 - (r / 2.5 km)^2) (m), A 78 MPa-3 a-1 and
c 0.05 MPa a1/3 m-1/3, bed at 2000 m.
"""

import numpy as np
import xarray as xr

from glacier.fields import make_state

MOVING = 0.1
"""Speed (m a-1) above which a cell counts as moving for ``outward``."""


def dome_state(n: int = 64, dx: float = 100.0, thickness: float = 300.0,
               radius: float = 2500.0, arrhenius: float = 78.0, slidingco: float = 0.05,
               bed: float = 2000.0) -> xr.Dataset:
    """The dome: ``n`` x ``n`` cells of ``dx`` (m), summit ``thickness`` (m) at the grid's
    centre, ``radius`` (m), uniform A (MPa-3 a-1) and c (MPa a1/3 m-1/3), flat bed at ``bed`` (m)."""
    x = dx * (np.arange(n) - (n - 1) / 2.0)
    X, Y = np.meshgrid(x, x)
    thk = thickness * np.sqrt(np.clip(1.0 - (X**2 + Y**2) / radius**2, 0.0, None))
    return make_state(x, x, topg=np.full((n, n), bed), thk=thk,
                      arrhenius=np.full((n, n), arrhenius), slidingco=np.full((n, n), slidingco))


def symmetry_scores(vel: xr.Dataset, state: xr.Dataset) -> dict:
    """``asymmetry``, ``outward`` (see the module) and the largest speed (m a-1) of the
    velocities ``vel`` of the dome ``state``."""
    from emulator.augment import transform

    ice = state.thk.values > 1.0
    u = np.stack([vel.ubar.values, vel.vbar.values], axis=-1)
    total = np.hypot(u[..., 0], u[..., 1])[ice].sum()
    asymmetry = max(
        np.hypot(*np.moveaxis(transform(u, ["ubar", "vbar"], k) - u, -1, 0))[ice].sum() / total
        for k in range(1, 8))
    X, Y = np.meshgrid(state.x.values - state.x.values.mean(), state.y.values - state.y.values.mean())
    speed = np.hypot(u[..., 0], u[..., 1])
    moving = ice & (speed > MOVING)
    outward = (u[..., 0] * X + u[..., 1] * Y)[moving] > 0
    return {"asymmetry": float(asymmetry), "outward": float(outward.mean()),
            "moving_cells": int(moving.sum()), "max_speed": float(speed[ice].max())}


def dome_check(model, **dome) -> dict:
    """``symmetry_scores`` of ``model`` (a FlowModel) on ``dome_state(**dome)``."""
    state = dome_state(**dome)
    return {**symmetry_scores(model.velocity(state), state), "model": getattr(model, "name", "")}
