"""Glacier domains: windows of real topographies, seeded synthetic beds (valley, cirque, ice cap,
dome), exact domes.

All return states (xarray Datasets, IGM names, m) ready for ``validate_state``.
"""

from pathlib import Path

import numpy as np
import xarray as xr
from scipy.ndimage import distance_transform_edt, find_objects, gaussian_filter, label

from glacier.constants import GLEN_N, RHO_G
from glacier.errors import InputError
from glacier.fields import complete_state, grid_spacing, make_state
from glacier.io import open_dataset

TOPOGRAPHY_DIR = Path(__file__).parent / "resources" / "topography"
TOPOGRAPHIES = {p.stem: p for p in sorted(TOPOGRAPHY_DIR.glob("*.nc"))}
"""The bundled Alpine topographies by name (aletsch_100m, linth_200m, ticino_200m)."""


def topography_path(name_or_path: str | Path) -> Path:
    """Path of a bundled topography by name, or the given path."""
    if str(name_or_path) in TOPOGRAPHIES:
        return TOPOGRAPHIES[str(name_or_path)]
    path = Path(name_or_path)
    if not path.exists():
        raise InputError(f"topography '{name_or_path}' is neither a file nor one of "
                         f"{sorted(TOPOGRAPHIES)}")
    return path


def topography_window(source: str | Path, resolution: float | None = None,
                      x0: float | None = None, y0: float | None = None,
                      nx: int | None = None, ny: int | None = None) -> xr.Dataset:
    """An ice-free state from a DEM: optional window of ``nx`` x ``ny`` cells at ``resolution``
    (m) whose lower-left cell centre is (x0, y0) (m); defaults: the whole DEM at its own spacing.

    The bed is ``usurf - thk`` of the file; ``icemask`` is kept if present. Resampling is bilinear.
    """
    ds = open_dataset(topography_path(source)).sortby(["y", "x"])
    bed = ds.usurf - ds.thk if "thk" in ds and "usurf" in ds else ds.get("topg", ds.get("usurf"))
    if bed is None:
        raise InputError(f"'{source}' holds neither 'usurf' nor 'topg'")
    fields = {"topg": bed}
    if "icemask" in ds:
        fields["icemask"] = ds.icemask
    dem = xr.Dataset(fields)
    native = float(dem.x[1] - dem.x[0])
    res = float(resolution or native)
    x0 = float(dem.x[0]) if x0 is None else float(x0)
    y0 = float(dem.y[0]) if y0 is None else float(y0)
    nx = int(nx or np.floor((float(dem.x[-1]) - x0) / res) + 1)
    ny = int(ny or np.floor((float(dem.y[-1]) - y0) / res) + 1)
    x = x0 + res * np.arange(nx)
    y = y0 + res * np.arange(ny)
    if x[-1] > float(dem.x[-1]) + 1e-6 or y[-1] > float(dem.y[-1]) + 1e-6 or \
            x0 < float(dem.x[0]) - 1e-6 or y0 < float(dem.y[0]) - 1e-6:
        raise InputError(f"window x=[{x[0]}, {x[-1]}], y=[{y[0]}, {y[-1]}] m leaves the DEM "
                         f"x=[{float(dem.x[0])}, {float(dem.x[-1])}], "
                         f"y=[{float(dem.y[0])}, {float(dem.y[-1])}] m")
    if res > native:
        # smooth to the target scale before sampling so coarse grids do not alias ridges
        sigma = 0.5 * res / native
        dem = dem.copy(data={k: gaussian_filter(v.values, sigma) for k, v in dem.items()})
    window = dem.interp(x=x, y=y, method="linear")
    if "icemask" in window:
        window["icemask"] = (window.icemask > 0.5).astype(float)
    state = complete_state(window)
    state.attrs["source"] = str(source)
    return state


