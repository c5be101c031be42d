"""Shared fixtures: small states on regular grids, flow models of another package."""

import numpy as np
import pytest

from glacier.fields import make_state
from glacier.flow import ENTRY_POINTS


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


@pytest.fixture(scope="module")
def add_flow_models(tmp_path_factory):
    """A function that installs, for the tests of one module, a package offering flow models:
    ``add_flow_models({name: "module:factory"}, {module: source})`` writes the package's
    modules and its metadata (entry points of the group ``glacier.flow.ENTRY_POINTS``) into a
    temporary folder and puts that on sys.path, as pip would into site-packages."""
    with pytest.MonkeyPatch.context() as patch:
        def add(models: dict[str, str], modules: dict[str, str] | None = None) -> None:
            site = tmp_path_factory.mktemp("site-packages")
            for module, source in (modules or {}).items():
                (site / f"{module}.py").write_text(source)
            name = f"models_of_{site.name.replace('-', '_')}"  # one distribution per call
            dist = site / f"{name}-1.0.dist-info"
            dist.mkdir()
            (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
            (dist / "entry_points.txt").write_text(
                f"[{ENTRY_POINTS}]\n" + "".join(f"{k} = {v}\n" for k, v in models.items()))
            patch.syspath_prepend(str(site))
        yield add
