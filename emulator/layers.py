"""Custom Keras layers of the emulators, in keras.ops only (TensorFlow and JAX backends).

They travel inside the ``.keras`` files: loading needs ``import emulator.layers`` (done by
every loader in this package), which registers them under the package name ``icebench``.
"""

import math

import keras
from keras import ops

from glacier.constants import RHO_G
from glacier.fields import SIA_FIELDS
from emulator.augment import TRANSFORMS, channel_roles
from emulator.energy import depth_average

COMPRESSED_SPEED = 1.0
"""Reference speed (m a-1) of the log-compressed velocities: the SIA channels' and the
outputs' of ``log_outputs`` emulators."""

COMPRESSED_MAX = 12.0
"""Largest compressed value |z| that ``FieldScaling(compressed=True)`` expands: sinh(12) =
8.1e4 times the scale, above any glacier speed in m a-1 at a scale of 1 m a-1."""


@keras.saving.register_keras_serializable(package="icebench")
class FieldScaling(keras.layers.Layer):
    """Per-channel scaling: ``x / scales`` (``inverse=False``: physical units -> network
    units) or ``x * scales`` (``inverse=True``: network units -> physical units).

    ``fields`` names the channels and ``scales`` holds their scales in the fields' units, so
    the scaling is part of the model and readable from its config. ``compressed`` (inverse
    only): the network's outputs are log-compressed, z = asinh(u / scale) (linear below the
    scale, sign(u) log(2 |u| / scale) above it, as the SIA channels of ``SiaVelocity`` nearly
    are), and are expanded to u = scale sinh(z), z clipped to +-``COMPRESSED_MAX``.
    """

    def __init__(self, fields, scales, inverse=False, compressed=False, **kwargs):
        super().__init__(**kwargs)
        if len(fields) != len(scales):
            raise ValueError(f"{len(fields)} fields but {len(scales)} scales")
        if any(float(s) <= 0 for s in scales):
            raise ValueError(f"scales must be > 0, got {list(scales)}")
        if compressed and not inverse:
            raise ValueError("only the inverse scaling (network -> physical units) expands")
        self.fields = [str(f) for f in fields]
        self.scales = [float(s) for s in scales]
        self.inverse = bool(inverse)
        self.compressed = bool(compressed)

    def call(self, x):
        scales = ops.convert_to_tensor(self.scales, dtype=x.dtype)
        if self.compressed:
            return scales * ops.sinh(ops.clip(x, -COMPRESSED_MAX, COMPRESSED_MAX))
        return x * scales if self.inverse else x / scales

    def get_config(self):
        return {**super().get_config(), "fields": self.fields, "scales": self.scales,
                "inverse": self.inverse, "compressed": self.compressed}


@keras.saving.register_keras_serializable(package="icebench")
class PadToMultiple(keras.layers.Layer):
    """Zero-pad the (y, x) axes at their ends up to the next multiple of ``multiple`` cells
    (a U-Net with k poolings needs multiples of 2^k); zero is 'no ice' in network units."""

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, x):
        shape = ops.shape(x)
        pad_y = (-shape[1]) % self.multiple
        pad_x = (-shape[2]) % self.multiple
        return ops.pad(x, [[0, 0], [0, pad_y], [0, pad_x], [0, 0]])

    def compute_output_shape(self, input_shape):
        def up(n):
            return None if n is None else -(-n // self.multiple) * self.multiple
        return (input_shape[0], up(input_shape[1]), up(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="icebench")
class CropLike(keras.layers.Layer):
    """Crop ``[padded, reference]``: the first tensor to the (y, x) size of the second."""

    def call(self, inputs):
        padded, reference = inputs
        shape = ops.shape(reference)
        return padded[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shapes):
        padded, reference = input_shapes
        return (padded[0], reference[1], reference[2], padded[3])


@keras.saving.register_keras_serializable(package="icebench")
class SiaVelocity(keras.layers.Layer):
    """The closed-form shallow-ice velocities of the input fields, as extra network channels.

    From the physical inputs ``thk`` (m), ``slopsurfx``, ``slopsurfy`` (1) and ``arrhenius``
    (MPa-3 a-1), named by ``fields``, the depth-averaged deformation velocity of the SIA with
    Glen n = 3 (glacier/sia.py ``sia_velocities``),

        u_def = -2 A (rho g)^3 H^4 |grad s|^2 grad s / 5   (m a-1),

    and, where ``slidingco`` (c, MPa a1/3 m-1/3) is among the fields, the local Weertman
    sliding velocity u_b = -(rho g H / c)^3 |grad s|^2 grad s (m a-1, c floored at 1e-3).
    On steep, thick ice these reach 1e5 m a-1, so each component is compressed to
    sign(u) log(1 + |u| / ``reference_speed``) (network units, ``reference_speed`` in m a-1).
    Output: (batch, y, x, 2) or (..., 4), x and y components in that order per velocity.
    """

    def __init__(self, fields, reference_speed=COMPRESSED_SPEED, **kwargs):
        super().__init__(**kwargs)
        self.fields = [str(f) for f in fields]
        missing = set(SIA_FIELDS) - set(self.fields)
        if missing:
            raise ValueError(f"the SIA channels need the input field(s) {sorted(missing)}")
        self.reference_speed = float(reference_speed)

    def call(self, x):
        index = {name: i for i, name in enumerate(self.fields)}
        thk = ops.maximum(x[..., index["thk"]], 0.0)
        sx, sy = x[..., index["slopsurfx"]], x[..., index["slopsurfy"]]
        slope2 = sx * sx + sy * sy
        deformation = 0.4 * x[..., index["arrhenius"]] * RHO_G**3 * thk**4 * slope2
        velocities = [-deformation * sx, -deformation * sy]
        if "slidingco" in index:
            c = ops.maximum(x[..., index["slidingco"]], 1e-3)
            sliding = (RHO_G * thk / c) ** 3 * slope2
            velocities += [-sliding * sx, -sliding * sy]
        u = ops.stack(velocities, axis=-1)
        return ops.sign(u) * ops.log1p(ops.abs(u) / self.reference_speed)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], 4 if "slidingco" in self.fields else 2)

    def get_config(self):
        return {**super().get_config(), "fields": self.fields,
                "reference_speed": self.reference_speed}


