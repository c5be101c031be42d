"""Rule simulation_summary: one CSV line per run."""

import csv
from pathlib import Path

import numpy as np
import xarray as xr

rows = []
for path in map(Path, snakemake.input):  # noqa: F821
    with xr.open_dataset(path) as run:
        speed = np.hypot(run.uvelsurf[-1], run.vvelsurf[-1])
        rows.append({"domain": path.parent.name, "climate": path.stem,
                     "years": float(run.time[-1]), "volume_km3": float(run.volume[-1]) / 1e9,
                     "area_km2": float(run.area[-1]) / 1e6, "max_thk_m": float(run.thk[-1].max()),
                     "max_surface_speed_m_a": float(speed.max())})
with open(snakemake.output[0], "w", newline="") as f:  # noqa: F821
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
