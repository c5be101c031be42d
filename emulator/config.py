"""Training configuration: defaults, loading from YAML/JSON, validation.

The keys are those of the config schema's ``training`` section
(glacier/resources/config.schema.yaml), and so are their defaults: every key but
``tracking_uri`` has one there, so an empty config trains the paper's baseline CNN. Units:
lengths in m (``ice_threshold``), velocities in m a-1; ``scales`` in each field's units.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from glacier.errors import InputError
from glacier.fields import FLOW_FIELDS, SIA_FIELDS, VELOCITY_FIELDS
from glacier.schema import defaults
from emulator.tracking import DEFAULT_TRACKING_URI


def _default(key: str):
    """A dataclass field whose default is the schema's default of training key ``key``."""
    return field(default_factory=lambda: defaults("training")[key])


def predicts_levels(config: dict) -> bool:
    """Whether a training config (a ``TrainConfig.to_dict()``, as manifests and training
    summaries store it) makes the network predict the velocity on ``levels`` levels: an energy
    loss, or ``level_head``."""
    return config.get("loss") == "energy" or bool(config.get("level_head"))


def init_path(init: str, instructor) -> str:
    """The initial model's path that ``init`` names for a store of ``instructor``:
    ``{instructor}`` in it replaced by the instructor's name
    (``library/{instructor}/v002`` -> ``library/stokes/v002``)."""
    return init.replace("{instructor}", str(instructor))


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    architecture: ``cnn`` (paper baseline) or ``unet``; ``model``: options of its builder
    (cnn: layers, filters, kernel, negative_slope; unet: levels, filters, kernel,
    negative_slope). inputs/outputs: channel names (``dx`` = grid spacing as a field).
    scales: per-field scale overrides, else (``scaling``) the RMS over the train split
    (``data``) or the fixed scales of real glaciers (``physical``, emulator/data.py
    PHYSICAL_SCALES). ``sia_input``: the closed-form SIA velocities as extra channels
    (emulator/layers.py SiaVelocity). ``sia_coupling``: coupling lengths (m); for each, the
    SIA velocities driven by the driving stress averaged over the ice within that length as
    more channels (emulator/layers.py CoupledSiaVelocity; the store's grid spacing turns them
    into cells). ``log_outputs``: the network predicts each velocity log-compressed,
    asinh(u / 1 m a-1), and the model expands it (emulator/layers.py FieldScaling),
    so that a speed scale that varies by orders of magnitude with A, c and the geometry is
    an additive offset for the network. ``symmetrize``: the saved model averages its
    prediction over the 8 grid symmetries (exactly D4-equivariant, 8x the inference cost).
    ``init``: start from the weights of a trained emulator (bundle, training folder or .keras
    file; its architecture, scales, SIA channels and output compression are kept, whatever
    ``sia_input``, ``sia_coupling`` and ``log_outputs`` say): fine-tuning, e.g. Stokes after
    hybrid; ``{instructor}`` in the path stands for the store's instructor
    (``library/{instructor}/v002``).
    loss: ``mse`` or ``mae`` over ice cells (thk > ice_threshold, m), in m a-1, or
    ``relative_l1`` (1 - fidelity per sample) or ``pooled_l1`` (1 - fidelity of the batch's
    samples pooled, as a glacier's are), weighted per output by ``field_weights``; or
    ``energy``: the first-order energy of emulator/energy.py of velocities the network predicts
    on ``levels`` levels, with no velocity data (the saved model gives the six fields);
    ``init`` then names an emulator with level outputs (energy-trained or ``level_head``).
    ``level_head``: with a data loss, the network predicts the velocity on ``levels`` levels
    too and the six fields are derived from them (emulator/layers.py LevelVelocities), so that
    it can be fine-tuned on the energy later. patch_size: square patches (cells) or None for
    whole glaciers.
    learning rate: Adam with a cosine decay from ``learning_rate`` to
    ``learning_rate * min_lr_fraction`` over all epochs (``lr_schedule: constant`` to keep it).
    Early stopping on the validation loss after ``patience`` epochs without improvement.
    ``epoch_repeats``: each epoch visits every training sample that many times (its own patch
    and symmetry each time), for small stores on fast devices.
    ``train_fraction``: the share of the training runs used (whole runs, drawn by the seed;
    emulator/data.py run_subset), for fidelity-vs-data-size curves.
    mlflow: log the run to ``tracking_uri`` (one experiment per instructor).
    """

    architecture: str = _default("architecture")
    model: dict = _default("model")
    inputs: list = _default("inputs")
    outputs: list = _default("outputs")
    scales: dict = _default("scales")
    scaling: str = _default("scaling")
    sia_input: bool = _default("sia_input")
    sia_coupling: list = _default("sia_coupling")
    log_outputs: bool = _default("log_outputs")
    symmetrize: bool = _default("symmetrize")
    init: str | None = _default("init")
    levels: int = _default("levels")
    level_head: bool = _default("level_head")
    loss: str = _default("loss")
    field_weights: dict = _default("field_weights")
    ice_threshold: float = _default("ice_threshold")
    batch_size: int = _default("batch_size")
    patch_size: int | None = _default("patch_size")
    augment: bool = _default("augment")
    epochs: int = _default("epochs")
    epoch_repeats: int = _default("epoch_repeats")
    learning_rate: float = _default("learning_rate")
    lr_schedule: str = _default("lr_schedule")
    min_lr_fraction: float = _default("min_lr_fraction")
    patience: int = _default("patience")
    train_fraction: float = _default("train_fraction")
    seed: int = _default("seed")
    deterministic: bool = _default("deterministic")
    workers: int = _default("workers")
    mlflow: bool = _default("mlflow")
    tracking_uri: str = DEFAULT_TRACKING_URI
    register: bool = _default("register")

    def __post_init__(self):
        from emulator.losses import KINDS
        from emulator.zoo import ARCHITECTURES
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"architecture '{self.architecture}' unknown; choose from {ARCHITECTURES}")
        if self.loss not in (*KINDS, "energy"):
            raise InputError(f"loss must be one of {[*KINDS, 'energy']}, got "
                             f"'{self.loss}'")
        if self.loss == "energy":
            needed = set(FLOW_FIELDS) - set(self.inputs)
            if needed:
                raise InputError(f"loss 'energy' needs the inputs {list(FLOW_FIELDS)} (missing "
                                 f"{sorted(needed)})")
        if self.level_velocities and list(self.outputs) != list(VELOCITY_FIELDS):
            raise InputError(f"loss 'energy' and level_head need the six velocity outputs "
                             f"{list(VELOCITY_FIELDS)}, got {list(self.outputs)}")
        if self.level_velocities and int(self.levels) < 2:
            raise InputError(f"levels must be >= 2, got {self.levels}")
        if self.scaling not in ("data", "physical"):
            raise InputError(f"scaling must be 'data' or 'physical', got '{self.scaling}'")
        needed = set(SIA_FIELDS) - set(self.inputs)
        if self.sia_input and needed:
            raise InputError(f"sia_input needs the input(s) {sorted(needed)} (inputs: {self.inputs})")
        if self.sia_coupling and needed:
            raise InputError(f"sia_coupling needs the input(s) {sorted(needed)} (inputs: "
                             f"{self.inputs})")
        if any(float(length) <= 0 for length in self.sia_coupling):
            raise InputError(f"sia_coupling lengths must be > 0 m, got {list(self.sia_coupling)}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise InputError(f"lr_schedule must be 'cosine' or 'constant', got '{self.lr_schedule}'")
        unknown = set(self.field_weights) - set(self.outputs)
        if unknown:
            raise InputError(f"field_weights name fields that are not outputs: {sorted(unknown)}")
        if "thk" not in self.inputs:
            raise InputError(f"inputs must include 'thk' (got {self.inputs})")
        for name in ("batch_size", "epochs", "epoch_repeats"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.patch_size is not None and int(self.patch_size) < 4:
            raise InputError(f"patch_size must be >= 4 cells or null, got {self.patch_size}")
        if not 0 < float(self.train_fraction) <= 1:
            raise InputError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if self.learning_rate <= 0 or not 0 < self.min_lr_fraction <= 1:
            raise InputError("learning_rate must be > 0 and min_lr_fraction in (0, 1]")

    @property
    def level_velocities(self) -> bool:
        """The network predicts the velocity on ``levels`` levels (energy loss or
        ``level_head``)."""
        return predicts_levels({"loss": self.loss, "level_head": self.level_head})

    def weights(self) -> list[float]:
        """Loss weight of each output, in output order."""
        return [float(self.field_weights.get(f, 1.0)) for f in self.outputs]

    def pairs(self) -> list[list[int]]:
        """Output channel indices of each vector field (x, y) and of each lone channel, in
        output order."""
        from emulator.augment import VECTOR_PAIRS
        index = {name: i for i, name in enumerate(self.outputs)}
        pairs, taken = [], set()
        for i, name in enumerate(self.outputs):
            if i in taken:
                continue
            x_name = next((x for x, y in VECTOR_PAIRS.items() if name in (x, y)), None)
            pair = [index.get(x_name), index.get(VECTOR_PAIRS.get(x_name))]
            pair = pair if None not in pair else [i]
            pairs.append(pair)
            taken.update(pair)
        return pairs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(source=None, **overrides) -> TrainConfig:
    """A TrainConfig from a YAML/JSON file path, a dict or None (defaults), then
    ``overrides``; unknown keys raise InputError naming them."""
    if source is None:
        values = {}
    elif isinstance(source, dict):
        values = dict(source)
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"training config '{path}' does not exist")
        text = path.read_text()
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            import yaml
            values = yaml.safe_load(text) or {}
        if not isinstance(values, dict):
            raise InputError(f"training config '{path}' is not a mapping")
    values.update(overrides)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown training config key(s) {unknown}; known: {sorted(known)}")
    return TrainConfig(**values)
