"""The clamp bug: `loss = loss.clamp(max=3)` written as "gradient clipping".

Clamping the per-example loss at 3 does not clip any gradient: where an example's loss is
above 3 the clamp is flat, its derivative is 0, and that example's whole gradient is
silently dropped. The model stops learning from exactly the examples it gets most wrong.
Real gradient clipping scales the whole gradient down when its norm is too large, and
drops nothing.

1. One batch at init, by hand: which examples get exactly zero gradient.
2. Three runs side by side, same seed and batches: no clipping, the clamp bug, and real
   gradient-norm clipping. Their losses, and the fraction of each batch the bug ignores.

    python scripts/clamp_bug.py [--steps 20000] [--out plots/]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.cli import Parser, positive, run, writable_dir, write_json
from lib.data import PLOTS, load_splits, minibatches
from lib.layers import cross_entropy_backward
from lib.model import calibrate_batchnorm, init_params, mlp_backward, mlp_forward, split_loss
from lib.plotting import binned, plt, save

# hyperparameters
n_embd, n_hidden, block_size, batch_size = 10, 200, 3, 32  # the lecture's network
steps = 20000        # per run: enough to see the runs part ways
lr = 0.1             # learning rate (no decay in these short runs)
clamp_at = 3.0       # the bug's threshold: loss.clamp(max=3)
max_norm = 1.8       # real clipping: the largest gradient norm let through (~90th percentile here)
seed = 42


def per_example_loss(probs, Yb):
    """-log p(target) for each example of the batch. (n,)"""
    return -np.log(probs[np.arange(len(Yb)), Yb])


def dlogits_of(probs, Yb, losses, mode):
    """The gradient at the logits of the mean loss, or of the mean of the clamped losses
    (losses: the per-example losses of this batch)."""
    dlogits = cross_entropy_backward(probs, Yb)
    if mode == "clamp":
        # d clamp(x, max=3) / dx = 1 where x < 3, and 0 where x > 3: those rows vanish
        dlogits *= (losses <= clamp_at)[:, None]
    return dlogits


def train_run(mode, Xtr, Ytr, Xva, Yva, vocab_size, steps):
    """One training run; returns the loss history (true, unclamped), ignored fractions and val loss."""
    params = init_params(vocab_size, n_embd, n_hidden, block_size, np.random.default_rng(seed), np.float32)
    batches = minibatches(Xtr, Ytr, 0, batch_size, seed)
    lossi, ignored, clipped = [], [], 0
    for i in range(steps):
        Xb, Yb = next(batches)
        loss, cache = mlp_forward(params, Xb, Yb)
        losses = per_example_loss(cache["probs"], Yb)
        grads = mlp_backward(params, cache, Yb, dlogits_of(cache["probs"], Yb, losses, mode))
        if mode == "clip":
            norm = np.sqrt(sum((g * g).sum() for g in grads.values()))
            if norm > max_norm:  # the real thing: same direction, shorter step
                grads = {k: g * (max_norm / norm) for k, g in grads.items()}
                clipped += 1
        for k in params:
            params[k] -= lr * grads[k]
        lossi.append(float(loss))
        ignored.append(float((losses > clamp_at).mean()))
    bnmean, bnvar = calibrate_batchnorm(params, Xtr)
    return dict(lossi=lossi, ignored=ignored, clipped=clipped, val_loss=split_loss(params, Xva, Yva, bnmean, bnvar))


def main(argv=None):
    parser = Parser(description="The loss.clamp(max=3) bug, shown: which examples it ignores, and what that costs.")
    parser.add_argument("--steps", type=positive(int), default=steps, help=f"steps per run (default {steps})")
    parser.add_argument("--out", default=PLOTS, help="folder for the plots (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    itos, _, ((Xtr, Ytr), (Xva, Yva), _) = load_splits(block_size)

    # 1. one batch at init
    params = init_params(len(itos), n_embd, n_hidden, block_size, np.random.default_rng(seed), np.float32)
    Xb, Yb = next(minibatches(Xtr, Ytr, 0, batch_size, seed))
    loss, cache = mlp_forward(params, Xb, Yb)
    losses = per_example_loss(cache["probs"], Yb)
    bug_rows = np.abs(dlogits_of(cache["probs"], Yb, losses, "clamp")).sum(1)
    print(f"one batch at init: mean loss {loss:.3f}; per example, with the clamp bug:")
    print(f"{'example':>7} | {'context':7} | target | {'loss':>6} | {'|dlogits| row':>13} | learns?")
    for b in np.argsort(-losses)[:8].tolist() + np.argsort(losses)[:4].tolist():
        context = "".join(itos[i] for i in Xb[b])
        print(f"{b:7d} | {context:7} | {itos[Yb[b]]:6} | {losses[b]:6.3f} | {bug_rows[b]:13.3e} | "
              f"{'no: exactly 0' if bug_rows[b] == 0 else 'yes'}")
    print(f"... {int((losses > clamp_at).sum())} of {batch_size} examples have loss > {clamp_at:g}: "
          f"the bug drops them all; at init that is most of the batch.")

    # 2. three runs
    runs = {}
    for mode, label in (("none", "no clipping"), ("clamp", f"loss.clamp(max={clamp_at:g}) (the bug)"),
                        ("clip", f"gradient-norm clipping at {max_norm:g}")):
        runs[mode] = train_run(mode, Xtr, Ytr, Xva, Yva, len(itos), args.steps)
        runs[mode]["label"] = label
        r = runs[mode]
        print(f"{label:38s}: val loss {r['val_loss']:.4f}   examples with loss > 3 {np.mean(r['ignored']) * 100:5.1f}% "
              f"(last 1000 steps {np.mean(r['ignored'][-1000:]) * 100:4.1f}%)"
              + (f"   clipped steps {r['clipped']}" if mode == "clip" else ""))

    # plots
    k = max(args.steps // 100, 1)
    style = {"none": dict(lw=5, alpha=0.4, color="tab:blue"), "clamp": dict(lw=2, color="tab:orange"),
             "clip": dict(lw=1.5, ls="--", color="tab:green")}  # no clipping and real clipping nearly coincide
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    for mode, r in runs.items():
        x, losses = binned(r["lossi"], k)
        ax1.plot(x, losses.mean(1), **style[mode], label=f"{r['label']}: val {r['val_loss']:.3f}")
        x, ignored = binned(r["ignored"], k)
        ax2.plot(x, ignored.mean(1) * 100, **style[mode], label=r["label"])
    ax1.set_xlabel("step")
    ax1.set_ylabel(f"training loss (true, unclamped; mean of {k} steps)")
    ax1.set_title("three runs, same init and batches")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("step")
    ax2.set_ylabel(f"% of the batch with loss > {clamp_at:g}")
    ax2.set_title(f"loss > {clamp_at:g}: the examples the clamp bug gives exactly zero gradient")
    ax2.legend(fontsize=8)
    save(fig, out, "clamp_bug")

    results = {mode: dict(val_loss=r["val_loss"], ignored=float(np.mean(r["ignored"])), clipped=r["clipped"])
               for mode, r in runs.items()}
    write_json(os.path.join(out, "clamp_bug.json"), results)
    print(f"plot: {out}/clamp_bug.png")


if __name__ == "__main__":
    sys.exit(run(main))
