"""Plots are saved as PNG, never shown: matplotlib runs headless (Agg) everywhere."""
import os

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after the backend is chosen

from lib.cli import OutputError


def save(fig, out, name):
    """Write fig to <out>/<name>.png and close it; return the path."""
    path = os.path.join(out, name + ".png")
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as e:
        raise OutputError(f"cannot write {path} ({e.strerror or e}); free some space or pass another --out")
    finally:
        plt.close(fig)
    return path


def binned(values, k):
    """Consecutive groups of k values, for plotting a long noisy history: (x, groups), where x is
    each group's centre (in steps) and groups is (number of groups, k); a last partial group is dropped."""
    values = np.asarray(values)
    m = len(values) // k * k
    return np.arange(0, m, k) + k / 2, values[:m].reshape(-1, k)
