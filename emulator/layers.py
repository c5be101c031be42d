"""Custom Keras layers of the emulators, in keras.ops only (TensorFlow and JAX backends).

They travel inside the ``.keras`` files: loading needs ``import emulator.layers`` (done by
every loader in this package), which registers them under the package name ``icebench``.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="icebench")
class FieldScaling(keras.layers.Layer):
    """Per-channel scaling: ``x / scales`` (``inverse=False``: physical units -> network
    units) or ``x * scales`` (``inverse=True``: network units -> physical units).

    ``fields`` names the channels and ``scales`` holds their scales in the fields' units, so
    the scaling is part of the model and readable from its config.
    """

    def __init__(self, fields, scales, inverse=False, **kwargs):
        super().__init__(**kwargs)
        if len(fields) != len(scales):
            raise ValueError(f"{len(fields)} fields but {len(scales)} scales")
        if any(float(s) <= 0 for s in scales):
            raise ValueError(f"scales must be > 0, got {list(scales)}")
        self.fields = [str(f) for f in fields]
        self.scales = [float(s) for s in scales]
        self.inverse = bool(inverse)

    def call(self, x):
        scales = ops.convert_to_tensor(self.scales, dtype=x.dtype)
        return x * scales if self.inverse else x / scales

    def get_config(self):
        return {**super().get_config(), "fields": self.fields, "scales": self.scales,
                "inverse": self.inverse}


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