def synthetic_valley(seed: int, nx: int = 64, ny: int = 48, resolution: float = 100.0,
                     head_elevation: float = 3300.0, relief: float = 450.0,
                     noise: float = 30.0) -> xr.Dataset:
    """An ice-free mountain valley from a seed, in physical units whatever the grid.

    A sinuous U-shaped trough runs along x from ``head_elevation`` (m) with a floor slope drawn
    in [0.08, 0.15]; its half-width (600-1000 m, widening downstream) and walls rising
    ``relief`` (m) over three half-widths keep wall slopes near 0.3; a cirque wall closes the
    head, and smooth random relief of amplitude ``noise`` (m, correlation ~400 m) roughens it
    all. Same seed, same valley.
    """
    rng = np.random.default_rng(seed)
    x, y, X, Y = _plane(nx, ny, resolution)
    width = y[-1]
    phase, wiggle = rng.uniform(0, 2 * np.pi), rng.uniform(0.03, 0.1) * width
    centre = 0.5 * width + wiggle * np.sin(2 * np.pi * X / rng.uniform(4e3, 8e3) + phase)
    half_width = rng.uniform(600.0, 1000.0) * (1.0 + X / max(x[-1], 1.0) * 0.4)
    floor = head_elevation - rng.uniform(0.08, 0.15) * X
    across = np.clip(np.abs(Y - centre) / (3.0 * half_width), 0.0, 1.0)
    walls = relief * across**2 * (3 - 2 * across)
    head_wall = 0.5 * relief * np.clip(1 - X / 1500.0, 0, 1) ** 2
    return _bed_state("valley", seed, x, y, floor + walls + head_wall, rng, resolution, noise)


SYNTHETIC_ELA = 2900.0
"""ELA (m) that the ice-free synthetic beds (cirque, ice cap, dome) are shaped for: their
accumulation areas lie above it, their borders far enough below it that the glaciers they grow
stay inside the domain (``tests/test_geometry_io.py``); ELAs of about 2800-3000 m suit them."""


def _bumps(rng: np.random.Generator, shape: tuple[int, int], resolution: float,
           noise: float) -> np.ndarray:
    """Smooth random relief (m) of amplitude ``noise`` (m) and correlation length ~400 m on a
    grid of spacing ``resolution`` (m), drawn from ``rng``."""
    bumps = gaussian_filter(rng.standard_normal(shape), sigma=max(1.0, 400.0 / resolution))
    return bumps * (noise / max(np.abs(bumps).max(), 1e-12))


def _bell(distance: np.ndarray, width: float) -> np.ndarray:
    """Cosine bell: 1 at ``distance`` 0, falling smoothly to 0 at ``width`` and beyond (same
    units as ``width``)."""
    return 0.5 * (1.0 + np.cos(np.pi * np.clip(distance / width, 0.0, 1.0)))


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, the cubic 3 t^2 - 2 t^3 between: flat at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _plane(nx: int, ny: int, resolution: float) -> tuple[np.ndarray, ...]:
    """Cell centres x, y (m, from 0) and their meshes X, Y (m) of an ``nx`` x ``ny`` grid."""
    x = resolution * np.arange(nx)
    y = resolution * np.arange(ny)
    return (x, y, *np.meshgrid(x, y))


def _bed_state(kind: str, seed: int, x: np.ndarray, y: np.ndarray, topg: np.ndarray,
               rng: np.random.Generator, resolution: float, noise: float) -> xr.Dataset:
    """The state of the synthetic bed ``kind`` drawn from ``seed``: ``topg`` (m) roughened by
    ``_bumps`` of amplitude ``noise`` (m), its source named."""
    state = make_state(x, y, topg=topg + _bumps(rng, topg.shape, resolution, noise))
    state.attrs["source"] = f"synthetic_{kind}(seed={seed})"
    return state


