"""Fine-tuning on the target during a run: an emulator with level outputs (energy-trained, or
data-trained with ``level_head``) takes one optimiser step
on the first-order energy (emulator/energy.py) of the glacier it is being asked about, every
``every`` velocity calls, before it predicts (IGM's retraining: Adam at 2e-5 every 10 time
steps). No solver and no data: the geometry of the current state is the whole training set.

``EnergyFineTuning.step(x, dx)`` takes the state's network input ``x`` (1, y, x, channels, in
the fields' units, as ``model.EmulatorFlowModel.input_fields`` builds it) on a grid of spacing
``dx`` (m). The network trained is the level-velocity core of the saved model
(``zoo.trainable_core``): the saved model shares its weights, so its next prediction uses them.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from glacier.errors import InputError
from emulator.config import predicts_levels

RETRAIN_RATE = 2e-5
"""Adam learning rate of the fine-tuning steps (IGM's default for retraining in a run)."""


def energy_levels(manifest: dict, source: str) -> int:
    """The level count of an emulator whose network predicts level velocities (trained on the
    energy, or on data with ``level_head``); InputError for any other."""
    config = manifest.get("training", {}).get("config", {})
    if not predicts_levels(config):
        raise InputError(f"emulator {source}: fine-tuning on the target needs an emulator "
                         f"that predicts level velocities (trained on the energy, or with "
                         f"level_head); it was trained with loss '{config.get('loss')}' and "
                         f"no level head")
    return int(config["levels"])


@dataclass
class EnergyFineTuning:
    """One Adam step (rate ``rate``) on the energy of the current state every ``every`` calls of
    ``step``, starting with the first. ``steps``, ``seconds`` and ``energies`` (the energy of
    the prediction before each step, MPa m a-1 per cell) record what it did."""

    keras_model: object
    inputs: list
    levels: int
    every: int
    rate: float = RETRAIN_RATE
    calls: int = 0
    steps: int = 0
    seconds: float = 0.0
    energies: list = field(default_factory=list)
    _core: object = field(default=None, repr=False)
    _dx: float | None = field(default=None, repr=False)

    def __post_init__(self):
        if int(self.every) < 1:
            raise InputError(f"retrain_every must be >= 1 velocity call, got {self.every}")
        if not self.rate > 0:
            raise InputError(f"the fine-tuning rate must be > 0, got {self.rate}")

    def _compiled(self, dx: float):
        import keras
        from emulator.energy import level_heights
        from emulator.losses import EnergyLoss
        from emulator.zoo import trainable_core

        if self._core is None:
            self._core = trainable_core(self.keras_model)
            self._core.compile(optimizer=keras.optimizers.Adam(learning_rate=self.rate),
                               loss=EnergyLoss(self.inputs, dx, level_heights(self.levels)))
            self._dx = dx
        elif abs(dx - self._dx) > 1e-6 * self._dx:
            raise InputError(f"fine-tuning began on a {self._dx:g} m grid; this state has "
                             f"{dx:g} m")
        return self._core

    def step(self, x: np.ndarray, dx: float) -> bool:
        """Count a velocity call on input ``x``; take the step when it is due. True if taken."""
        due = self.calls % int(self.every) == 0
        self.calls += 1
        if not due:
            return False
        core = self._compiled(dx)
        t0 = time.perf_counter()
        loss = core.train_on_batch(x, x)
        self.seconds += time.perf_counter() - t0
        self.steps += 1
        self.energies.append(float(np.asarray(loss if np.ndim(loss) == 0 else loss[0])))
        return True

    def report(self) -> dict:
        """What the fine-tuning has done so far, for a solver report."""
        return {"retrain_every": int(self.every), "retrain_steps": self.steps,
                "retrain_seconds": self.seconds,
                "retrain_energy": self.energies[-1] if self.energies else None}
