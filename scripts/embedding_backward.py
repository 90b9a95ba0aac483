"""The embedding backward, dC, four ways: the same numbers, very different speeds.

emb = C[Xb] copies row Xb[k, j] of C into place (k, j). Going backward, every copy sends
its gradient back to the row it came from, and a row used many times (the '.' of every
padded context) adds up all of them. Four ways to write that scatter-add:
    loop      the lecture's double loop: dC[Xb[k, j]] += demb[k, j]
    add.at    np.add.at(dC, Xb, demb): unbuffered, so repeated rows accumulate
    one-hot   onehot(Xb).T @ demb: the scatter as a matmul (lib/layers.py, what scripts/train.py uses)
    bincount  np.bincount over flat (row, column) cells, with demb as the weights
and one way that looks right and is not: dC[Xb] += demb is a buffered fancy assignment,
so a row used twice keeps only one of its gradients.

    python scripts/embedding_backward.py [--out plots/]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.bench import time_us
from lib.cli import Parser, run, writable_dir, write_json
from lib.data import PLOTS, load_splits
from lib.layers import embedding_backward
from lib.plotting import plt, save

# hyperparameters
n_embd = 10                   # E
block_size = 3                # T
batch_sizes = [32, 256, 4096]  # the lecture's batch, then larger ones
seed = 42


def dC_loop(Xb, demb, V):
    dC = np.zeros((V, demb.shape[-1]))
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            dC[Xb[k, j]] += demb[k, j]
    return dC


def dC_add_at(Xb, demb, V):
    dC = np.zeros((V, demb.shape[-1]))
    np.add.at(dC, Xb.ravel(), demb.reshape(-1, demb.shape[-1]))
    return dC


def dC_bincount(Xb, demb, V):
    E = demb.shape[-1]
    cells = (Xb.reshape(-1, 1) * E + np.arange(E)).ravel()  # flat index of (row, column) in dC
    return np.bincount(cells, demb.ravel(), V * E).reshape(V, E)


def dC_fancy_bug(Xb, demb, V):
    dC = np.zeros((V, demb.shape[-1]))
    dC[Xb.ravel()] += demb.reshape(-1, demb.shape[-1])   # WRONG: repeated rows keep one gradient
    return dC


METHODS = {"loop": dC_loop, "add.at": dC_add_at, "one-hot": embedding_backward, "bincount": dC_bincount}


def main(argv=None):
    parser = Parser(description="dC by the lecture's loop, np.add.at, a one-hot matmul and bincount: "
                                "checked and timed.")
    parser.add_argument("--out", default=PLOTS, help="folder for the plot (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    itos, _, ((Xtr, _), _, _) = load_splits(block_size)
    V = len(itos)
    rng = np.random.default_rng(seed)

    timings, diffs = {}, {}
    print(f"{'batch':>6} | " + " | ".join(f"{m:>10}" for m in METHODS) + " |  max diff vs loop | dC[Xb] += demb (bug)")
    for n in batch_sizes:
        Xb = Xtr[rng.integers(0, len(Xtr), n)]                # (n, T)
        demb = rng.standard_normal((n, block_size, n_embd))   # (n, T, E)
        reference = dC_loop(Xb, demb, V)
        diffs[n] = {m: float(np.abs(f(Xb, demb, V) - reference).max()) for m, f in METHODS.items()}
        bug = float(np.abs(dC_fancy_bug(Xb, demb, V) - reference).max())
        timings[n] = {m: time_us(lambda f=f: f(Xb, demb, V), repeat=5) for m, f in METHODS.items()}
        print(f"{n:6d} | " + " | ".join(f"{timings[n][m]:8.1f}us" for m in METHODS)
              + f" | {max(diffs[n].values()):16.1e} | max diff {bug:.2f}: WRONG")

    # plot
    fig, ax = plt.subplots(figsize=(8, 4.5))
    w = 0.8 / len(METHODS)
    for i, m in enumerate(METHODS):
        ax.bar(np.arange(len(batch_sizes)) + (i - 1.5) * w, [timings[n][m] for n in batch_sizes], w, label=m)
    ax.set_yscale("log")
    ax.set_xticks(range(len(batch_sizes)), [f"batch {n}\n({n * block_size} rows of C used)" for n in batch_sizes])
    ax.set_ylabel("microseconds per dC")
    worst = max(max(d.values()) for d in diffs.values())
    ax.set_title(f"the embedding backward dC four ways (identical up to {worst:.0e})")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    save(fig, out, "embedding_backward")
    write_json(os.path.join(out, "embedding_backward.json"), dict(timings_us=timings, max_diff=diffs))
    print(f"plot: {out}/embedding_backward.png")
    return 0 if worst < 1e-12 else 1


if __name__ == "__main__":
    sys.exit(run(main))
