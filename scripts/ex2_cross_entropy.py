"""Exercise 2: the cross-entropy backward in one analytic step.

Exercise 1 went from the loss to the logits in ten small steps. Seen as one function,

    loss = -1/n sum_b log p[b, Y_b],   p[b, i] = exp(l[b, i]) / sum_j exp(l[b, j])

has a gradient one can write on paper. For one row (drop b), with p_y the target's probability:

    -log p_y = -l_y + log sum_j exp(l_j)
    d/dl_i  =  -[i == y] + exp(l_i) / sum_j exp(l_j)  =  p_i - [i == y]

so   dlogits = (softmax(logits) - onehot(Y)) / n   (the 1/n from the mean over the batch).

The forward is fused the same way and kept stable: subtract the row max (it changes no
probability) and use log-sum-exp instead of log(p). Both live in lib/layers.py, where
scripts/train.py uses them too.

    python scripts/ex2_cross_entropy.py [--batch-size 32] [--seed 42] [--out plots/] [--dump ex2.npz]

Expect: the fused loss equal to the chunked one to about 1e-15, dlogits approx True with a
max diff near 1e-18 (the lecture's torch float32: ~5e-9), every row of dlogits summing to 0,
and the fused backward several times faster than the chunked one.
"""
import json
import os
import sys

import numpy as np
from matplotlib.colors import TwoSlopeNorm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ex1_backprop_by_hand as ex1  # noqa: E402  (the chunked version we compare with)
from lib.bench import time_us  # noqa: E402
from lib.cli import run, writable_dir  # noqa: E402
from lib.gradcheck import check, cmp, numerical_gradient, report, run_steps  # noqa: E402
from lib.layers import cross_entropy_backward, cross_entropy_forward  # noqa: E402
from lib.plotting import plt, save  # noqa: E402


def main(argv=None):
    parser = ex1.exercise_parser("Exercise 2: cross-entropy backward in one step, checked and timed.",
                                 "write logits, Yb, loss, dlogits (float64)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)

    # the batch of exercise 1, through its chunked forward and backward
    itos, v = ex1.chunked_batch(args)
    Xb, Yb = v.Xb, v.Yb
    chunked = ex1.backward_cross_entropy(v)
    n, V = v.logits.shape

    # forward: fused vs chunked
    loss_fast, probs = cross_entropy_forward(v.logits, Yb)
    print(f"loss fused {loss_fast:.12f}   chunked {v.loss:.12f}   diff {abs(loss_fast - v.loss):.1e}")

    # backward: fused vs chunked (the lecture's cmp) and vs central differences
    dlogits = cross_entropy_backward(probs, Yb)  # (n, V)
    res = cmp("dlogits", dlogits, chunked["dlogits"])
    numeric, noise = numerical_gradient(lambda L: cross_entropy_forward(L, Yb)[0], v.logits.copy(), with_noise=True)
    print()
    ok = report([check("dlogits", dlogits, numeric, noise)], "exercise 2 vs central differences")

    # the intuition: forces that sum to zero in every row
    row_sums = np.abs(dlogits.sum(1)).max()
    target = dlogits[np.arange(n), Yb] * n
    print(f"\nlargest |row sum| of dlogits: {row_sums:.1e}  (pull up on the target = push down on the rest)")
    print(f"at the target n*dlogits = p - 1: max |error| {np.abs(target - (probs[np.arange(n), Yb] - 1)).max():.1e};"
          f" elsewhere n*dlogits = p: max |error| {np.abs(np.delete((dlogits * n - probs).ravel(), np.arange(n) * V + Yb)).max():.1e}")

    # speed: why we fuse
    start = [name for name, _ in ex1.FORWARD].index("logit_maxes")
    timings = {
        "backward": (time_us(lambda: cross_entropy_backward(probs, Yb)),
                     time_us(lambda: ex1.backward_cross_entropy(v))),
        "forward + backward": (time_us(lambda: cross_entropy_backward(cross_entropy_forward(v.logits, Yb)[1], Yb)),
                               time_us(lambda: ex1.backward_cross_entropy(run_steps(ex1.FORWARD, v, start)))),
    }
    print()
    for what, (fused, chunked_us) in timings.items():
        print(f"{what + ':':19s} fused {fused:6.1f} us   chunked {chunked_us:6.1f} us   ({chunked_us / fused:.1f}x faster)")
    t_fused, t_chunked = timings["backward"]

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
    ax1.set_title(f"one example: context '{context}' -> target '{itos[Yb[b]]}' (green), p(target) = {probs[b, Yb[b]]:.3f}")
    ax2.bar(range(V), force, color=["tab:green" if f > 0 else "tab:red" for f in force])
    ax2.axhline(0, color="k", lw=0.6)
    ax2.set_ylabel("force = -n * dlogits")
    ax2.set_title(f"the forces of gradient descent: the target pulled up by 1 - p = {force[Yb[b]]:.3f}, "
                  f"every other logit pushed down by its p; they sum to {force.sum():.0e}")
    ax2.set_xticks(range(V), itos)
    ax2.set_xlabel("character")
    save(fig, out, "ex2_forces")

    results = dict(loss_diff=abs(loss_fast - v.loss), dlogits_maxdiff=res["maxdiff"], dlogits_approx=res["approx"],
                   rel_error_numeric=check("dlogits", dlogits, numeric, noise)["rel"], max_row_sum=float(row_sums),
                   us_fused=t_fused, us_chunked=t_chunked, ok=bool(ok and res["approx"]))
    with open(os.path.join(out, "ex2.json"), "w") as f:
        json.dump(results, f, indent=1)
    if args.dump:
        np.savez(args.dump, logits=v.logits, Yb=Yb, loss=np.float64(loss_fast), dlogits=dlogits)
        print(f"wrote logits, Yb, loss, dlogits to {args.dump}")
    print(f"plots: {out}/ex2_dlogits.png, {out}/ex2_forces.png")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(run(main))
