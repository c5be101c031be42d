"""Flow models are found by name through package entry points (group ``icebench.flow_models``):
icebench's own in pyproject.toml and any other installed package's, each module imported only
when its model is asked for."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

from glacier.flow import ENTRY_POINTS, FlowModel, available_models, flow_model_from_spec

ROOT = Path(__file__).resolve().parent.parent

OTHER_PACKAGE = '''"""Flow models of another package."""
from glacier.sia import ClosedFormSIA


def slippery(sliding=True):
    return ClosedFormSIA(sliding=sliding, name="slippery")
'''


def test_icebench_names_its_models_in_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(declared[ENTRY_POINTS]) == {"sia", "hybrid", "ssa", "sia-mahaffy", "stokes",
                                           "emulator"}
    assert set(declared[ENTRY_POINTS]) <= set(available_models())


LAZY = """
import sys
from glacier.flow import available_models, get_flow_model
names = available_models()
model = get_flow_model("sia", sliding=True)
print(",".join(names))
print(",".join(m for m in ("firedrake", "keras", "sia_ssa_solver", "stokes_solver", "emulator")
               if m in sys.modules))
"""


def test_listing_imports_nothing_and_a_model_imports_only_its_module():
    out = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    names, imported = out.stdout.splitlines()[-2:]
    assert {"sia", "hybrid", "stokes", "emulator"} <= set(names.split(","))
    assert imported == ""


def test_another_package_adds_a_model(add_flow_models, small_state):
    add_flow_models({"slippery": "slippery_models:slippery"}, {"slippery_models": OTHER_PACKAGE})
    assert "slippery" in available_models()
    assert "slippery_models" not in sys.modules
    model = flow_model_from_spec("slippery:sliding=false")
    assert isinstance(model, FlowModel) and model.name == "slippery" and not model.sliding
    assert "slippery_models" in sys.modules
    sia = flow_model_from_spec("sia")
    np.testing.assert_array_equal(model.velocity(small_state).ubar, sia.velocity(small_state).ubar)
