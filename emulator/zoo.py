"""The model zoo: fully convolutional networks from input fields to velocity fields.

Every model has the same outer shape, ``inputs (physical units) -> FieldScaling [+ SiaVelocity
channels] -> [PadToMultiple] -> core -> [CropLike] -> FieldScaling(inverse) -> velocities
(m a-1)``, and runs on any grid size (batch, y, x, channels). ``symmetrized`` wraps a model
into the average of its predictions over the 8 grid symmetries (exactly D4-equivariant). The ``core`` is a nested functional model of
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

from emulator.augment import TRANSFORMS
from emulator.layers import (CoupledSiaVelocity, CropLike, FieldScaling, GridSymmetry,
                             LevelVelocities, PadToMultiple, SiaVelocity)

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
                in_scales: list[float], out_scales: list[float], options: dict | None = None,
                sia_input: bool = False, sia_coupling: list[float] = (),
                log_outputs: bool = False) -> keras.Model:
    """The full model: physical inputs (units of each field) -> velocities (m a-1).

    ``options`` are the keyword arguments of the core builder (``cnn_core``/``unet_core``);
    ``sia_input`` adds the closed-form SIA velocities of the inputs as channels of the core
    (``SiaVelocity``, 2 or 4 channels); ``sia_coupling`` (grid cells) adds those driven by the
    driving stress averaged over each coupling length (``CoupledSiaVelocity``).
    """
    options = dict(options or {})
    builders = {"cnn": cnn_core, "unet": unet_core}
    if architecture not in builders:
        raise ValueError(f"unknown architecture '{architecture}'; choose from {ARCHITECTURES}")
    if architecture == "cnn" and "layers" in options:
        options["layers_"] = options.pop("layers")
    inp = keras.Input((None, None, len(inputs)), name="fields")
    x = FieldScaling(inputs, in_scales, name="scale_inputs")(inp)
    if sia_input:
        sia = SiaVelocity(inputs, name="sia_velocity")(inp)
        x = layers.Concatenate(name="with_sia")([x, sia])
    if sia_coupling:
        coupled = CoupledSiaVelocity(inputs, list(sia_coupling), name="coupled_sia_velocity")(inp)
        x = layers.Concatenate(name="with_coupled_sia")([x, coupled])
    core = builders[architecture](int(x.shape[-1]), len(outputs), **options)
    multiple = pad_multiple(architecture, options)
    if multiple > 1:
        x = PadToMultiple(multiple, name="pad")(x)
    x = core(x)
    if multiple > 1:
        x = CropLike(name="crop")([x, inp])
    out = FieldScaling(outputs, out_scales, inverse=True, compressed=log_outputs,
                       name="velocities")(x)
    return keras.Model(inp, out, name=f"icebench_{architecture}")


def level_names(levels: int) -> list[str]:
    """Output channel names of a network that predicts velocities on ``levels`` levels: the x
    components bed to surface, then the y components."""
    return [f"u{k}" for k in range(levels)] + [f"v{k}" for k in range(levels)]


def with_velocity_fields(model: keras.Model, zeta) -> keras.Model:
    """``model`` (level velocities, ``level_names``) followed by ``LevelVelocities``: a model
    of the six velocity fields (m a-1), as the inference FlowModel expects."""
    out = LevelVelocities(zeta, name="velocity_fields")(model.output)
    return keras.Model(model.input, out, name=f"{model.name}_fields")


def symmetrized(model: keras.Model, inputs: list[str], outputs: list[str]) -> keras.Model:
    """``model`` averaged over the 8 symmetries of the grid: each input turned by a symmetry
    (``GridSymmetry``), predicted, turned back, and the 8 velocity fields (m a-1) averaged. The
    result commutes with every rotation and reflection of the grid (to rounding) at 8 times
    the cost of one prediction; ``model`` keeps its weights and is shared, not copied."""
    inp = keras.Input((None, None, len(inputs)), name="fields")
    turned = [GridSymmetry(k, outputs, inverse=True, name=f"unturn{k}")(
        model(GridSymmetry(k, inputs, name=f"turn{k}")(inp))) for k in TRANSFORMS]
    return keras.Model(inp, layers.Average(name="d4_average")(turned), name=f"{model.name}_d4")


def trainable_core(model: keras.Model) -> keras.Model:
    """The model to train further: ``model`` itself, or the model inside a ``symmetrized``
    average (training goes on without the 8-fold cost; symmetrize again when saving)."""
    if any(layer.name == "d4_average" for layer in model.layers):
        model = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    if any(layer.name == "velocity_fields" for layer in model.layers):
        model = keras.Model(model.input, model.get_layer("velocity_fields").input)
    return model


def field_scaling(model: keras.Model) -> tuple[dict, dict]:
    """The input and output scales ({field: scale}, in each field's units) a model applies."""
    model = trainable_core(model)
    config_in = model.get_layer("scale_inputs").get_config()
    config_out = model.get_layer("velocities").get_config()
    return (dict(zip(config_in["fields"], config_in["scales"])),
            dict(zip(config_out["fields"], config_out["scales"])))


def load_model(path, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` emulator (its custom layers, loss and metrics registered first)."""
    import emulator.losses  # noqa: F401  (registers the loss and metrics for compile=True)

    return keras.models.load_model(path, compile=compile)
