"""Exercise 2: the cross-entropy backward in one analytic step.

Exercise 1 went from the loss to the logits in ten small steps. Seen as one function,

    loss = -1/n sum_b log p[b, Y_b],   p[b, i] = exp(l[b, i]) / sum_j exp(l[b, j])

has a gradient one can write on paper. For one row (drop b), with p_y the target's probability:

    -log p_y = -l_y + log sum_j exp(l_j)
    d/dl_i  =  -[i == y] + exp(l_i) / sum_j exp(l_j)  =  p_i - [i == y]

so   dlogits = (softmax(logits) - onehot(Y)) / n   (the 1/n from the mean over the batch).

In numpy: dlogits = probs.copy(); dlogits[np.arange(n), Yb] -= 1; dlogits /= n, three lines
in main() below. The forward is fused the same way and kept stable: subtract the row max (it
changes no probability) and use log-sum-exp instead of log(p) (lib/layers.py, which
scripts/train.py uses too).

    python scripts/ex2_cross_entropy.py [--batch-size 32] [--seed 42] [--out plots/] [--dump ex2.npz]
    python scripts/practice.py new ex2        # do it yourself first

Expect: the fused loss equal to the chunked one to about 1e-15, dlogits approx True with a
max diff near 1e-18 (the lecture's torch float32: ~5e-9), every row of dlogits summing to 0,
and the fused backward several times faster than the chunked one.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from lib.bench import print_timings, time_us
from lib.cli import Parser, npz_file, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS
from lib.gradcheck import check, cmp, precise_gradient, report, statements
from lib.layers import cross_entropy_backward, cross_entropy_forward
from lib.lecture import backward, forward
from lib.model import exercise_batch
from lib.plotting import plt, save

# hyperparameters: exercise 1's batch
batch_size = 32   # examples in the minibatch
seed = 42         # one seed for the init and the minibatch


def main(argv=None):
    parser = Parser(description="Exercise 2: cross-entropy backward in one step, checked and timed.")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"minibatch size, >= 2 (lecture: {batch_size})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed of the init and the batch (default {seed})")
    parser.add_argument("--out", default=PLOTS, help="folder for the plots (default plots/ in the repository)")
    parser.add_argument("--dump", metavar="PATH.npz", help="write logits, Yb, loss, dlogits (float64)")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    if args.dump:
        args.dump = npz_file(args.dump, "--dump")

    # exercise 1's batch, through the lecture's chunked forward and backward (lib/lecture.py)
    itos, params, Xb, Yb = exercise_batch(args.batch_size, seed=args.seed, data=args.data)
    values = forward(**params, Xb=Xb, Yb=Yb)
    grads = backward(**values)
    logits = values["logits"]
    n, V = logits.shape

    # forward: fused vs chunked. Before, from logits to the loss in eight steps:
    #   logit_maxes = logits.max(1, keepdims=True)
    #   norm_logits = logits - logit_maxes
    #   counts = np.exp(norm_logits)
    #   counts_sum = counts.sum(1, keepdims=True)
    #   counts_sum_inv = counts_sum ** -1
    #   probs = counts * counts_sum_inv
    #   logprobs = np.log(probs)
    #   loss = -logprobs[np.arange(n), Yb].mean()
    # now: one call (lib/layers.py), the lecture's F.cross_entropy, which keeps probs for the backward
    loss_fast, probs = cross_entropy_forward(logits, Yb)
    print(f"loss fused {loss_fast:.12f}   chunked {values['loss']:.12f}   diff {abs(loss_fast - values['loss']):.1e}")

    # backward: exercise 2's answer. Exercise 1's eleven statements from the loss back to the logits,
    # in three lines (lib/layers.cross_entropy_backward is these lines and train.py's loop writes them
    # out: a test keeps the three the same)
    dlogits = probs.copy()                 # (n, V) softmax(logits) ...
    dlogits[np.arange(n), Yb] -= 1         # ... minus the one-hot: p - 1 at each row's target
    dlogits /= n                           # the loss is the mean over the n rows

    # checked: against the chunked backward (the lecture's cmp) and against central differences
    res = cmp("dlogits", dlogits, grads["dlogits"])
    numeric, noise = precise_gradient(lambda L: cross_entropy_forward(L, Yb)[0], logits.copy())
    row = check("dlogits", dlogits, numeric, noise)
    print()
    ok = report([row], "exercise 2 vs central differences")

    # the intuition: forces that sum to zero in every row
    row_sums = np.abs(dlogits.sum(1)).max()
    target = dlogits[np.arange(n), Yb] * n
    print(f"\nlargest |row sum| of dlogits: {row_sums:.1e}  (pull up on the target = push down on the rest)")
    print(f"at the target n*dlogits = p - 1: max |error| {np.abs(target - (probs[np.arange(n), Yb] - 1)).max():.1e};"
          " elsewhere n*dlogits = p: max |error| "
          f"{np.abs(np.delete((dlogits * n - probs).ravel(), np.arange(n) * V + Yb)).max():.1e}")

    # speed: why we fuse. The chunked lines are lib/lecture.py's own, run as they stand.
    chunked_forward, chunked_backward = statements(forward, after="logits"), statements(backward, until="dlogits")
    timings = {
        "backward": (time_us(lambda: cross_entropy_backward(probs, Yb)),
                     time_us(lambda: chunked_backward(values))),
        "forward + backward": (time_us(lambda: cross_entropy_backward(cross_entropy_forward(logits, Yb)[1], Yb)),
                               time_us(lambda: chunked_backward(chunked_forward(values)))),
    }
    print()
    t_fused, t_chunked = print_timings(timings)

    # plots
    fig, ax = plt.subplots(figsize=(9, 8))
    # each sign gets its own scale: the targets' (p - 1) / n would wash out the small p / n
    norm = TwoSlopeNorm(vmin=dlogits.min(), vcenter=0.0, vmax=dlogits.max())
    im = ax.imshow(dlogits, cmap="RdBu_r", norm=norm)
    ax.scatter(Yb, np.arange(n), s=14, facecolors="none", edgecolors="k", linewidths=0.8, label="target character")
    ax.set_xticks(range(V), itos)
    ax.set_xlabel("next character")
    ax.set_ylabel("example in the batch")
    ax.set_title(f"dlogits of one batch: p / n everywhere, (p - 1) / n at the target (circled)\n"
                 f"every row sums to 0 (largest |row sum| {row_sums:.0e})")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, -0.05))
    bar = fig.colorbar(im, ax=ax, fraction=0.03, label="dloss / dlogit (separate scales below and above 0)")
    bar.set_ticks([dlogits.min(), dlogits.min() / 2, 0, dlogits.max() / 2, dlogits.max()])
    bar.ax.yaxis.set_major_formatter("{x:.4f}")
    save(fig, out, "ex2_dlogits")

    b = int(np.argmin(probs[np.arange(n), Yb]))  # the example the model gets most wrong: the strongest forces
    context = "".join(itos[i] for i in Xb[b])
    force = -dlogits[b] * n  # gradient descent moves a logit against its gradient
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    colors = ["tab:green" if i == Yb[b] else "tab:gray" for i in range(V)]
    ax1.bar(range(V), probs[b], color=colors)
    ax1.set_ylabel("p = softmax(logits)")
    ax1.set_title(f"one example: context '{context}' -> target '{itos[Yb[b]]}' (green), p(target) = "
                  f"{probs[b, Yb[b]]:.3f}")
    ax2.bar(range(V), force, color=["tab:green" if f > 0 else "tab:red" for f in force])
    ax2.axhline(0, color="k", lw=0.6)
    ax2.set_ylabel("force = -n * dlogits")
    ax2.set_title(f"the forces of gradient descent: the target pulled up by 1 - p = {force[Yb[b]]:.3f}, "
                  f"every other logit pushed down by its p; they sum to {force.sum():.0e}")
    ax2.set_xticks(range(V), itos)
    ax2.set_xlabel("character")
    save(fig, out, "ex2_forces")

    results = dict(loss_diff=abs(loss_fast - values["loss"]), dlogits_maxdiff=res["maxdiff"],
                   dlogits_approx=res["approx"],
                   rel_error_numeric=row["rel"], max_row_sum=float(row_sums),
                   us_fused=t_fused, us_chunked=t_chunked, ok=bool(ok and res["approx"]))
    write_json(os.path.join(out, "ex2.json"), results)
    if args.dump:
        np.savez(args.dump, logits=logits, Yb=Yb, loss=np.float64(loss_fast), dlogits=dlogits)
        print(f"wrote logits, Yb, loss, dlogits to {args.dump}")
    print(f"plots: {out}/ex2_dlogits.png, {out}/ex2_forces.png")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(run(main))
