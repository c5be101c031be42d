"""The model zoo: fully convolutional networks from input fields to velocity fields.

Every model has the same outer shape, ``inputs (physical units) -> FieldScaling ->
[PadToMultiple] -> core -> [CropLike] -> FieldScaling(inverse) -> velocities (m a-1)``, and
runs on any grid size (batch, y, x, channels). The ``core`` is a nested functional model of
standard Keras layers only, working in scaled units; it is what the IGM export saves as
``model.h5`` (IGM divides the inputs and multiplies the outputs by the same scales).

Architectures (``architecture`` in the training config):

- ``cnn``: the baseline of Jouvet et al. (2021): ``layers`` convolutions of ``filters``
  3x3 filters with LeakyReLU, then a 1x1 linear convolution (16 x 32: ~140k parameters).
- ``unet``: a U-Net with ``levels`` poolings (two 3x3 convolutions per level, filters
  doubling per level from ``filters``, skip connections); grids are padded internally to
  multiples of 2^levels.
"""

import keras
from keras import layers

from emulator.layers import CropLike, FieldScaling, PadToMultiple

ARCHITECTURES = ("cnn", "unet")


def _conv(x, filters, kernel, slope, name):
    x = layers.Conv2D(filters, kernel, padding="same", name=name)(x)
    return layers.LeakyReLU(negative_slope=slope, name=f"{name}_act")(x)


def cnn_core(n_in: int, n_out: int, layers_: int = 16, filters: int = 32, kernel: int = 3,
             negative_slope: float = 0.01) -> keras.Model:
    """The paper's baseline: a plain stack of same-size convolutions (scaled units)."""
    inp = keras.Input((None, None, n_in), name="scaled_inputs")
    x = inp
    for i in range(layers_):
        x = _conv(x, filters, kernel, negative_slope, f"conv{i}")
    out = layers.Conv2D(n_out, 1, name="velocity")(x)
    return keras.Model(inp, out, name="core")


def unet_core(n_in: int, n_out: int, levels: int = 3, filters: int = 32, kernel: int = 3,
              negative_slope: float = 0.01) -> keras.Model:
    """A U-Net on grids whose sizes are multiples of 2**levels (scaled units)."""
    inp = keras.Input((None, None, n_in), name="scaled_inputs")
    x, skips = inp, []
    for level in range(levels):
        f = filters * 2 ** level
        x = _conv(x, f, kernel, negative_slope, f"down{level}a")
        x = _conv(x, f, kernel, negative_slope, f"down{level}b")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    f = filters * 2 ** levels
    x = _conv(x, f, kernel, negative_slope, "bottom_a")
    x = _conv(x, f, kernel, negative_slope, "bottom_b")
    for level in reversed(range(levels)):
        f = filters * 2 ** level
        x = layers.UpSampling2D(2, name=f"up{level}")(x)
        x = _conv(x, f, kernel, negative_slope, f"up{level}_proj")
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv(x, f, kernel, negative_slope, f"up{level}a")
        x = _conv(x, f, kernel, negative_slope, f"up{level}b")
    out = layers.Conv2D(n_out, 1, name="velocity")(x)
    return keras.Model(inp, out, name="core")


def pad_multiple(architecture: str, options: dict) -> int:
    """Grid sizes the core needs to be multiples of (1: any)."""
    return 2 ** int(options.get("levels", 3)) if architecture == "unet" else 1


def build_model(architecture: str, inputs: list[str], outputs: list[str],
                in_scales: list[float], out_scales: list[float], options: dict | None = None
                ) -> keras.Model:
    """The full model: physical inputs (units of each field) -> velocities (m a-1).

    ``options`` are the keyword arguments of the core builder (``cnn_core``/``unet_core``).
    """
    options = dict(options or {})
    builders = {"cnn": cnn_core, "unet": unet_core}
    if architecture not in builders:
        raise ValueError(f"unknown architecture '{architecture}'; choose from {ARCHITECTURES}")
    if architecture == "cnn" and "layers" in options:
        options["layers_"] = options.pop("layers")
    core = builders[architecture](len(inputs), len(outputs), **options)
    inp = keras.Input((None, None, len(inputs)), name="fields")
    x = FieldScaling(inputs, in_scales, name="scale_inputs")(inp)
    multiple = pad_multiple(architecture, options)
    if multiple > 1:
        x = PadToMultiple(multiple, name="pad")(x)
    x = core(x)
    if multiple > 1:
        x = CropLike(name="crop")([x, inp])
    out = FieldScaling(outputs, out_scales, inverse=True, name="velocities")(x)
    return keras.Model(inp, out, name=f"icebench_{architecture}")


def load_model(path, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` emulator (its custom layers, loss and metrics registered first)."""
    import emulator.losses  # noqa: F401  (registers the loss and metrics for compile=True)

    return keras.models.load_model(path, compile=compile)
