"""Small but real training stores for tests and demonstrations: glaciers grown with the
closed-form SIA (with Weertman sliding) on synthetic valleys, assembled by glacier.dataset
into the same Zarr format (format_version 1) as the workflow's instructor stores."""

from pathlib import Path

import numpy as np

from glacier.dataset import assemble, write_store
from glacier.evolve import EvolveSettings, evolve
from glacier.fields import complete_state
from glacier.flow import get_flow_model
from glacier.io import write_dataset
from glacier.geometry import synthetic_valley
from glacier.smb import ElaSmb

DEFAULT_DOMAINS = {"valley_1": "train", "valley_2": "train", "valley_3": "val", "valley_4": "test"}


def sia_run(seed: int, nx: int, ny: int, resolution: float, years: float, interval: float,
            arrhenius: float, slidingco: float, ela: float = 2900.0):
    """Snapshots of a glacier grown for ``years`` (a) on synthetic_valley(seed), in the run
    file layout of the data generation with the single instructor ``sia``."""
    state = complete_state(synthetic_valley(seed, nx, ny, resolution), arrhenius=arrhenius,
                           slidingco=slidingco)
    run = evolve(state, get_flow_model("sia", sliding=True), ElaSmb(ela=ela),
                 EvolveSettings(years=years, output_interval=interval), show_progress=False)
    n = run.sizes["time"]
    run = run.rename({f: f"sia_{f}" for f in ("ubar", "vbar", "uvelsurf", "vvelsurf",
                                               "uvelbase", "vvelbase")})
    run["sia_converged"] = ("time", np.ones(n, dtype=bool))
    run["sia_seconds"] = ("time", np.zeros(n))
    return run


def build_sia_store(path, domains: dict[str, str] | None = None, nx: int = 32, ny: int = 32,
                    resolution: float = 200.0, years: float = 50.0, interval: float = 5.0,
                    arrhenius=(60.0, 90.0), slidingco=(0.05, 0.1), seed: int = 0) -> Path:
    """Write a store of SIA samples at ``path`` (.zarr); ``domains`` maps a name
    ``<anything>_<seed>`` to its split. Each domain gets its own constant A (MPa-3 a-1) and c
    (MPa a1/3 m-1/3), drawn from the given ranges with ``seed``; run files go beside the
    store in ``<path>.runs/``."""
    path = Path(path)
    domains = domains or DEFAULT_DOMAINS
    rng = np.random.default_rng(seed)
    runs_dir = path.with_name(path.name + ".runs")
    files = {}
    for name in domains:
        a, c = rng.uniform(*arrhenius), rng.uniform(*slidingco)
        run = sia_run(int(name.rsplit("_", 1)[-1]), nx, ny, resolution, years, interval, a, c)
        files[(name, "growth", 0)] = write_dataset(run, runs_dir / f"{name}.nc")
    data = assemble(files, "sia", domains, {"seed": seed, "config_hash": "testing",
                                            "code_version": "testing"},
                    keep_border_ice=True)  # the valleys' heads stand on the border
    return write_store(data, path)
