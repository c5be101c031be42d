"""The training loss: velocity misfit over ice-covered cells only, in m a-1.

The targets carry one channel more than the outputs: the last channel of ``y_true`` is the
ice mask (1 where thk > the ice threshold, 0 elsewhere), so cells without ice do not count.
"""

import keras
import numpy as np
from keras import ops

from glacier.fields import FLOW_FIELDS

KINDS = ("mse", "mae", "relative_l1", "pooled_l1")
"""The data losses of ``MaskedVelocityLoss``."""

RELATIVE_FLOOR = 1.0
"""Speed (m a-1) added per ice cell to the reference of the relative losses, so that a
nearly stagnant young glacier does not outweigh the rest of its batch."""


@keras.saving.register_keras_serializable(package="icebench")
class MaskedVelocityLoss(keras.losses.Loss):
    """Weighted mean over fields of the mean squared (``kind='mse'``, (m a-1)^2) or absolute
    (``kind='mae'``, m a-1) error over ice-covered cells, or the error as the fidelity
    metric counts it (``kind='relative_l1'`` per sample, ``kind='pooled_l1'`` pooled over the
    batch; dimensionless).

    ``weights``: one per output channel (default 1). mse/mae: per field, the error is
    averaged over the ice cells of the whole batch; the loss is ``sum_f w_f err_f / sum_f
    w_f``. relative_l1: per sample, the sum over ice cells of the error magnitude of each
    vector field (``pairs``: channel indices of its x and y components, a lone channel its
    absolute error) divided by the sum of the first vector's reference magnitude plus
    RELATIVE_FLOOR per cell, i.e. 1 - fidelity of glacier/metrics.py per sample; weighted
    by the x component's weight, averaged over the samples with ice. pooled_l1: the same
    sums added over the batch before the division, as the metric pools a glacier's snapshots:
    a fast sample weighs by its speed, where relative_l1 gives a nearly still one the same
    say as a fast one. A batch without ice gives 0.
    """

    def __init__(self, weights, kind="mse", pairs=None, name="masked_velocity_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if kind not in KINDS:
            raise ValueError(f"loss kind must be one of {KINDS}, got {kind!r}")
        if not weights or any(float(w) < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"field weights must be >= 0 with a positive sum, got {weights}")
        self.weights = [float(w) for w in weights]
        self.kind = kind
        self.pairs = [list(p) for p in pairs] if pairs else [[i] for i in range(len(weights))]

    def _relative_l1(self, y_true, y_pred):
        mask = y_true[..., -1]
        diff = y_true[..., :-1] - y_pred
        cells = ops.sum(mask, axis=(1, 2))

        def magnitude(values, channels):
            squares = sum(ops.square(values[..., c]) for c in channels)
            return ops.sqrt(squares + 1e-6) if len(channels) > 1 else ops.abs(values[..., channels[0]])

        reference = ops.sum(magnitude(y_true, self.pairs[0]) * mask, axis=(1, 2))
        reference = reference + RELATIVE_FLOOR * cells
        total, weight = 0.0, 0.0
        for channels in self.pairs:
            w = self.weights[channels[0]]
            total = total + w * ops.sum(magnitude(diff, channels) * mask, axis=(1, 2))
            weight += w
        if self.kind == "pooled_l1":
            return ops.sum(total) / weight / ops.maximum(ops.sum(reference), 1e-6)
        per_sample = total / weight / ops.maximum(reference, 1e-6)
        has_ice = ops.cast(cells > 0, per_sample.dtype)
        return ops.sum(per_sample * has_ice) / ops.maximum(ops.sum(has_ice), 1.0)

    def call(self, y_true, y_pred):
        if self.kind in ("relative_l1", "pooled_l1"):
            return self._relative_l1(y_true, y_pred)
        mask = y_true[..., -1:]
        diff = (y_true[..., :-1] - y_pred) * mask
        err = ops.square(diff) if self.kind == "mse" else ops.abs(diff)
        cells = ops.maximum(ops.sum(mask), 1.0)
        per_field = ops.sum(err, axis=(0, 1, 2)) / cells
        w = ops.convert_to_tensor(self.weights, dtype=per_field.dtype)
        return ops.sum(per_field * w) / ops.sum(w)

    def get_config(self):
        return {**super().get_config(), "weights": self.weights, "kind": self.kind,
                "pairs": self.pairs}


@keras.saving.register_keras_serializable(package="icebench")
class MaskedRMSE(keras.metrics.Metric):
    """Root mean square error (m a-1) over ice-covered cells, accumulated over an epoch, of
    one output channel (``channel``) or of all (``channel=None``)."""

    def __init__(self, channel=None, name="ice_rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.channel = channel
        self.sum_sq = self.add_variable(shape=(), initializer="zeros", name="sum_sq")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = y_true[..., -1:]
        diff = (y_true[..., :-1] - y_pred) * mask
        n = ops.shape(y_pred)[-1]
        if self.channel is not None:
            diff = diff[..., self.channel: self.channel + 1]
            n = 1
        self.sum_sq.assign_add(ops.sum(ops.square(diff)))
        self.count.assign_add(ops.sum(mask) * ops.cast(n, mask.dtype))

    def result(self):
        return ops.sqrt(self.sum_sq / ops.maximum(self.count, 1.0))

    def reset_state(self):
        self.sum_sq.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "channel": self.channel}


@keras.saving.register_keras_serializable(package="icebench")
class EnergyLoss(keras.losses.Loss):
    """The first-order energy (emulator/energy.py, MPa m a-1 per cell) of the predicted level
    velocities (batch, y, x, 2 L: u then v) on the states whose input fields come as
    ``y_true`` (batch, y, x, channels named ``inputs``, physical units: thk, slopsurfx,
    slopsurfy, arrhenius, slidingco among them), on a grid of spacing ``dx`` (m) with levels at
    ``zeta``. No velocity data: the network learns the velocity that minimises the energy."""

    def __init__(self, inputs, dx, zeta, name="energy_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        missing = set(FLOW_FIELDS) - set(inputs)
        if missing:
            raise ValueError(f"the energy loss needs the input field(s) {sorted(missing)}")
        self.inputs, self.dx, self.zeta = list(inputs), float(dx), [float(z) for z in zeta]

    def call(self, y_true, y_pred):
        from emulator.energy import energy
        field = {name: y_true[..., i] for i, name in enumerate(self.inputs)}
        n = len(self.zeta)
        per_sample = energy(y_pred[..., :n], y_pred[..., n:], field["thk"], field["slopsurfx"],
                            field["slopsurfy"], field["arrhenius"], field["slidingco"],
                            self.dx, np.asarray(self.zeta))
        return ops.mean(per_sample)

    def get_config(self):
        return {**super().get_config(), "inputs": self.inputs, "dx": self.dx, "zeta": self.zeta}