def synthetic_cirque(seed: int, nx: int = 64, ny: int = 64, resolution: float = 100.0,
                     floor: float = 3000.0, relief: float = 300.0, base: float = 2300.0,
                     noise: float = 20.0) -> xr.Dataset:
    """An ice-free cirque basin from a seed, in physical units whatever the grid.

    A bowl-shaped head, its floor at ``floor`` (m) over-deepened by 30-80 m, is closed by a
    back wall 1.4 times steeper than the side walls and opens along +x onto a valley whose floor
    falls with a slope drawn in [0.15, 0.22] (twice that past its mouth, down to a lowland at
    ``base``, m) and whose U-shaped walls rise ``relief`` (m) to ridge crests 600-800 m from its
    axis; the ridges fade out over 1 km past a valley length drawn in [1, 1.6] km, and beyond
    the crests every slope falls over 1.2 km to the lowland. The head lies 1.6-2.0 km from the
    upstream edge (x = 0) and the axis within 200 m of the middle in y: on a domain of 6.4 km
    each way the border stays ice-free at ELAs near SYNTHETIC_ELA (docs/glacier.md). Smooth
    random relief of amplitude ``noise`` (m) roughens it all. Same seed, same cirque.
    """
    rng = np.random.default_rng(seed)
    x, y, X, Y = _plane(nx, ny, resolution)
    crest = rng.uniform(600.0, 800.0)
    fall, fade = 1200.0, 1000.0
    x_head = crest / 1.4 + fall + rng.uniform(0.0, 200.0)
    y_axis = 0.5 * y[-1] + rng.uniform(-200.0, 200.0)
    slope, length = rng.uniform(0.15, 0.22), rng.uniform(1000.0, 1600.0)
    along = X - x_head
    # distance (m) from the valley axis, which starts at the head; stretched 1.4 times behind
    # the head, where the back wall rises
    off_axis = np.hypot(1.4 * np.minimum(along, 0.0), Y - y_axis)
    drop = slope * (np.maximum(along, 0.0) + np.maximum(along - length, 0.0))
    valley_floor = np.maximum(floor - drop, base)
    valley_floor -= rng.uniform(30.0, 80.0) * _bell(np.hypot(along, Y - y_axis), 2.0 * crest / 3.0)
    ridges = relief * _bell(np.maximum(along - length, 0.0), fade)
    inside = valley_floor + ridges * _smoothstep(off_axis / crest)
    outside = base + np.maximum(valley_floor + ridges - base, 0.0) * _bell(off_axis - crest, fall)
    topg = np.where(off_axis <= crest, inside, outside)
    return _bed_state("cirque", seed, x, y, topg, rng, resolution, noise)


def synthetic_ice_cap(seed: int, nx: int = 64, ny: int = 64, resolution: float = 100.0,
                      plateau: float = 3100.0, base: float = 2300.0, radius: float = 1200.0,
                      noise: float = 20.0) -> xr.Dataset:
    """An ice-free plateau massif for an ice cap from a seed, in physical units whatever the grid.

    An elliptical plateau (semi-axes ``radius`` times [1, 1.3] and [0.75, 1], m, turned by a
    random angle) at ``plateau`` (m) whose top is crowned by 30-80 m towards its middle, so the
    ice it gathers flows outwards in all directions, falls over 1.2-1.6 km to a lowland at
    ``base`` (m). Its centre lies within 200 m of the domain's middle: on a domain of 6.4 km
    each way the border stays ice-free at ELAs near SYNTHETIC_ELA (docs/glacier.md). Smooth
    random relief of amplitude ``noise`` (m) roughens it all. Same seed, same massif.
    """
    rng = np.random.default_rng(seed)
    x, y, X, Y = _plane(nx, ny, resolution)
    centre = 0.5 * np.array([x[-1], y[-1]]) + rng.uniform(-200.0, 200.0, 2)
    a, b = radius * rng.uniform(1.0, 1.3), radius * rng.uniform(0.75, 1.0)
    angle, crown = rng.uniform(0.0, np.pi), rng.uniform(30.0, 80.0)
    edge = rng.uniform(1200.0, 1600.0)
    u = (X - centre[0]) * np.cos(angle) + (Y - centre[1]) * np.sin(angle)
    v = -(X - centre[0]) * np.sin(angle) + (Y - centre[1]) * np.cos(angle)
    rho = np.hypot(u / a, v / b)  # 1 on the plateau's rim
    beyond = np.maximum(rho - 1.0, 0.0) * np.sqrt(a * b)  # ~ distance from the rim (m)
    top = plateau + crown * (1.0 - np.minimum(rho, 1.0) ** 2)
    topg = base + (top - base) * _bell(beyond, edge)
    return _bed_state("ice_cap", seed, x, y, topg, rng, resolution, noise)


def synthetic_dome(seed: int, nx: int = 64, ny: int = 64, resolution: float = 100.0,
                   summit: float = 3400.0, base: float = 2200.0, radius: float = 2500.0,
                   noise: float = 20.0) -> xr.Dataset:
    """An ice-free dome-shaped mountain from a seed, in physical units whatever the grid.

    A radially symmetric cosine bell whose summit lies within 100 m of ``summit`` (m) and whose
    foot, at ``radius`` times [0.85, 1.15] (m) from the top, meets a lowland at ``base`` (m);
    the top lies within 200 m of the domain's middle, so the lowland reaches the border of a
    domain of 2 (1.15 ``radius`` + 200 m) each way (6.15 km), and on 6.4 km the border stays
    ice-free at ELAs near SYNTHETIC_ELA (docs/glacier.md). Smooth random relief of amplitude
    ``noise`` (m) roughens it. Same seed, same mountain.
    """
    rng = np.random.default_rng(seed)
    x, y, X, Y = _plane(nx, ny, resolution)
    centre = 0.5 * np.array([x[-1], y[-1]]) + rng.uniform(-200.0, 200.0, 2)
    top, foot = summit + rng.uniform(-100.0, 100.0), radius * rng.uniform(0.85, 1.15)
    topg = base + (top - base) * _bell(np.hypot(X - centre[0], Y - centre[1]), foot)
    return _bed_state("dome", seed, x, y, topg, rng, resolution, noise)


