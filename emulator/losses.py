"""The training loss: velocity misfit over ice-covered cells only, in m a-1.

The targets carry one channel more than the outputs: the last channel of ``y_true`` is the
ice mask (1 where thk > the ice threshold, 0 elsewhere), so cells without ice do not count.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="icebench")
class MaskedVelocityLoss(keras.losses.Loss):
    """Weighted mean over fields of the mean squared (``kind='mse'``, (m a-1)^2) or absolute
    (``kind='mae'``, m a-1) error over ice-covered cells.

    ``weights``: one per output channel (default 1). Per field, the error is averaged over
    the ice cells of the whole batch; the loss is ``sum_f w_f err_f / sum_f w_f``. A batch
    without ice gives 0.
    """

    def __init__(self, weights, kind="mse", name="masked_velocity_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if kind not in ("mse", "mae"):
            raise ValueError(f"loss kind must be 'mse' or 'mae', got {kind!r}")
        if not weights or any(float(w) < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"field weights must be >= 0 with a positive sum, got {weights}")
        self.weights = [float(w) for w in weights]
        self.kind = kind

    def call(self, y_true, y_pred):
        mask = y_true[..., -1:]
        diff = (y_true[..., :-1] - y_pred) * mask
        err = ops.square(diff) if self.kind == "mse" else ops.abs(diff)
        cells = ops.maximum(ops.sum(mask), 1.0)
        per_field = ops.sum(err, axis=(0, 1, 2)) / cells
        w = ops.convert_to_tensor(self.weights, dtype=per_field.dtype)
        return ops.sum(per_field * w) / ops.sum(w)

    def get_config(self):
        return {**super().get_config(), "weights": self.weights, "kind": self.kind}


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
