"""Shared fixtures: small states on regular grids."""

import numpy as np
import pytest

from glacier.fields import make_state


@pytest.fixture
def small_state():
    """A 12 x 10 grid at 100 m with a smooth 0-150 m ice cap on an inclined bed."""
    x = 100.0 * np.arange(12)
    y = 100.0 * np.arange(10)
    X, Y = np.meshgrid(x, y)
    thk = np.clip(150.0 - ((X - 550) ** 2 + (Y - 450) ** 2) / 1500.0, 0.0, None)
    topg = 2000.0 - 0.05 * X
    return make_state(x, y, topg=topg, thk=thk)


@pytest.fixture(scope="session")
def full_scale() -> bool:
    """True when ICEBENCH_TEST_SCALE=full: slow tests then run at full size (make test-slow);
    by default they run a small but real version, as in CI."""
    import os
    return os.environ.get("ICEBENCH_TEST_SCALE", "ci") == "full"
