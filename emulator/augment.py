"""The 8 symmetries of the square grid (rotations by 90 degrees and reflections), applied to
stacks of fields so that vector fields turn with the grid.

A transform is a number k in 0..7 with bits (transpose, flip x, flip y), applied in that
order to arrays whose last three axes are (y, x, channel). A scalar field (thickness, A, c,
the ice mask) is only moved. A vector field given by its x and y components (velocities in
m a-1, surface slopes ds/dx, ds/dy) is moved and turned: a flip of x negates the x component,
a flip of y the y component, a transposition swaps the two components.
"""

import numpy as np

VECTOR_PAIRS = {"slopsurfx": "slopsurfy", "ubar": "vbar", "uvelsurf": "vvelsurf",
                "uvelbase": "vvelbase"}
"""x component -> y component of every vector field among the channels."""

TRANSFORMS = tuple(range(8))
FLIPS_ONLY = (0, 2, 4, 6)
"""The transforms that keep the grid shape of a non-square array (no transposition)."""


def channel_roles(channels: list[str]) -> tuple[list[int], list[int], list[int]]:
    """Partner channel of each channel (itself for scalars), and masks of x and y components."""
    index = {name: i for i, name in enumerate(channels)}
    partner, is_x, is_y = list(range(len(channels))), [], []
    for x_name, y_name in VECTOR_PAIRS.items():
        if (x_name in index) != (y_name in index):
            raise ValueError(f"vector field needs both components: {x_name}, {y_name} "
                             f"(channels {channels})")
        if x_name in index:
            i, j = index[x_name], index[y_name]
            partner[i], partner[j] = j, i
            is_x.append(i)
            is_y.append(j)
    return partner, is_x, is_y


def transform(fields: np.ndarray, channels: list[str], k: int) -> np.ndarray:
    """Apply symmetry ``k`` (0..7) to ``fields`` of shape (..., y, x, channel) named by
    ``channels``; returns a new array (units unchanged)."""
    if k not in TRANSFORMS:
        raise ValueError(f"transform must be in 0..7, got {k}")
    partner, is_x, is_y = channel_roles(list(channels))
    out = np.asarray(fields)
    if k & 1:
        out = np.swapaxes(out, -3, -2)[..., partner]
    sign = np.ones(len(channels), dtype=out.dtype)
    if k & 2:
        out = out[..., :, ::-1, :]
        sign[is_x] *= -1
    if k & 4:
        out = out[..., ::-1, :, :]
        sign[is_y] *= -1
    return np.ascontiguousarray(out * sign)


def allowed_transforms(ny: int, nx: int) -> tuple[int, ...]:
    """All 8 transforms on a square grid, the 4 reflections otherwise (same shape in a batch)."""
    return TRANSFORMS if ny == nx else FLIPS_ONLY
