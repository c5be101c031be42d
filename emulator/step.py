"""The emulator's fast path for time loops: a thickness array in, velocity arrays out.

``EmulatorFlowModel.velocity`` validates the whole state, computes the slopes on the host,
stacks the input channels and wraps the result in an xarray Dataset at every call; on a GPU
that costs more than the network from 512 x 512 up (docs/evaluation.md). In a time loop only
the thickness changes (the surface is bed + thickness), so ``step_function`` builds the
network's wrapper once and puts the fixed channels (A, c, grid spacing, the bed and its
slopes) on the device once; each call then sends one (y, x) thickness array (m) to the
compiled graph, which computes the slopes, assembles the channels, runs the network and
zeroes the ice-free cells on the device, and returns the six velocity arrays (m a-1, float32
views of one (y, x, 6) array).
"""

import keras
import numpy as np
from keras import ops

from glacier.fields import grid_spacing, surface_slopes
from glacier.flow import StepFunction
from emulator.manifest import GRID_SPACING

MOVING = ("thk", "usurf", "slopsurfx", "slopsurfy")
"""The input channels that change with the thickness in a time loop; the others are fixed."""


def gradient(a, dx: float):
    """(d/dx, d/dy) of a (batch, y, x) tensor on spacing ``dx`` (m) by numpy.gradient's rule:
    centred inside, one-sided at the edges (a ghost value extrapolated linearly gives exactly
    that)."""
    ax = ops.concatenate([2 * a[:, :, :1] - a[:, :, 1:2], a,
                          2 * a[:, :, -1:] - a[:, :, -2:-1]], axis=2)
    ay = ops.concatenate([2 * a[:, :1] - a[:, 1:2], a, 2 * a[:, -1:] - a[:, -2:-1]], axis=1)
    return (ax[:, :, 2:] - ax[:, :, :-2]) / (2 * dx), (ay[:, 2:] - ay[:, :-2]) / (2 * dx)


def _fixed_fields(inputs: list[str]) -> list[str]:
    """The channels of the fixed tensor for a network with ``inputs``: the bed terms of the
    moving channels (``topg`` for usurf, the bed slopes for the surface slopes), then every
    input that does not move."""
    bed = {"usurf": ["topg"], "slopsurfx": ["topg_x"], "slopsurfy": ["topg_y"]}
    return [b for f in inputs for b in bed.get(f, [])] + [f for f in inputs if f not in MOVING]


class StepInputs(keras.layers.Layer):
    """[thk, fixed] -> the network's input channels in the order ``channels`` names them: thk
    (m), usurf = topg + thk, the surface slopes as the bed's (fixed, computed once in float64)
    plus the thickness's (``gradient``, float32 on a field of at most a few hundred m, so no
    precision is lost to the surface's elevation), the other channels from ``fixed``, whose
    channels are ``_fixed_fields(channels)``. Built for one run, never saved."""

    def __init__(self, channels, dx: float, **kwargs):
        super().__init__(**kwargs)
        self.channels = list(channels)
        self.dx = float(dx)

    def call(self, thk, fixed):
        names = _fixed_fields(self.channels)
        h = thk[..., 0]
        column = {name: fixed[..., k] for k, name in enumerate(names)}
        if "slopsurfx" in self.channels or "slopsurfy" in self.channels:
            hx, hy = gradient(h, self.dx)
            column["slopsurfx"] = column.get("topg_x", 0.0) + hx
            column["slopsurfy"] = column.get("topg_y", 0.0) + hy
        column["thk"] = h
        if "usurf" in self.channels:
            column["usurf"] = column["topg"] + h
        return ops.stack([column[name] for name in self.channels], axis=-1)


class IceOnly(keras.layers.Layer):
    """[velocities, thk] -> the velocities where thk > ``threshold`` (m), zero elsewhere."""

    def __init__(self, threshold: float, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, velocities, thk):
        return ops.where(thk > self.threshold, velocities, ops.zeros_like(velocities))


def step_function(network: keras.Model, inputs: list[str], outputs: list[str], state,
                  ice_threshold: float) -> StepFunction:
    """The fast path of ``network`` (inputs named ``inputs`` in physical units, outputs the
    velocity fields ``outputs`` in m a-1) on the bed and fixed fields of ``state``, a state
    the caller has validated: a function ``thk -> {field: array}`` of (y, x) arrays in m and
    m a-1, the surface being ``topg + thk``, the velocities zero where thk <= ``ice_threshold``
    (m), as ``EmulatorFlowModel.velocity`` returns them. A thickness of another shape is
    refused with a ValueError."""
    dx = grid_spacing(state)
    shape = state.thk.shape
    topg = np.asarray(state.topg.values, dtype=float)
    topg_x, topg_y = surface_slopes(topg, dx)
    values = {"topg": topg, "topg_x": topg_x, "topg_y": topg_y,
              GRID_SPACING: np.full(shape, dx)}
    names = _fixed_fields(inputs)
    fixed = ops.convert_to_tensor(np.stack(
        [values[f] if f in values else state[f].values for f in names] or [np.zeros(shape)],
        axis=-1)[None].astype(np.float32))
    thk_in = keras.Input((None, None, 1), name="thk")
    fixed_in = keras.Input((None, None, fixed.shape[-1]), name="fixed")
    channels = StepInputs(inputs, dx, name="step_inputs")(thk_in, fixed_in)
    velocities = IceOnly(ice_threshold, name="ice_only")(network(channels), thk_in)
    wrapper = keras.Model([thk_in, fixed_in], velocities, name="emulator_step")

    def step(thk: np.ndarray) -> dict[str, np.ndarray]:
        if thk.shape != shape:
            raise ValueError(f"the fast path was built for grids of {shape} cells, got a "
                             f"thickness of {thk.shape}")
        y = np.asarray(wrapper.predict_on_batch([np.asarray(thk, np.float32)[None, ..., None],
                                                 fixed]))[0]
        return {f: y[..., i] for i, f in enumerate(outputs)}

    return step