SYNTHETIC_BEDS = {"valley": synthetic_valley, "cirque": synthetic_cirque,
                  "ice_cap": synthetic_ice_cap, "dome": synthetic_dome}
"""The seeded synthetic beds by the name a domain spec gives them (``{synthetic: name, seed: s}``);
all but the valley, whose head wall stands on the upstream edge, have an ice-free border."""


def estimated_thickness(usurf: np.ndarray, outline: np.ndarray, dx: float,
                        basal_stress: float = 0.1, shape_factor: float = 0.8,
                        slope_scale: float = 500.0, min_slope: float = 0.05,
                        margin_scale: float = 500.0) -> np.ndarray:
    """Ice thickness (m) estimated from a glacier's surface ``usurf`` (m) and its ``outline``
    (boolean cells) on spacing ``dx`` (m), by perfect plasticity as outline-based estimates do:

        H = basal_stress / (shape_factor rho g sin(alpha)),

    with the surface slope alpha taken from ``usurf`` smoothed over ``slope_scale`` (m, Gaussian
    sigma) and not below ``min_slope``, and H tapered linearly to zero at the outline (as a
    parabolic valley cross-section thins) over ``margin_scale`` (m): times
    min(1, d / margin_scale), d the distance (m) from the cell centre to the outline, half a
    cell less than to the nearest ice-free cell centre. ``basal_stress`` is in MPa. Zero
    outside the outline.
    """
    smooth = gaussian_filter(np.asarray(usurf, dtype=float), slope_scale / dx, mode="nearest")
    gy, gx = np.gradient(smooth, dx)
    alpha = np.arctan(np.maximum(np.hypot(gx, gy), min_slope))
    plastic = basal_stress / (shape_factor * RHO_G * np.sin(alpha))
    distance = distance_transform_edt(outline) * dx - 0.5 * dx
    return np.where(outline, plastic * np.clip(distance / margin_scale, 0.0, 1.0), 0.0)


def summit_region(elevation: np.ndarray, above: float) -> np.ndarray:
    """The cells of the connected region higher than ``above`` (m) that holds the highest cell
    of ``elevation`` (m; 4-connected), as a boolean array: one massif of a DEM window. An
    InputError if no cell is higher than ``above``."""
    if np.max(elevation) <= above:
        raise InputError(f"no cell of the window is above the outline elevation {above:g} m "
                         f"(its highest: {np.max(elevation):.0f} m)")
    regions, _ = label(np.asarray(elevation) > above)
    return regions == regions[np.unravel_index(np.argmax(elevation), np.shape(elevation))]


def outlined_glacier(source: str | Path, x0: float, y0: float, nx: int, ny: int,
                     resolution: float, outline_elevation: float, **estimate) -> xr.Dataset:
    """A glacier of estimated thickness on a DEM window read as the glacier's *surface*: the
    outline is the connected region above ``outline_elevation`` (m) that holds the window's
    highest cell, H comes from ``estimated_thickness`` (``estimate``: its keywords) and the bed
    is the surface minus H. The steep grid-scale slopes of real surfaces over thick ice are
    what the SIA gets wrong (docs/hybrid.md); window arguments as ``topography_window``."""
    window = topography_window(source, resolution=resolution, x0=x0, y0=y0, nx=nx, ny=ny)
    surface = window.topg.values
    outline = summit_region(surface, outline_elevation)
    outline[[0, -1], :] = outline[:, [0, -1]] = False
    thk = estimated_thickness(surface, outline, resolution, **estimate)
    state = make_state(window.x.values, window.y.values, topg=surface - thk, thk=thk)
    state.attrs["source"] = (f"outlined_glacier({window.attrs['source']}, x0={x0}, y0={y0}, "
                             f"{nx}x{ny} at {resolution} m, outline above {outline_elevation} m)")
    return state


