"""Figures of the evaluation (PNG): error maps, transient volume and thickness, century runs,
speed ladder."""

from pathlib import Path

import numpy as np

from glacier.figures import pyplot, save_figure
from glacier.metrics import ICE_THRESHOLD


def _extent(x, y) -> list[float]:
    dx = float(x[1] - x[0])
    return [float(x[0]) - dx / 2, float(x[-1]) + dx / 2, float(y[0]) - dx / 2, float(y[-1]) + dx / 2]


def error_maps(x, y, thk, vel, ref, path, title: str = "") -> Path:
    """Three maps over the ice (thk > 1 m): reference surface speed, the model's surface speed
    (same colour scale, m a-1) and their difference (model - reference, m a-1)."""
    plt = pyplot()
    ice = np.asarray(thk) > ICE_THRESHOLD
    speed_ref = np.where(ice, np.hypot(ref["uvelsurf"], ref["vvelsurf"]), np.nan)
    speed = np.where(ice, np.hypot(vel["uvelsurf"], vel["vvelsurf"]), np.nan)
    diff = speed - speed_ref
    top = float(np.nanmax(speed_ref)) if ice.any() else 1.0
    lim = float(np.nanmax(np.abs(diff))) if ice.any() else 1.0
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    panels = ((speed_ref, "reference surface speed (m/a)", "magma", 0.0, top),
              (speed, "model surface speed (m/a)", "magma", 0.0, top),
              (diff, "model - reference (m/a)", "RdBu_r", -lim, lim))
    for ax, (field, label, cmap, lo, hi) in zip(axes, panels):
        im = ax.imshow(field, origin="lower", extent=_extent(x, y), cmap=cmap, vmin=lo, vmax=hi)
        fig.colorbar(im, ax=ax, shrink=0.85, label=label)
        ax.set_xlabel("x (m)")
    axes[0].set_ylabel("y (m)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def volume_plot(numbers: dict, path) -> Path:
    """Ice volume (km3) against time (a) of the model's and the reference's runs, and their
    relative difference (%), from ``evaluation.transient`` numbers."""
    plt = pyplot()
    t = np.asarray(numbers["time_a"])
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6.5, 5.5), sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    ax.plot(t, np.asarray(numbers["volume_ref_m3"]) / 1e9, "k-", label=numbers["reference"])
    ax.plot(t, np.asarray(numbers["volume_m3"]) / 1e9, "C1--", label=numbers["model"])
    ax.set_ylabel("ice volume (km$^3$)")
    ax.legend()
    rel = np.array([np.nan if v is None else v for v in numbers["rel_volume_diff"]], dtype=float)
    ax2.plot(t, 100 * rel, "C3-")
    ax2.axhline(0.0, color="0.6", lw=0.8)
    ax2.set_ylabel("volume difference (%)")
    ax2.set_xlabel("time (a)")
    return save_figure(fig, path)


def thickness_maps(x, y, thk, thk_ref, path, labels=("model", "reference")) -> Path:
    """End thickness (m) of the two runs and their difference (m)."""
    plt = pyplot()
    thk, thk_ref = np.asarray(thk), np.asarray(thk_ref)
    top = max(float(thk.max()), float(thk_ref.max()), 1.0)
    diff = np.where((thk > ICE_THRESHOLD) | (thk_ref > ICE_THRESHOLD), thk - thk_ref, np.nan)
    lim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    panels = ((np.where(thk > ICE_THRESHOLD, thk, np.nan), f"{labels[0]} thickness (m)", "Blues", 0, top),
              (np.where(thk_ref > ICE_THRESHOLD, thk_ref, np.nan), f"{labels[1]} thickness (m)",
               "Blues", 0, top),
              (diff, f"{labels[0]} - {labels[1]} (m)", "RdBu_r", -lim, lim))
    for ax, (field, label, cmap, lo, hi) in zip(axes, panels):
        im = ax.imshow(field, origin="lower", extent=_extent(x, y), cmap=cmap, vmin=lo, vmax=hi)
        fig.colorbar(im, ax=ax, shrink=0.85, label=label)
        ax.set_xlabel("x (m)")
    axes[0].set_ylabel("y (m)")
    return save_figure(fig, path)


