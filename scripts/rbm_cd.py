"""Before autograd, 2006: a Restricted Boltzmann Machine trained by contrastive divergence.

The lecture's historical note: Hinton and Salakhutdinov trained RBMs in MATLAB with "an
algorithm to estimate the gradient", people "meddling with those gradients directly". This is
that loop, in the shape of Hinton's rbm.m: init, loop over minibatches, positive phase, one
Gibbs step, negative phase, the gradient estimate written out, momentum 0.5 then 0.9, weight
decay, update; the reconstruction error printed per epoch.

The RBM models a window of names.txt: the 3 context characters and the next one, each a
one-hot group of 27 visible units (a softmax group: exactly one unit of a group is on), and
H binary hidden units. Energy E(v, h) = -v.b - h.c - v W h; free energy
F(v) = -v.b - sum_j log(1 + exp(c_j + (v W)_j)). For an RBM the next character's distribution
given the context is exact: p(k | context) = softmax over the 27 candidates k of -F(context, k).
So it can be put on the MLP's scale, nats per character on the lecture's validation split,
beside a count-based trigram. It may lose: it is a 2006 density model, not a classifier.

Then: CD is not the gradient. On an RBM small enough to enumerate every state, the exact
log-likelihood gradient against the CD-1, CD-10 and persistent-CD estimates: the 2006 analogue
of the numerical gradient check.

    python scripts/rbm_cd.py [--epochs 12] [--n-hidden 200] [--out plots/]
"""
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np
from scipy.special import expit, log_softmax, logsumexp

from lib.cli import Parser, positive, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS, load_splits
from lib.lecture import REFERENCE
from lib.model import trigram_loss
from lib.plotting import plt, save
from lib.training import Interrupt

# hyperparameters (rbm.m's, where they fit)
n_hidden = 200          # H binary hidden units
epochs = 12             # passes over the training windows
batch_size = 100        # rbm.m's minibatches of 100
epsilon_w = 0.05        # learning rate of the weights
epsilon_b = 0.05        # ... and of the biases
weight_cost = 0.0002    # weight decay
momentum = (0.5, 0.9)   # for the first epochs, then after
momentum_switch = 5     # the epoch from which momentum is 0.9 (rbm.m: after 5)
block_size = 3          # the context: 3 characters, then the next one
seed = 42
MLP_VAL = REFERENCE["val"]  # the lecture's MLP, val loss in nats per character (lib/lecture.py)


def onehot(X, V):
    """Windows (N, G) of character indices -> visible vectors (N, G*V), one unit on per group."""
    N, G = X.shape
    v = np.zeros((N, G * V))
    v[np.arange(N)[:, None], np.arange(G) * V + X] = 1.0
    return v


def sample_groups(logits, G, V, rng):
    """One unit on per softmax group, drawn from softmax(logits) within the group. (N, G*V)"""
    N = len(logits)
    p = np.exp(log_softmax(logits.reshape(N, G, V), axis=2))
    pick = (p.cumsum(2) > rng.random((N, G, 1))).argmax(2)                 # (N, G)
    return onehot(pick, V), p.reshape(N, G * V)


def free_energy(v, W, b, c):
    """F(v) = -v.b - sum_j softplus(c_j + (v W)_j); p(v) is proportional to exp(-F(v)). (N,)"""
    return -v @ b - np.logaddexp(0, v @ W + c).sum(1)


def next_char_logprobs(X, W, b, c, V, chunk=2000):
    """log p(k | context) for every candidate k: log_softmax over k of -F(context, k). (N, V)"""
    out = []
    T = X.shape[1]
    for i in range(0, len(X), chunk):
        ctx = onehot(X[i:i + chunk], V)                                    # (n, T*V)
        base = ctx @ W[:T * V] + c                                         # (n, H) the context's share
        pre = base[:, None, :] + W[T * V:][None, :, :]                     # (n, V, H) plus each candidate's row
        neg_f = (ctx @ b[:T * V])[:, None] + b[T * V:][None, :] + np.logaddexp(0, pre).sum(2)  # (n, V)
        out.append(log_softmax(neg_f, axis=1))
    return np.concatenate(out)


