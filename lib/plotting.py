"""Plots are saved as PNG, never shown: matplotlib runs headless (Agg) everywhere."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def save(fig, out, name):
    """Write fig to <out>/<name>.png and close it; return the path."""
    path = os.path.join(out, name + ".png")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
