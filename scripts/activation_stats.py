"""The failure modes the lecture warns about, measured with the hand backward.

A deeper tanh MLP (5 hidden layers of 100) is initialised and trained briefly four ways:
    gain 0.5          too small: each layer shrinks the signal; activations and gradients vanish
    gain 5/3          Kaiming's gain for tanh: activations and gradients keep their size
    gain 3            too large: tanh saturates, where its gradient 1 - h^2 is ~0
    gain 5/3, lr 2    a healthy init knocked over by too large a step: neurons die
each without and with batchnorm, which repairs the scale whatever the gain.

Per layer: the tanh activations (mean, std, % saturated with |h| > 0.97), dead neurons
(saturated for every example of a batch), the gradient arriving at each layer's output,
and the update:data ratio of each weight over training. Before any of it, the deep hand
backward is checked against central differences on a small copy of the network.

    python scripts/activation_stats.py [--steps 2000] [--out plots/]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.cli import Parser, positive, run, writable_dir, write_json
from lib.data import PLOTS, load_splits
from lib.gradcheck import check_params, report
from lib.layers import (batchnorm_backward, batchnorm_forward, cross_entropy_backward, cross_entropy_forward,
                        embedding_backward)
from lib.plotting import plt, save

# hyperparameters
n_embd = 10            # embedding size
n_hidden = 100         # neurons in every hidden layer
n_layers = 5           # hidden layers: deep enough for the trouble to compound
block_size = 3         # context length
batch_size = 32        # examples per step
steps = 2000           # a brief training, per configuration
LARGE_STEP = "gain 5/3, lr 2 (too large a step)"  # a healthy init: its panels show the end of training
configs = {  # label: (gain of the weights, learning rate)
    "gain 0.5 (too small)": (0.5, 0.1),
    "gain 5/3 (Kaiming, tanh)": (5 / 3, 0.1),
    "gain 3 (too large)": (3.0, 0.1),
    LARGE_STEP: (5 / 3, 2.0),
}
seed = 42


def init(vocab_size, gain, batchnorm, rng, n_hidden=n_hidden, dtype=np.float32):
    """C, then per layer l: W<l> (fan_in, H) scaled gain / sqrt(fan_in), b<l>, and with batchnorm
    bngain<l>, bnbias<l>; the output layer Wout, bout starts small (less confident)."""
    p = {"C": rng.standard_normal((vocab_size, n_embd))}
    fan_in = n_embd * block_size
    for l in range(n_layers):
        p[f"W{l}"] = rng.standard_normal((fan_in, n_hidden)) * gain / np.sqrt(fan_in)
        p[f"b{l}"] = np.zeros(n_hidden)
        if batchnorm:
            p[f"bngain{l}"], p[f"bnbias{l}"] = np.ones((1, n_hidden)), np.zeros((1, n_hidden))
        fan_in = n_hidden
    p["Wout"] = rng.standard_normal((fan_in, vocab_size)) * 0.1
    p["bout"] = np.zeros(vocab_size)
    return {k: v.astype(dtype) for k, v in p.items()}


def forward(p, Xb, Yb):
    """Linear -> (batchnorm) -> tanh, n_layers times, then the output layer and the loss."""
    x = p["C"][Xb].reshape(len(Xb), -1)                             # (n, T*E)
    caches = []
    for l in range(n_layers):
        pre = x @ p[f"W{l}"] + p[f"b{l}"]                           # (n, H)
        bn = None
        if f"bngain{l}" in p:
            pre, bn = batchnorm_forward(pre, p[f"bngain{l}"], p[f"bnbias{l}"])
        h = np.tanh(pre)                                             # (n, H)
        caches.append((x, bn, h))
        x = h
    logits = x @ p["Wout"] + p["bout"]                               # (n, V)
    loss, probs = cross_entropy_forward(logits, Yb)
    return loss, (Xb, caches, x, probs)


def backward(p, cache, Yb):
    """The hand backward, layer by layer in reverse; also returns the gradient at each h."""
    Xb, caches, x, probs = cache
    g = {}
    dlogits = cross_entropy_backward(probs, Yb)                     # (n, V)
    g["Wout"], g["bout"] = x.T @ dlogits, dlogits.sum(0)
    dx = dlogits @ p["Wout"].T                                       # (n, H) gradient at the last h
    dh_layers = [None] * n_layers
    for l in reversed(range(n_layers)):
        x_in, bn, h = caches[l]
        dh_layers[l] = dx
        dpre = dx * (1.0 - h * h)                                    # tanh
        if bn is not None:
            dpre, g[f"bngain{l}"], g[f"bnbias{l}"] = batchnorm_backward(dpre, bn)
        g[f"W{l}"], g[f"b{l}"] = x_in.T @ dpre, dpre.sum(0)
        dx = dpre @ p[f"W{l}"].T                                     # to the layer below
    g["C"] = embedding_backward(Xb, dx.reshape(len(Xb), -1, n_embd), len(p["C"]))  # (V, E)
    return g, dh_layers


def check_backward(rng):
    """The deep hand backward against central differences, on a small float64 copy."""
    ok = True
    for batchnorm in (False, True):
        p = init(7, 5 / 3, batchnorm, rng, n_hidden=6, dtype=np.float64)
        for k in p:  # biases away from zero, so that they cannot hide a wrong gradient
            if k.startswith("b") and not k.startswith("bngain"):
                p[k] = p[k] + 0.1 * rng.standard_normal(p[k].shape)
        Xb, Yb = rng.integers(0, 7, (5, block_size)), rng.integers(0, 7, 5)
        g, _ = backward(p, forward(p, Xb, Yb)[1], Yb)
        rows = check_params(lambda q: forward(q, Xb, Yb)[0], p, g)
        ok &= report(rows, f"deep hand backward, {'with' if batchnorm else 'without'} batchnorm")
        print()
    return ok


def layer_stats(p, g, dh_layers, caches):
    """Per layer: activation mean, std, % saturated, dead neurons, gradient std at h, grad:data of W."""
    rows = []
    for l, (_, _, h) in enumerate(caches):
        rows.append(dict(mean=float(h.mean()), std=float(h.std()), saturated=float((np.abs(h) > 0.97).mean() * 100),
                         dead=int((np.abs(h) > 0.99).all(0).sum()), grad_std=float(dh_layers[l].std()),
                         grad_data=float(g[f"W{l}"].std() / p[f"W{l}"].std())))
    return rows


def train_config(gain, lr, batchnorm, Xtr, Ytr, vocab_size, steps):
    """Train briefly; return the stats at init and at the end, and the update:data ratios."""
    rng = np.random.default_rng(seed)
    p = init(vocab_size, gain, batchnorm, rng)
    batches = np.random.default_rng(seed + 1).integers(0, len(Xtr), (steps, batch_size))
    ratios, lossi, first = [], [], None
    for i, ix in enumerate(batches):
        loss, cache = forward(p, Xtr[ix], Ytr[ix])
        g, dh_layers = backward(p, cache, Ytr[ix])
        if i == 0:
            layers = cache[1]  # (input, batchnorm cache, tanh output h) per layer
            first = (layer_stats(p, g, dh_layers, layers), [h.copy() for _, _, h in layers],
                     [d.copy() for d in dh_layers])
        if i % 10 == 0:
            with np.errstate(divide="ignore"):  # a dead layer's gradient is exactly 0: its ratio is -inf
                ratios.append([np.log10(lr * g[f"W{l}"].std() / p[f"W{l}"].std()) for l in range(n_layers)])
        for k in p:
            p[k] -= lr * g[k]
        lossi.append(float(loss))
    last = layer_stats(p, g, dh_layers, cache[1])
    return dict(lr=lr, init=first[0], hs=first[1], dhs=first[2], end=last, hs_end=[h.copy() for _, _, h in cache[1]],
                ratios=np.array(ratios), loss=float(np.mean(lossi[-200:])))


def grid_plot(results, out, name, title, draw, sharey=False, when=("", "")):
    """Two rows of panels, one per configuration: without batchnorm, then with it.
    draw(ax, result, batchnorm) may return what its panel shows, for the title (default: when[row])."""
    fig, axes = plt.subplots(2, len(configs), figsize=(5.3 * len(configs), 8), sharex=True, sharey=sharey)
    for row, batchnorm in enumerate((False, True)):
        for col, label in enumerate(configs):
            ax = axes[row, col]
            shows = draw(ax, results[(label, batchnorm)], batchnorm) or when[row]
            ax.set_title(f"{label}, {'with' if batchnorm else 'no'} batchnorm{shows}", fontsize=10)
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, out, f"activation_stats_{name}")


def main(argv=None):
    parser = Parser(description="Saturated tanh, dead neurons, vanishing gradients: a deep MLP under several inits.")
    parser.add_argument("--steps", type=positive(int), default=steps,
                        help=f"training steps per configuration (default {steps})")
    parser.add_argument("--out", default=PLOTS, help="folder for the plots (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    n_steps = args.steps
    itos, _, ((Xtr, Ytr), _, _) = load_splits(block_size)

    ok = check_backward(np.random.default_rng(seed))

    results = {}
    w = max(len(f"{label}, with batchnorm") for label in configs)  # the longest label sets the column
    print(f"{'configuration (stats at init)':{w}s} | layer | h mean |  h std | sat %  | dead | grad std at h | "
          "grad:data W")
    for batchnorm in (False, True):
        for label, (gain, lr) in configs.items():
            r = results[(label, batchnorm)] = dict(train_config(gain, lr, batchnorm, Xtr, Ytr, len(itos), n_steps),
                                                   label=label)
            name = f"{label}, {'with' if batchnorm else 'no'} batchnorm"
            for l, s in enumerate(r["init"]):
                print(f"{(name if l == 0 else ''):{w}s} | {l:5d} | {s['mean']:+6.2f} | {s['std']:6.3f} | "
                      f"{s['saturated']:5.1f}% | "
                      f"{s['dead']:4d} | {s['grad_std']:13.2e} | {s['grad_data']:.2e}")
            print(f"{'':{w}s} | after {n_steps} steps: loss {r['loss']:.3f}, dead neurons per layer "
                  f"{[s['dead'] for s in r['end']]}, saturated {[round(s['saturated']) for s in r['end']]} %")

    def tanh_hist(ax, r, batchnorm):
        # at init, batchnorm makes every configuration's activations the same (it removes the gain),
        # and the large step's init is the healthy one: those panels show the end of training instead
        after = batchnorm or r["label"] == LARGE_STEP
        for l, h in enumerate(r["hs_end"] if after else r["hs"]):
            s = (r["end"] if after else r["init"])[l]
            y, edges = np.histogram(h, bins=40, range=(-1, 1), density=True)
            ax.plot((edges[:-1] + edges[1:]) / 2, y,
                    label=f"layer {l}: std {s['std']:.2f}, sat {s['saturated']:.0f}%, dead {s['dead']}")
        ax.set_xlabel("tanh output h")
        return f", after {n_steps} steps" if after else ", at init"

    def grad_hist(ax, r, batchnorm):
        lim = max(np.abs(d).max() for d in r["dhs"])
        for l, d in enumerate(r["dhs"]):
            y, edges = np.histogram(d, bins=40, range=(-lim, lim), density=True)
            ax.plot((edges[:-1] + edges[1:]) / 2, y, label=f"layer {l}: std {d.std():.1e}")
        ax.set_xlabel("gradient at h (dloss/dh)")

    def ratio_plot(ax, r, batchnorm):
        for l in range(n_layers):
            ax.plot(np.arange(len(r["ratios"])) * 10, r["ratios"][:, l], lw=1, label=f"W{l}")
        ax.axhline(-3, color="k", ls="--", lw=1)
        ax.set_ylim(-5, 0.5)  # one scale for all panels; a dead layer's ratio falls off the bottom
        ax.set_xlabel("step")
        ax.set_ylabel("log10 update:data")

    grid_plot(results, out, "tanh",
              "tanh activations per layer: at init without batchnorm (vanishing, healthy, saturated), "
              f"and after {n_steps} steps (the large step's dead neurons; batchnorm keeps every gain healthy)",
              tanh_hist)
    grid_plot(results, out, "grads", "gradient arriving at each layer's output, at init", grad_hist)
    grid_plot(results, out, "update_ratio", f"update:data ratio of each weight over {n_steps} steps (dashed: 1e-3)",
              ratio_plot, sharey=True)

    # dead neurons after training: saturated for every example of the last batch
    fig, axes = plt.subplots(1, 2, figsize=(14, 4), sharey=True)
    w = 0.8 / len(configs)
    for ax, batchnorm in zip(axes, (False, True)):
        for c, label in enumerate(configs):
            dead = [s["dead"] for s in results[(label, batchnorm)]["end"]]
            ax.bar(np.arange(n_layers) + (c - (len(configs) - 1) / 2) * w, dead, w,
                   label=f"{label}: loss {results[(label, batchnorm)]['loss']:.2f}")
        ax.set_xticks(range(n_layers), [f"layer {l}" for l in range(n_layers)])
        ax.set_ylabel(f"dead neurons (of {n_hidden})")
        ax.set_title(f"after {n_steps} steps, {'with' if batchnorm else 'no'} batchnorm")
        ax.legend(fontsize=8)
    fig.suptitle("dead neurons: |h| > 0.99 for every example of a batch, so no gradient ever flows through them")
    fig.tight_layout()
    save(fig, out, "activation_stats_dead")

    summary = {f"{label}, {'bn' if bn else 'no bn'}": dict(loss=r["loss"], init=r["init"], end=r["end"])
               for (label, bn), r in results.items()}
    write_json(os.path.join(out, "activation_stats.json"), dict(check_ok=bool(ok), configs=summary))
    print(f"plots: {out}/activation_stats_tanh.png, _grads.png, _update_ratio.png, _dead.png")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(main))