# CD is not the gradient: an RBM small enough to enumerate (binary visible units)

def exact_gradient(data, W, b, c):
    """The log-likelihood gradient, exactly: <v h>_data - <v h>_model over every joint state."""
    nv = W.shape[0]
    states = np.array(list(itertools.product((0.0, 1.0), repeat=nv)))     # (2^nv, nv)
    neg_f = -free_energy(states, W, b, c)                                 # (2^nv,)
    p = np.exp(neg_f - logsumexp(neg_f))                                  # p(v) for every visible state
    h_model = expit(states @ W + c)
    h_data = expit(data @ W + c)
    return (data.T @ h_data / len(data) - states.T @ (p[:, None] * h_model),
            data.mean(0) - p @ states, h_data.mean(0) - p @ h_model)


def cd_gradient(data, W, b, c, k, rng, chains=None):
    """The CD-k estimate: the negative phase after k Gibbs steps from the data (or, for
    persistent CD, from the given chains, which are left where they end)."""
    v = data if chains is None else chains
    for _ in range(k):
        h = (rng.random((len(v), W.shape[1])) < expit(v @ W + c)).astype(float)
        v = (rng.random((len(v), W.shape[0])) < expit(h @ W.T + b)).astype(float)
    if chains is not None:
        chains[...] = v
    hp_data, hp_model = expit(data @ W + c), expit(v @ W + c)
    return (data.T @ hp_data / len(data) - v.T @ hp_model / len(v),
            data.mean(0) - v.mean(0), hp_data.mean(0) - hp_model.mean(0))


def cd_expected(data, W, b, c, k):
    """What CD-k estimates on average, exactly: the Gibbs chain's distribution after k steps from
    each data vector, from the transition matrix over every visible state. (gradient of W)"""
    nv, nh = W.shape
    vs = np.array(list(itertools.product((0.0, 1.0), repeat=nv)))        # (2^nv, nv)
    hs = np.array(list(itertools.product((0.0, 1.0), repeat=nh)))        # (2^nh, nh)

    def given(x, y, M, bias):  # p(y | x) for every pair of states: product of independent units
        q = expit(x @ M + bias)
        return np.exp(np.log(q + 1e-300) @ y.T + np.log(1 - q + 1e-300) @ (1 - y).T)
    T = given(vs, hs, W, c) @ given(hs, vs, W.T, b)                       # (2^nv, 2^nv) one Gibbs step
    start = (data @ 2.0 ** np.arange(nv - 1, -1, -1)).astype(int)        # each data vector's state index
    dist = np.linalg.matrix_power(T, k)[start]                           # (N, 2^nv) after k steps
    hp = expit(vs @ W + c)
    neg = (dist.sum(0)[:, None] * vs).T @ hp / len(data)
    return data.T @ expit(data @ W + c) / len(data) - neg


def cd_versus_exact(rng, repeats=2000):
    """CD-k and persistent CD against the exact gradient of W, on an RBM small enough to enumerate:
    the error of what each estimates on average (its bias, computed exactly), and of the average
    of `repeats` sampled estimates (bias and noise)."""
    nv, nh = 8, 4
    W = rng.standard_normal((nv, nh)) * 2.0
    b, c = rng.standard_normal(nv) * 0.5, rng.standard_normal(nh) * 0.5
    data = (rng.random((20, nv)) < 0.3 + 0.4 * (np.arange(nv) % 2)).astype(float)
    exact = exact_gradient(data, W, b, c)[0]

    def rel(g):
        return float(np.linalg.norm(g - exact) / np.linalg.norm(exact))

    def cos(g):
        return float((g * exact).sum() / np.linalg.norm(g) / np.linalg.norm(exact))
    chains = (rng.random((len(data), nv)) < 0.5).astype(float)
    for _ in range(1000):  # persistent chains, burnt in at these parameters
        cd_gradient(data, W, b, c, 1, rng, chains)
    rows = {}
    for label, k in (("CD-1", 1), ("CD-3", 3), ("CD-10", 10), ("CD-30", 30), ("PCD-1", None)):
        expected = cd_expected(data, W, b, c, k) if k else exact  # stationary chains: no bias
        sampled = np.mean([cd_gradient(data, W, b, c, k or 1, rng, None if k else chains)[0]
                           for _ in range(repeats)], axis=0)
        rows[label] = dict(bias=rel(expected), rel_error=rel(sampled), cosine=cos(sampled))
    return rows