def gaussian_taps(sigma: float) -> list[float]:
    """The normalized 1-D Gaussian weights of standard deviation ``sigma`` (cells), out to
    3 sigma (at least one tap each side)."""
    radius = max(1, math.ceil(3.0 * sigma))
    taps = [math.exp(-0.5 * (k / sigma) ** 2) for k in range(-radius, radius + 1)]
    return [t / sum(taps) for t in taps]


@keras.saving.register_keras_serializable(package="icebench")
class CoupledSiaVelocity(keras.layers.Layer):
    """The shallow-ice velocities of ``SiaVelocity`` driven by the driving stress averaged over
    the ice within a longitudinal coupling length, as extra network channels.

    On steep ice the local driving stress tau = -rho g H grad s (MPa) is carried by membrane
    stresses over several ice thicknesses, so the local SIA is 24-830 times too fast on the
    massif glaciers of config/library_v002.yaml (docs/emulators.md). For each coupling length
    ``sigmas`` (Gaussian standard deviation, grid cells) this layer averages tau over the ice
    cells (thk > 0) with Gaussian weights, normalized by the weighted ice share so that ice-free
    cells do not count, and gives the deformation velocity 2 A H |tau_s|^2 tau_s / 5 and, where
    ``slidingco`` is an input, the Weertman sliding velocity |tau_s|^2 tau_s / c^3 (m a-1, c
    floored at 1e-3), zero off the ice, compressed as in ``SiaVelocity``. With tau_s = tau
    these are ``SiaVelocity``'s channels; the Gaussian is isotropic, so the channels turn
    with the grid. Output: (batch, y, x, 2 or 4 per length), x then y per velocity.
    """

    def __init__(self, fields, sigmas, reference_speed=COMPRESSED_SPEED, **kwargs):
        super().__init__(**kwargs)
        self.fields = [str(f) for f in fields]
        missing = set(SIA_FIELDS) - set(self.fields)
        if missing:
            raise ValueError(f"the SIA channels need the input field(s) {sorted(missing)}")
        self.sigmas = [float(s) for s in sigmas]
        if not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"coupling lengths must be > 0 cells, got {self.sigmas}")
        self.reference_speed = float(reference_speed)

    @staticmethod
    def _smooth(x, taps):
        """Separable Gaussian filter of the channels of x (zero outside the grid)."""
        n, channels = len(taps), int(x.shape[-1])
        kernel = ops.convert_to_tensor(taps, dtype=x.dtype)
        along_y = ops.tile(ops.reshape(kernel, (n, 1, 1, 1)), (1, 1, channels, 1))
        along_x = ops.tile(ops.reshape(kernel, (1, n, 1, 1)), (1, 1, channels, 1))
        x = ops.depthwise_conv(x, along_y, strides=1, padding="same")
        return ops.depthwise_conv(x, along_x, strides=1, padding="same")

    def call(self, x):
        index = {name: i for i, name in enumerate(self.fields)}
        thk = ops.maximum(x[..., index["thk"]], 0.0)
        ice = ops.cast(thk > 0.0, x.dtype)
        tau = ops.stack([-RHO_G * thk * x[..., index["slopsurfx"]] * ice,
                         -RHO_G * thk * x[..., index["slopsurfy"]] * ice, ice], axis=-1)
        a = x[..., index["arrhenius"]]
        c = ops.maximum(x[..., index["slidingco"]], 1e-3) if "slidingco" in index else None
        channels = []
        for sigma in self.sigmas:
            smooth = self._smooth(tau, gaussian_taps(sigma))
            weight = ice / ops.maximum(smooth[..., 2], 1e-6)
            tx, ty = smooth[..., 0] * weight, smooth[..., 1] * weight
            t2 = tx * tx + ty * ty
            deformation = 0.4 * a * thk * t2
            channels += [deformation * tx, deformation * ty]
            if c is not None:
                sliding = t2 / c**3
                channels += [sliding * tx, sliding * ty]
        u = ops.stack(channels, axis=-1)
        return ops.sign(u) * ops.log1p(ops.abs(u) / self.reference_speed)

    def compute_output_shape(self, input_shape):
        per_length = 4 if "slidingco" in self.fields else 2
        return (*input_shape[:3], per_length * len(self.sigmas))

    def get_config(self):
        return {**super().get_config(), "fields": self.fields, "sigmas": self.sigmas,
                "reference_speed": self.reference_speed}


