"""Writing figures: matplotlib on its file-only (Agg) backend, and the one way every figure of
icebench is laid out and saved."""

from pathlib import Path

DPI = 110
"""Resolution of every saved figure (dots per inch)."""


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), imported on first use."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path) -> Path:
    """Lay out the matplotlib figure ``fig``, write it to ``path`` (folders made as needed) at
    DPI, close it, and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path
