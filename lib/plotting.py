"""Plots are saved as PNG, never shown: matplotlib runs headless (Agg) everywhere."""
import io
import os

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after the backend is chosen

from lib.cli import write_bytes


def save(fig, out, name):
    """Write fig to <out>/<name>.png, whole or not at all (drawn in memory, then written as write_text writes: a
    full disk leaves the previous plot or none, never an empty one, and is one line), and close it; return the path."""
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return write_bytes(os.path.join(out, name + ".png"), png.getvalue())


def binned(values, k):
    """Consecutive groups of k values, for plotting a long noisy history: (x, groups), where x is
    each group's centre (in steps) and groups is (number of groups, k); a last partial group is dropped."""
    values = np.asarray(values)
    m = len(values) // k * k
    return np.arange(0, m, k) + k / 2, values[:m].reshape(-1, k)