def century_figure(runs: dict, reference: str, path, title: str = "") -> Path:
    """One glacier's century runs (label -> ``evaluation.century.driver_run`` output): top row,
    the end thickness of every driver (m, one colour scale); bottom row, each driver's end
    thickness minus the reference's (m) and, last, the ice volume (km3) of every driver
    against time (a). A run that stopped early shows its last thickness."""
    plt = pyplot()
    labels = [reference] + [label for label in runs if label != reference]
    ref = runs[reference]
    n = ref.sizes["time"]
    end = {label: runs[label].thk.values[min(n, runs[label].sizes["time"]) - 1]
           for label in labels}
    top = max(max(float(thk.max()) for thk in end.values()), 1.0)
    diffs = {label: np.where((end[label] > ICE_THRESHOLD) | (end[reference] > ICE_THRESHOLD),
                             end[label] - end[reference], np.nan) for label in labels[1:]}
    lim = max([float(np.nanmax(np.abs(d))) for d in diffs.values() if np.isfinite(d).any()]
              or [1.0])
    cols = len(labels)
    fig, axes = plt.subplots(2, cols, figsize=(3.6 * cols, 6.6), squeeze=False)
    extent = _extent(ref.x.values, ref.y.values)
    for k, label in enumerate(labels):
        im = axes[0, k].imshow(np.where(end[label] > ICE_THRESHOLD, end[label], np.nan),
                               origin="lower", extent=extent, cmap="Blues", vmin=0, vmax=top)
        years = float(runs[label].time[min(n, runs[label].sizes["time"]) - 1])
        axes[0, k].set_title(f"{label}, {years:g} a", fontsize=9)
        fig.colorbar(im, ax=axes[0, k], shrink=0.8, label="thickness (m)")
    for k, label in enumerate(labels[1:]):
        im = axes[1, k].imshow(diffs[label], origin="lower", extent=extent, cmap="RdBu_r",
                               vmin=-lim, vmax=lim)
        axes[1, k].set_title(f"{label} - {reference}", fontsize=9)
        fig.colorbar(im, ax=axes[1, k], shrink=0.8, label="m")
    ax = axes[1, -1]
    for k, label in enumerate(labels):
        run = runs[label]
        ax.plot(run.time.values, run.volume.values / 1e9, "-" if label == reference else "--",
                color="k" if label == reference else f"C{k}", label=label)
    ax.set_xlabel("time (a)")
    ax.set_ylabel("ice volume (km$^3$)")
    ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def speed_plot(rows: list[dict], path, title: str | None = None) -> Path:
    """Wall time of one velocity field (s) against the number of grid cells, log-log, one line
    per model (and device), and a dashed one of its warm solves (the next snapshot from the last
    solution, ``warm_seconds``) where those take under 0.8 of the median on every grid (a solver
    that starts from its last solution); ``title`` defaults to the protocol and the rows' core
    count."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    labels = list(dict.fromkeys((r["model"], r["device"]) for r in rows))
    for model, device in labels:
        pts = sorted((r["nx"] * r["ny"], r["seconds"]) for r in rows
                     if r["model"] == model and r["device"] == device and r["seconds"] is not None)
        if not pts:
            continue
        cells, secs = zip(*pts)
        name = model if device == "cpu" else f"{model} ({device})"
        line, = ax.loglog(cells, secs, "o-", label=name)
        warm = {r["nx"] * r["ny"]: r["warm_seconds"] for r in rows
                if r["model"] == model and r["device"] == device and r.get("warm_seconds")}
        if len(warm) == len(pts) and all(warm[c] < 0.8 * s for c, s in pts):
            ax.loglog(cells, [warm[c] for c in cells], "s--", color=line.get_color(),
                      label=f"{name}, warm")
    ax.set_xlabel("grid cells")
    ax.set_ylabel("wall time of one velocity field (s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title or f"median of repeated runs, batch 1, {rows[0]['cores']} cores")
    return save_figure(fig, path)


def fidelity_bars(scores: dict[str, dict[str, float]], path, ylabel: str = "velbar fidelity",
                  title: str = "") -> Path:
    """Grouped bars: for each glacier (the inner keys, in first-seen order) one bar per model
    (the outer keys, in order); a missing score leaves a gap. Fidelity is 1 - sum|error| /
    sum|reference| over the ice (glacier/metrics.py), so bars below 0 are shown as they are."""
    plt = pyplot()
    glaciers = list(dict.fromkeys(g for per in scores.values() for g in per))
    width = 0.8 / max(1, len(scores))
    fig, ax = plt.subplots(figsize=(1.2 + 1.6 * len(glaciers), 4))
    for k, (label, per) in enumerate(scores.items()):
        xs = [i + (k - (len(scores) - 1) / 2) * width for i, g in enumerate(glaciers) if g in per]
        ax.bar(xs, [per[g] for g in glaciers if g in per], width, label=label)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(len(glaciers)), glaciers)
    ax.set_ylabel(ylabel)
    ax.set_ylim(min(0.0, *(v for per in scores.values() for v in per.values())) - 0.05, 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