def reestimated_glacier(state: xr.Dataset, **estimate) -> xr.Dataset:
    """The glacier of estimated thickness ``state`` (``outlined_glacier``) with its thickness
    estimated again under other ``estimate`` keywords of ``estimated_thickness``: the same
    surface ``usurf`` (m) and outline (thk > 0), the bed the surface minus the new H. A thickness
    estimate is uncertain by a factor of about two (its basal stress, the scale of its slopes):
    each keyword set gives another bed under the same observed surface."""
    surface, outline = state.usurf.values, state.thk.values > 0
    if not outline.any():
        raise InputError("the state has no ice to estimate the thickness of")
    thk = estimated_thickness(surface, outline, grid_spacing(state), **estimate)
    out = state.copy()
    out["thk"] = state.thk.copy(data=thk)
    out["topg"] = state.topg.copy(data=surface - thk)
    keywords = ", ".join(f"{k}={v:.4g}" for k, v in sorted(estimate.items()))
    out.attrs["source"] = f"{state.attrs.get('source', '')}; thickness estimated again ({keywords})"
    return out


def _overlap(a: tuple, b: tuple) -> bool:
    """Whether two rectangles (x_min, y_min, x_max, y_max) overlap."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def massif_windows(source: str | Path, outline_elevations: list[float], size: int = 96,
                   resolution: float = 100.0, margin: float = 1000.0,
                   cells: tuple[int, int] = (300, 1500),
                   avoid: list[tuple[float, float, float, float]] = (),
                   shun: list[tuple[float, float, float, float]] = ()) -> list[dict]:
    """Windows of a DEM that each hold one massif whole, for glaciers of estimated thickness
    (``outlined_glacier``): for each outline elevation (m, ascending), every connected region
    above it (on the DEM resampled to ``resolution`` m) of ``cells`` (min, max) cells that fits
    a ``size`` x ``size`` window with ``margin`` (m) of ice-free ground on every side and holds
    that window's highest cell (so ``summit_region`` picks it), whose window overlaps no
    rectangle of ``avoid`` ((x_min, y_min, x_max, y_max), m: held-out domains, of which nothing
    may be seen), whose massif overlaps no rectangle of ``shun`` (other domains: no massif
    twice) and no massif already found. Each: ``{"x0", "y0"}`` (lower-left cell
    centre, m), ``outline_elevation`` (m), ``cells`` and ``summit`` (m), in the order found."""
    dem = topography_window(source, resolution=resolution)
    z, x, y = dem.topg.values, dem.x.values, dem.y.values
    ny, nx = z.shape
    pad = int(np.ceil(margin / resolution))
    if size > min(ny, nx):
        raise InputError(f"windows of {size} cells do not fit the DEM ({ny} x {nx} at "
                         f"{resolution:g} m)")
    found, claimed = [], np.zeros(z.shape, dtype=bool)
    for elevation in sorted(float(e) for e in outline_elevations):
        regions, _ = label(z > elevation)
        for index, where in enumerate(find_objects(regions), start=1):
            massif = regions[where] == index
            area = int(massif.sum())
            rows, cols = where
            if not cells[0] <= area <= cells[1] or claimed[where][massif].any():
                continue
            r0, r1, c0, c1 = rows.start - pad, rows.stop + pad, cols.start - pad, cols.stop + pad
            if r1 - r0 > size or c1 - c0 > size or r0 < 0 or c0 < 0 or r1 > ny or c1 > nx:
                continue
            wr = int(np.clip((r0 + r1 - size) // 2, 0, ny - size))
            wc = int(np.clip((c0 + c1 - size) // 2, 0, nx - size))
            window = (slice(wr, wr + size), slice(wc, wc + size))
            box = (x[wc], y[wr], x[wc + size - 1], y[wr + size - 1])
            body = (x[cols.start], y[rows.start], x[cols.stop - 1], y[rows.stop - 1])
            if any(_overlap(box, a) for a in avoid) or any(_overlap(body, a) for a in shun):
                continue
            top = np.unravel_index(np.argmax(z[window]), (size, size))
            if regions[window][top] != index:
                continue
            claimed[where] |= massif
            found.append({"x0": float(x[wc]), "y0": float(y[wr]),
                          "outline_elevation": elevation, "cells": area,
                          "summit": float(z[window][top])})
    return found


def halfar_thickness(r: np.ndarray, t: float, h0: float, r0: float, arrhenius: float,
                     n: float = GLEN_N) -> np.ndarray:
    """Halfar's similarity solution for a flat-bed SIA dome (Bueler et al. 2005, test B).

    Thickness (m) at radius ``r`` (m) and time ``t`` (a) measured from the dome's origin, for a
    dome of central thickness ``h0`` (m) and radius ``r0`` (m) at t = t0 = halfar_t0(...).
    """
    t0 = halfar_t0(h0, r0, arrhenius, n)
    alpha, beta = 2.0 / (5 * n + 3), 1.0 / (5 * n + 3)
    inner = 1.0 - ((t / t0) ** (-beta) * np.asarray(r) / r0) ** ((n + 1) / n)
    return h0 * (t0 / t) ** alpha * np.maximum(inner, 0.0) ** (n / (2 * n + 1))


def halfar_t0(h0: float, r0: float, arrhenius: float, n: float = GLEN_N) -> float:
    """Characteristic time t0 (a) of the Halfar dome with A in MPa^-3 a^-1."""
    gamma = 2.0 * arrhenius * RHO_G**n / (n + 2)
    beta = 1.0 / (5 * n + 3)
    return beta / gamma * ((2 * n + 1) / (n + 1)) ** n * r0 ** (n + 1) / h0 ** (2 * n + 1)


def halfar_state(nx: int, extent: float, h0: float, r0: float, arrhenius: float,
                 t: float | None = None) -> xr.Dataset:
    """A flat-bed state (bed at 0 m) with the Halfar dome at time ``t`` (default t0) on an
    ``nx`` x ``nx`` grid of cell centres spanning [-extent, extent] (m)."""
    dx = 2 * extent / nx
    x = -extent + dx * (np.arange(nx) + 0.5)
    X, Y = np.meshgrid(x, x)
    t = halfar_t0(h0, r0, arrhenius) if t is None else t
    thk = halfar_thickness(np.hypot(X, Y), t, h0, r0, arrhenius)
    return make_state(x, x, topg=np.zeros_like(thk), thk=thk, arrhenius=np.full_like(thk, arrhenius))


def build_domain(spec: dict, grid: dict) -> xr.Dataset:
    """A domain from its config entry on the grid ``{"resolution": m, "nx": cells, "ny": cells}``
    (the entry's own ``nx``, ``ny`` take precedence): ``{"topography": name or path, "x0": m,
    "y0": m}`` for a real DEM window (lower-left cell centre at x0, y0; with
    ``outline_elevation`` (m) the ice may grow only on the massif of ``summit_region``, its
    ``icemask``; with ``estimate`` as well, the window is read as a glacier's surface and the
    domain starts with ice: ``outlined_glacier`` with those keywords of
    ``estimated_thickness``, a mature glacier of estimated thickness on that massif),
    ``{"synthetic": name, "seed": s}`` for a synthetic bed of SYNTHETIC_BEDS
    (valley, cirque, ice_cap, dome), or ``{"synthetic_seed": s}`` for a synthetic valley."""
    res = float(grid["resolution"])
    nx, ny = int(spec.get("nx", grid["nx"])), int(spec.get("ny", grid["ny"]))
    if "topography" in spec and "estimate" in spec:
        state = outlined_glacier(spec["topography"], spec.get("x0"), spec.get("y0"), nx, ny, res,
                                 float(spec["outline_elevation"]), **spec["estimate"])
        state["icemask"] = state.icemask.copy(data=summit_region(
            state.usurf.values, float(spec["outline_elevation"])).astype(float))
        return state
    if "topography" in spec:
        state = topography_window(spec["topography"], resolution=res, x0=spec.get("x0"),
                                  y0=spec.get("y0"), nx=nx, ny=ny)
        if "outline_elevation" in spec:
            massif = summit_region(state.topg.values, float(spec["outline_elevation"]))
            allowed = massif & (state.icemask.values > 0.5)
            state["icemask"] = state.icemask.copy(data=allowed.astype(float))
        return state
    if "synthetic" in spec:
        if spec["synthetic"] not in SYNTHETIC_BEDS:
            raise InputError(f"synthetic bed '{spec['synthetic']}' is none of "
                             f"{sorted(SYNTHETIC_BEDS)}")
        return SYNTHETIC_BEDS[spec["synthetic"]](int(spec["seed"]), nx=nx, ny=ny, resolution=res)
    return synthetic_valley(int(spec["synthetic_seed"]), nx=nx, ny=ny, resolution=res)