def main(argv=None):
    parser = Parser(description="An RBM trained by contrastive divergence (2006), put on the MLP's scale.")
    parser.add_argument("--epochs", type=positive(int), default=epochs, help=f"passes over the data (default {epochs})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden, help=f"hidden units (default {n_hidden})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed (default {seed})")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for rbm_cd.json and the plots (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    rng = np.random.default_rng(args.seed)
    itos, _, ((Xtr, Ytr), (Xva, Yva), _) = load_splits(block_size)
    V, G, H = len(itos), block_size + 1, args.n_hidden
    data = onehot(np.column_stack([Xtr, Ytr]), V)                          # (N, G*V) the training windows
    monitor = onehot(np.column_stack([Xva, Yva]), V)[:2000]                # held out, for the free-energy gap
    print(f"{len(data)} training windows of {G} characters: {G * V} visible units in {G} softmax groups, {H} hidden")

    # init, as rbm.m: small weights, zero biases (the visible biases at the data's log frequencies)
    W = 0.01 * rng.standard_normal((G * V, H))
    b = np.log(data.mean(0) + 1e-3)
    c = np.zeros(H)
    dW, db, dc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    history = []
    stop = Interrupt("the epoch under way")  # Ctrl-C or kill: the figures of the epochs done are still written
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        order = rng.permutation(len(data))
        err_sum = 0.0
        mom = momentum[0] if epoch < momentum_switch else momentum[1]
        for start in range(0, len(data), batch_size):
            v0 = data[order[start:start + batch_size]]
            n = len(v0)
            # positive phase: the hidden units driven by the data
            h0_prob = expit(v0 @ W + c)
            pos_assoc = v0.T @ h0_prob
            h0 = (rng.random(h0_prob.shape) < h0_prob).astype(float)
            # one Gibbs step: reconstruct the visible groups, then the hidden probabilities again
            v1, v1_prob = sample_groups(h0 @ W.T + b, G, V, rng)
            h1_prob = expit(v1 @ W + c)
            neg_assoc = v1.T @ h1_prob
            err_sum += ((v0 - v1_prob) ** 2).sum()
            # the gradient estimate, written out: data statistics minus reconstruction statistics
            dW = mom * dW + epsilon_w * ((pos_assoc - neg_assoc) / n - weight_cost * W)
            db = mom * db + epsilon_b * (v0 - v1).mean(0)
            dc = mom * dc + epsilon_b * (h0_prob - h1_prob).mean(0)
            W += dW
            b += db
            c += dc
        gap = float(free_energy(monitor, W, b, c).mean() - free_energy(data[:2000], W, b, c).mean())
        val = float(-next_char_logprobs(Xva, W, b, c, V)[np.arange(len(Yva)), Yva].mean())
        history.append(dict(epoch=epoch + 1, recon_error=err_sum / len(data), free_energy_gap=gap, val_loss=val))
        print(f"epoch {epoch + 1:2d}: reconstruction error {err_sum / len(data):.4f}   free-energy gap (val - train) "
              f"{gap:+.3f}   val loss {val:.4f}   ({time.perf_counter() - t0:.0f} s)", flush=True)
        if stop.signal:
            break
    seconds = time.perf_counter() - t0

    # on the MLP's scale
    trigram = trigram_loss(Xtr, Ytr, Xva, Yva, V)
    rbm = history[-1]["val_loss"]
    print(f"\nvalidation loss, nats per character (the lecture's split):")
    print(f"  trigram, add-one smoothing : {trigram:.4f}")
    print(f"  RBM by CD-1 ({H} hidden)   : {rbm:.4f}   (p(next | context) exact: softmax of -F)")
    print(f"  the lecture's MLP (SGD)    : {MLP_VAL:.4f}")

    # names from the RBM, a character at a time by the exact conditional
    names = []
    for _ in range(20):
        ctx, name = [0] * block_size, ""
        while len(name) < 30:
            logp = next_char_logprobs(np.array([ctx]), W, b, c, V)[0]
            p = np.exp(logp)
            k = int(rng.choice(V, p=p / p.sum()))
            if k == 0:
                break
            name += itos[k]
            ctx = ctx[1:] + [k]
        names.append(name)
    print("samples: " + ", ".join(names))

    # CD is not the gradient
    table = cd_versus_exact(np.random.default_rng(args.seed))
    print("\nCD against the exact gradient of W, 8 visible x 4 hidden units, every state enumerated:")
    print(f"{'estimator':9s} | rel. error of its expectation (bias) | rel. error, mean of 2000 estimates | cosine")
    for label, r in table.items():
        print(f"{label:9s} | {r['bias']:36.1e} | {r['rel_error']:34.4f} | {r['cosine']:.4f}")

    # plots
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
    ep = [h["epoch"] for h in history]
    axes[0].plot(ep, [h["recon_error"] for h in history], "o-")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("squared reconstruction error per window")
    axes[0].set_title("what rbm.m printed: reconstruction error")
    axes[1].plot(ep, [h["free_energy_gap"] for h in history], "o-", color="tab:orange")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("mean F(val) - mean F(train)   (rising above 0: overfitting)")
    axes[1].set_title("Hinton's overfitting monitor: the free-energy gap")
    labels = list(table)
    x = np.arange(len(labels))
    floor = 1e-6  # the log axis needs a bottom: a bias below it is drawn at it and labelled
    axes[2].bar(x - 0.2, [max(table[k]["bias"], floor) for k in labels], 0.4, label="its expectation (bias), exact")
    for i, k in enumerate(labels):
        if table[k]["bias"] < floor:
            axes[2].text(i - 0.2, floor * 1.3, "0" if table[k]["bias"] == 0 else f"{table[k]['bias']:.0e}",
                         ha="center", fontsize=8)
    axes[2].bar(x + 0.2, [table[k]["rel_error"] for k in labels], 0.4, label="mean of 2000 sampled estimates")
    axes[2].set_xticks(x, labels)
    axes[2].set_yscale("log")
    axes[2].set_ylabel("relative error against the exact gradient")
    axes[2].set_title("CD-k against the exact gradient (8 x 4 RBM)")
    axes[2].legend(fontsize=8)
    save(fig, out, "rbm_cd")

    # what the hidden units respond to: the weights of the units most used on the data, per group
    use = expit(data[:5000] @ W + c).var(0)
    top = np.argsort(-use)[:8]
    fig, axes = plt.subplots(2, 4, figsize=(16, 6))
    fig.subplots_adjust(hspace=0.45)
    lim = np.abs(W[:, top]).max()
    for ax, j in zip(axes.ravel(), top):
        im = ax.imshow(W[:, j].reshape(G, V), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(V), itos, fontsize=7)
        ax.set_yticks(range(G), ["c-3", "c-2", "c-1", "next"])
        ax.set_title(f"hidden unit {j}", fontsize=9)
    fig.colorbar(im, ax=axes, fraction=0.02, label="weight to the visible unit")
    fig.suptitle("what hidden units respond to: each unit's weights to every character of each position (red: excites)")
    save(fig, out, "rbm_cd_units")

    write_json(os.path.join(out, "rbm_cd.json"), dict(finished=not stop.signal, n_hidden=H, epochs=len(history),
                                                       seconds=seconds, history=history,
                                                       val_loss=rbm, trigram_val_loss=trigram, mlp_val_loss=MLP_VAL,
                                                       cd_table=table, samples=names))
    print(f"plots: {out}/rbm_cd.png, {out}/rbm_cd_units.png")
    if stop.signal:
        return stop.done(f"after epoch {len(history)} of {args.epochs}",
                         f"{out}/rbm_cd.json and the plots of the epochs done")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
