"""The companion emulator library shipped in ``library/`` (v001 trained by
``config/library.yaml``, v002 by the lineage its model cards list, docs/emulators.md): on a
fresh clone ``emulator:hybrid`` and ``emulator:stokes`` resolve to its newest bundles from any
working directory, every bundle is complete and valid, and each IGM export computes what its
model does."""

import json

import numpy as np
import pytest

pytest.importorskip("keras")

from emulator.manifest import read_manifest  # noqa: E402
from emulator.model import COMPANION_LIBRARY, default_library, latest_bundle  # noqa: E402
from glacier.fields import make_state  # noqa: E402
from glacier.flow import flow_model_from_spec  # noqa: E402
from glacier.geometry import topography_window  # noqa: E402

INSTRUCTORS = ("hybrid", "stokes")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Another working directory, with a library/ of its own (not looked at), and no
    ICEBENCH_LIBRARY."""
    (tmp_path / "library").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICEBENCH_LIBRARY", raising=False)
    return tmp_path


def _made_up_glacier():
    """A 200 m cone of ice (thk in m) on the held-out Aletsch window, 32 x 32 cells at 100 m."""
    state = topography_window("aletsch_100m", resolution=100.0, x0=420650, y0=5148950,
                              nx=32, ny=32)
    yy, xx = np.mgrid[0:32, 0:32]
    state["thk"] = (("y", "x"), np.clip(200.0 - 12.0 * np.hypot(xx - 16, yy - 16), 0, None))
    state["usurf"] = state.topg + state.thk
    return state


def _bundles(instructor):
    return sorted((COMPANION_LIBRARY / instructor).glob("v[0-9]*"))


@pytest.mark.parametrize("instructor", INSTRUCTORS)
def test_companion_bundles_are_complete_and_at_100_m(instructor, elsewhere):
    """Every shipped version: a valid manifest at 100 m with test scores, the model, its card
    and learning curve, and either the IGM export or the reason it has none; the newest is
    what ``emulator:<instructor>`` loads."""
    assert default_library() == COMPANION_LIBRARY
    bundles = _bundles(instructor)
    assert [b.name for b in bundles][:2] == ["v001", "v002"]
    assert latest_bundle(default_library(), instructor) == bundles[-1]
    for bundle in bundles:
        manifest = read_manifest(bundle)
        assert manifest["instructor"]["name"] == instructor
        assert manifest["valid"]["dx_m"] == pytest.approx([100.0])
        igm = (["igm/100/model.h5", "igm/100/fieldin.dat", "igm/100/fieldout.dat"]
               if manifest.get("igm_export") else [])
        if not igm:
            assert manifest["igm_export_note"]
        for name in ("model.keras", "MODEL_CARD.md", "learning_curve.png", *igm):
            assert (bundle / name).is_file(), f"{bundle.name}/{name}"
        test = manifest["scores"]["test"]
        assert test["samples"] > 0 and -1.0 < test["fidelity_velbar"] <= 1.0


def test_library_environment_variable_wins(elsewhere, monkeypatch):
    monkeypatch.setenv("ICEBENCH_LIBRARY", str(elsewhere / "mine"))
    assert default_library() == elsewhere / "mine"


@pytest.mark.parametrize("instructor", INSTRUCTORS)
def test_companion_emulator_runs_on_a_100_m_glacier(instructor, elsewhere):
    """``emulator:<instructor>`` loads from the companion library and gives finite velocities,
    exactly zero where there is no ice, on the held-out Aletsch window with a made-up glacier."""
    state = _made_up_glacier()
    model = flow_model_from_spec(f"emulator:{instructor}")
    for name in ("arrhenius", "slidingco"):  # the middle of the trained range
        state[name] = (("y", "x"), np.full((32, 32), np.sqrt(np.prod(model.manifest["valid"][name]))))
    vel = model.velocity(state)
    ice = state.thk.values > 1.0
    for field in ("ubar", "vbar", "uvelsurf", "vvelsurf", "uvelbase", "vvelbase"):
        values = vel[field].values
        assert np.isfinite(values).all(), field
        assert (values[~ice] == 0).all(), field
    assert float(np.hypot(vel.ubar, vel.vbar).max()) > 0


@pytest.mark.parametrize("instructor", INSTRUCTORS)
def test_igm_export_computes_what_the_model_does(instructor, elsewhere):
    """The IGM export of each bundle that has one (``model.h5`` on inputs divided by
    ``fieldin.dat``'s scales, outputs times ``fieldout.dat``'s) equals the bundle's model to
    1e-5 on a made-up glacier of the Aletsch window."""
    import keras

    exported = [b for b in _bundles(instructor) if read_manifest(b).get("igm_export")]
    assert exported
    state = _made_up_glacier()
    for bundle in exported:
        model = flow_model_from_spec(f"emulator:path={bundle}")
        for name in ("arrhenius", "slidingco"):
            state[name] = (("y", "x"),
                           np.full((32, 32), np.sqrt(np.prod(model.manifest["valid"][name]))))
        igm = bundle / "igm" / "100"
        fieldin = [line.split() for line in (igm / "fieldin.dat").read_text().splitlines()]
        fieldout = [line.split() for line in (igm / "fieldout.dat").read_text().splitlines()]
        h5 = keras.models.load_model(igm / "model.h5", compile=False)
        assert [f[0] for f in fieldin] == model.inputs
        x = model.input_fields(state)
        in_scale = np.array([float(f[1]) for f in fieldin], dtype="float32")
        out_scale = np.array([float(f[1]) for f in fieldout], dtype="float32")
        ours = np.asarray(model.keras_model(x))
        np.testing.assert_allclose(np.asarray(h5(x / in_scale)) * out_scale, ours,
                                   rtol=1e-5, atol=1e-5 * np.abs(ours).max())
        assert json.loads((bundle / "manifest.json").read_text())["model_file"] == "model.keras"


def test_out_of_range_is_refused_unless_told_to_warn(elsewhere):
    """A state whose c lies above the trained range is refused, naming the field and both
    ranges; ``out_of_range=warn`` (a flow-model option) predicts it with a warning."""
    from glacier.errors import InputError

    model = flow_model_from_spec("emulator:hybrid")
    valid = model.manifest["valid"]
    x = 100.0 * np.arange(16)
    thk = np.full((16, 16), 50.0)
    topg = np.add.outer(-20.0 * np.arange(16), np.zeros(16)) + 2500.0
    state = make_state(x, x, thk=thk, topg=topg, usurf=topg + thk,
                       arrhenius=np.full((16, 16), np.sqrt(np.prod(valid["arrhenius"]))),
                       slidingco=np.full((16, 16), 2.0 * valid["slidingco"][1]))
    with pytest.raises(InputError, match="'slidingco' under ice .* outside the trained range"):
        model.velocity(state)
    lenient = flow_model_from_spec(f"emulator:path={latest_bundle(default_library(), 'hybrid')}"
                                   ":out_of_range=warn")
    with pytest.warns(UserWarning, match="outside the trained range"):
        assert np.isfinite(lenient.velocity(state).ubar.values).all()


INFERENCE_ONLY = """
import sys
for absent in ("dask", "zarr", "firedrake", "petsc4py", "mlflow", "snakemake"):
    sys.modules[absent] = None  # as if not installed: importing it raises ImportError
import numpy as np
from glacier.fields import make_state
from glacier.flow import flow_model_from_spec
model = flow_model_from_spec("emulator:hybrid")
x = 100.0 * np.arange(16)
thk = np.full((16, 16), 50.0)
topg = np.add.outer(-20.0 * np.arange(16), np.zeros(16)) + 2500.0
valid = model.manifest["valid"]
state = make_state(x, x, thk=thk, topg=topg, usurf=topg + thk,
                   arrhenius=np.full((16, 16), np.sqrt(np.prod(valid["arrhenius"]))),
                   slidingco=np.full((16, 16), np.sqrt(np.prod(valid["slidingco"]))))
print(float(np.isfinite(model.velocity(state).ubar.values).all()))
"""


def test_inference_needs_no_data_or_solver_stack(elsewhere):
    """Deploying an emulator (a GPU machine, a laptop) needs numpy, xarray and Keras: loading a
    bundle and computing velocities never imports dask, zarr, Firedrake, MLflow or Snakemake."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", INFERENCE_ONLY], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "1.0"