@keras.saving.register_keras_serializable(package="icebench")
class GridSymmetry(keras.layers.Layer):
    """Symmetry ``k`` (0..7) of the square grid applied to (batch, y, x, channel) tensors whose
    channels are named by ``fields``, as emulator/augment.py ``transform`` does to arrays: bits
    (transpose, flip x, flip y) in that order, vector fields turned with the grid. With
    ``inverse`` the inverse symmetry (the flips, then the transposition)."""

    def __init__(self, k, fields, inverse=False, **kwargs):
        super().__init__(**kwargs)
        if k not in TRANSFORMS:
            raise ValueError(f"symmetry must be in 0..7, got {k}")
        self.k, self.fields, self.inverse = int(k), [str(f) for f in fields], bool(inverse)
        self._partner, is_x, is_y = channel_roles(self.fields)
        self._flip_x = [-1.0 if i in is_x else 1.0 for i in range(len(self.fields))]
        self._flip_y = [-1.0 if i in is_y else 1.0 for i in range(len(self.fields))]

    def _transpose(self, x):
        return ops.take(ops.transpose(x, (0, 2, 1, 3)), self._partner, axis=-1)

    def _flip(self, x, axis, sign):
        return ops.flip(x, axis=axis) * ops.convert_to_tensor(sign, dtype=x.dtype)

    def call(self, x):
        if self.k & 1 and not self.inverse:
            x = self._transpose(x)
        if self.k & 2:
            x = self._flip(x, 2, self._flip_x)
        if self.k & 4:
            x = self._flip(x, 1, self._flip_y)
        if self.k & 1 and self.inverse:
            x = self._transpose(x)
        return x

    def compute_output_shape(self, input_shape):
        b, ny, nx, c = input_shape
        return (b, nx, ny, c) if self.k & 1 else input_shape

    def get_config(self):
        return {**super().get_config(), "k": self.k, "fields": self.fields,
                "inverse": self.inverse}


@keras.saving.register_keras_serializable(package="icebench")
class LevelVelocities(keras.layers.Layer):
    """The six velocity fields (m a-1; ubar, vbar, uvelsurf, vvelsurf, uvelbase, vvelbase)
    from velocities on terrain-following levels (batch, y, x, 2 L): u at the L levels, then v,
    bed first; ``zeta`` the levels' relative heights (emulator/energy.py ``level_heights``). The
    depth average is the trapezoid rule over the levels, as the energy's."""

    def __init__(self, zeta, **kwargs):
        super().__init__(**kwargs)
        self.zeta = [float(z) for z in zeta]

    def call(self, x):
        n = len(self.zeta)
        u, v = x[..., :n], x[..., n:]
        return ops.stack([depth_average(u, self.zeta), depth_average(v, self.zeta), u[..., -1],
                          v[..., -1], u[..., 0], v[..., 0]], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], 6)

    def get_config(self):
        return {**super().get_config(), "zeta": self.zeta}
