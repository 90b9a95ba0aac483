"""The LSTM by hand, and why it carries the gradient: backprop through time is a product of forget gates.

The lecture's next step is "Recurrent Neural Networks, LSTMs, and their variants", and the leak
it names waits there: gradients that vanish or explode through time (scripts/rnn_bptt.py
measures it for a vanilla RNN). The LSTM's cure is its cell state, and the lecture's argument
applies to it too: it carries the gradient back only as far as its forget gates let it. In the
shape of Karpathy's batched lstm.py, with the embedding of rnn_bptt.py:

    x_t = C[ix_t]                                   (B, E)
    z_t = x_t @ Wx + h_{t-1} @ Wh + b               (B, 4H)  the four gates' pre-activations
    i_t = sigmoid(z_t[:, :H])                       (B, H)   input gate
    f_t = sigmoid(z_t[:, H:2H])                     (B, H)   forget gate (its bias starts at forget_bias)
    o_t = sigmoid(z_t[:, 2H:3H])                    (B, H)   output gate
    g_t = tanh(z_t[:, 3H:])                         (B, H)   the candidate
    c_t = f_t * c_{t-1} + i_t * g_t                 (B, H)   the cell state; c_{-1} = h_{-1} = 0
    h_t = o_t * tanh(c_t)                           (B, H)
    logits_t = h_t @ Why + by                       (B, V)

Going back one step along the cell, dloss/dc_{t-1} = dloss/dc_t * f_t (plus what reaches c_{t-1}
through h_{t-1}): a product of forget gates. With the usual forget bias of 1 the gate starts
near sigmoid(1) = 0.73, and 0.73 per step is vanishing, only slower than the RNN's; a bias of 5
(sigmoid(5) = 0.993, 0.993^100 = 0.5) opens the gate, and the gradient crosses a hundred steps.

Recall across a lag (remember the first of lag + 2 symbols, 8 to choose from, chance 0.125; hidden 64,
Adam lr 0.01, batch 64, at most 1500 steps), --full, three seeds per point, mean (lowest-highest):

    model                      lag 10            lag 20            lag 50            lag 100           lag 200
    vanilla RNN                0.75 (0.26-1.00)  0.67 (0.38-1.00)  0.35 (0.23-0.60)  0.40 (0.24-0.52)  0.24 (0.23-0.25)
    LSTM, forget bias 1        1.00              1.00              0.13              0.12              0.13
    LSTM, forget bias 5        1.00              1.00              1.00              1.00 (1.00-1.00)  0.12 (0.11-0.12)

Forget bias 1 learns the short lags and is at chance from 50 on, in every seed, as its 0.73-per-step gate
predicts. With the gate open, lag 100 is solved in every seed in 300 to 500 steps. At lag 200 no model learns:
the open cell keeps the gradient (0.993^200 = 0.25) but fills with 200 distractors. The vanilla RNN is the
noisiest: Adam's per-parameter scaling lifts even its tiny gradient, so it sometimes learns lag 10 or 20.
Why 5 and not the 4 of many write-ups: with 4 (sigmoid(4) = 0.982, 0.982^100 = 0.16), one seed in six at lag
100 stayed at chance even with 3000 steps (seeds 42 to 47); with 5, none did. The default run (one seed, lags
20 and 100) gives at lag 100: gate open 1.000, forget bias 1 0.119, the RNN 0.518, one seed above its mean.
On names (hidden 128, SGD 0.5 then 0.05, clipping at 5, 20000 steps): val 1.975, below the RNN's 2.023.

    python scripts/lstm_bptt.py              # check, names, the gradient through time, recall at lags 20 and 100
    python scripts/lstm_bptt.py --full       # recall at lags 10 to 200, three seeds each (about 17 minutes)
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib import lecture, recurrent
from lib.cli import Parser, Stopped, apart, fits, positive, run, seed_arg, writable_dir, writable_file, write_json
from lib.data import PLOTS, ROOT, load_words
from lib.gradcheck import report
from lib.plotting import binned, plt, save
from lib.training import Keep, announce

# hyperparameters: names
n_embd = recurrent.n_embd  # E, the character embedding (16, set in lib/recurrent.py for both recurrent scripts)
n_hidden = 128        # H, the cell state and the hidden state
batch_size = 32       # names per step
max_steps = 20000     # optimisation steps
learning_rate = 0.5   # plain SGD ...
decay_at = 15000      # ... and a tenth of it from here on
max_norm = 5.0        # gradient-norm clipping
forget_bias = 1.0     # the usual start of the forget gate's bias
seed = 42
log_every = 4000
# hyperparameters: the long-lag recall task
symbols = 8           # what to remember (chance: 1/8)
distractors = 8       # what comes in between
recall_hidden = 64    # both models
recall_size = 64      # sequences per Adam step
recall_steps = 1500   # Adam steps per model and lag
recall_lr = 0.01      # Adam's learning rate
open_bias = 5.0       # the forget gate held open: sigmoid(5) = 0.993 (4, 0.982, failed 1 seed in 5 at lag 100)


GATES = {"forget bias 1": 1.0, f"forget bias {open_bias:g}, the gate open": open_bias}  # the two LSTMs drawn
QUANTITIES = {  # what is drawn of each LSTM back through time: its label and line
    "dc": ("||dloss/dc_t||", dict(color="tab:blue", lw=2.5)),
    "alone": ("||dloss/dc_t||, the cell path alone", dict(color="tab:cyan", lw=1.5, ls="-.")),
    "dh": ("||dloss/dh_t||", dict(color="tab:blue", lw=1.2, ls=":")),
    "rms": ("product of the forget gates (rms over units)", dict(color="k", lw=1.2, ls="--")),
    "mean": ("product of the mean forget gate", dict(color="0.6", lw=1, ls="--")),
}


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the same function, without exp overflow for large |x|


def init(vocab_size, rng, n_embd=n_embd, n_hidden=n_hidden, forget_bias=forget_bias, dtype=np.float64):
    H = n_hidden
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias                                        # the forget gate starts open this much
    p = {"C": rng.standard_normal((vocab_size, n_embd)),
         "Wx": rng.standard_normal((n_embd, 4 * H)) / n_embd ** 0.5,
         "Wh": rng.standard_normal((H, 4 * H)) / H ** 0.5,
         "b": b,
         "Why": rng.standard_normal((H, vocab_size)) * 0.01,
         "by": np.zeros(vocab_size)}
    return {k: v.astype(dtype) for k, v in p.items()}


def forward(p, X, Y, mask):
    """The loss (mean over the masked steps) and what the backward needs. What does not depend on
    the step before (the inputs' share of the gates, the outputs) is computed for all steps at once."""
    B, T = X.shape
    H = p["Wh"].shape[0]
    xs = p["C"][X].transpose(1, 0, 2)                                # (T, B, E) the characters, embedded
    zx = xs @ p["Wx"] + p["b"]                                       # (T, B, 4H) the inputs' share of the gates
    dtype = p["Wh"].dtype                                            # float32 to train, float64 to check
    hs, cs = np.zeros((T + 1, B, H), dtype), np.zeros((T + 1, B, H), dtype)  # hs[t + 1] is h_t; hs[0], cs[0] the start
    gates = np.empty((T, B, 4 * H), dtype)                           # i, f, o, g, after their nonlinearities
    for t in range(T):
        z = zx[t] + hs[t] @ p["Wh"]                                  # (B, 4H)
        gates[t, :, :3 * H] = sigmoid(z[:, :3 * H])                  # i, f, o
        gates[t, :, 3 * H:] = np.tanh(z[:, 3 * H:])                  # g
        i, f, o, g = np.split(gates[t], 4, axis=1)
        cs[t + 1] = f * cs[t] + i * g                                # the cell state
        hs[t + 1] = o * np.tanh(cs[t + 1])
    logits = hs[1:] @ p["Why"] + p["by"]                             # (T, B, V) every step's output
    logits -= logits.max(2, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(2, keepdims=True)
    picked = np.take_along_axis(probs, Y.T[:, :, None], 2)[:, :, 0]  # (T, B) the targets' probabilities
    loss = -(np.log(picked.astype(np.float64)) * mask.T).sum() / mask.sum()
    return loss, (xs, hs, cs, gates, probs)


def backward(p, cache, X, Y, mask, keep=False, carry_c=True, carry_h=True):
    """Backpropagation through time, in exact reverse order; grads keyed like p. keep: also
    return dloss/dh_t and dloss/dc_t for every t. carry_c / carry_h False drop what the step after
    sends back along the cell or through the hidden state (a planted bug; and the cell path alone)."""
    xs, hs, cs, gates, probs = cache
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    gr = {}
    dlogits = probs.copy()                                           # softmax - onehot, / (number predicted)
    np.put_along_axis(dlogits, Y.T[:, :, None], np.take_along_axis(dlogits, Y.T[:, :, None], 2) - 1, 2)
    dlogits *= (mask.T / mask.sum())[:, :, None].astype(probs.dtype)  # padding sends nothing back
    gr["Why"] = hs[1:].reshape(-1, H).T @ dlogits.reshape(T * B, -1)  # Why is used at every step: the sum
    gr["by"] = dlogits.sum((0, 1))
    dh_out = dlogits @ p["Why"].T                                    # (T, B, H) what each output sends to h_t
    dz = np.empty((T, B, 4 * H), hs.dtype)
    dh_next, dc_next = np.zeros((B, H), hs.dtype), np.zeros((B, H), hs.dtype)  # from step t + 1
    dhs, dcs = [None] * T, [None] * T
    for t in reversed(range(T)):
        i, f, o, g = np.split(gates[t], 4, axis=1)
        tc = np.tanh(cs[t + 1])
        dh = dh_out[t] + dh_next                                     # h_t feeds its output and step t + 1
        dc = dh * o * (1.0 - tc ** 2)                                # c_t, branch 1: h_t = o_t * tanh(c_t)
        dc += dc_next                                                # c_t, branch 2: c_{t+1} = f_{t+1} * c_t + ...
        dhs[t], dcs[t] = dh, dc
        dz[t, :, :H] = dc * g * i * (1 - i)                          # input gate:  dc * g, through sigmoid' = s(1 - s)
        dz[t, :, H:2 * H] = dc * cs[t] * f * (1 - f)                 # forget gate: dc * c_{t-1}
        dz[t, :, 2 * H:3 * H] = dh * tc * o * (1 - o)                # output gate: dh * tanh(c_t)
        dz[t, :, 3 * H:] = dc * i * (1 - g ** 2)                     # candidate:   dc * i, through tanh' = 1 - g^2
        dh_next = dz[t] @ p["Wh"].T if carry_h else 0 * dh           # back one step through the gates
        dc_next = dc * f if carry_c else 0 * dc                      # back one step along the cell: times f_t
    flat = dz.reshape(T * B, 4 * H)                                  # the weights serve every step: sums over them
    gr["Wh"] = hs[:-1].reshape(T * B, H).T @ flat
    gr["Wx"] = xs.reshape(T * B, -1).T @ flat
    gr["b"] = flat.sum(0)
    gr["C"] = np.zeros_like(p["C"])
    np.add.at(gr["C"], X.T.ravel(), flat @ p["Wx"].T)                # repeated characters add up
    return (gr, dhs, dcs) if keep else gr


def step(p, state, ix):
    """One step for sampling: (the new (h, c), the logits of the next character)."""
    H = p["Wh"].shape[0]
    h, c = state if state is not None else (np.zeros(H), np.zeros(H))
    z = p["C"][ix] @ p["Wx"] + h @ p["Wh"] + p["b"]
    c = sigmoid(z[H:2 * H]) * c + sigmoid(z[:H]) * np.tanh(z[3 * H:])
    h = sigmoid(z[2 * H:3 * H]) * np.tanh(c)
    return (h, c), h @ p["Why"] + p["by"]


def gradient_check(rng, backward=backward):
    """Every tensor against central differences (lib/recurrent.py's small padded instance); the rows.
    backward: a planted wrong one, for the test."""
    return recurrent.gradient_check(init, forward, backward, rng)


# the long-lag recall task

def recall_batch(rng, B, lag):
    """Remember the first of lag + 2 symbols: x_0 one of `symbols`, then `lag` random distractors,
    then the query; the answer (x_0) is due at the last step alone."""
    T = lag + 2
    X = rng.integers(symbols, symbols + distractors, (B, T))
    X[:, 0] = rng.integers(0, symbols, B)
    X[:, -1] = symbols + distractors                                 # the query symbol
    Y = np.zeros((B, T), np.int64)
    Y[:, -1] = X[:, 0]
    mask = np.zeros((B, T))
    mask[:, -1] = 1.0
    return X, Y, mask


def train_recall(model, lag, steps, seed):
    """Adam on fresh recall batches; the accuracy on 1024 new sequences, the steps taken and the
    seconds. A run that answers every sequence of a check batch right twice running stops early."""
    vocab = symbols + distractors + 1
    rng = np.random.default_rng([seed, lag])
    if model == "rnn":
        p = recurrent.init(vocab, rng, n_embd=n_embd, n_hidden=recall_hidden)
        fwd, bwd = recurrent.forward, recurrent.backward
    else:
        p = init(vocab, rng, n_embd=n_embd, n_hidden=recall_hidden, forget_bias=open_bias if model == "open" else 1.0,
                 dtype=np.float32)
        fwd, bwd = forward, backward
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    t0, perfect, done = time.perf_counter(), 0, steps
    for k in range(1, steps + 1):
        X, Y, mask = recall_batch(rng, recall_size, lag)
        loss, cache = fwd(p, X, Y, mask)
        g = bwd(p, cache, X, Y, mask)
        norm = np.sqrt(sum((x * x).sum() for x in g.values()))
        scale = min(1.0, max_norm / (norm + 1e-12))                  # clipping: same direction, shorter step
        for name in p:                                               # Adam
            m[name] = 0.9 * m[name] + 0.1 * g[name] * scale
            v[name] = 0.999 * v[name] + 0.001 * (g[name] * scale) ** 2
            p[name] -= recall_lr * (m[name] / (1 - 0.9 ** k)) / (np.sqrt(v[name] / (1 - 0.999 ** k)) + 1e-8)
        if k % 100 == 0:
            perfect = perfect + 1 if accuracy(fwd, p, rng, lag, 256) == 1.0 else 0
            if perfect == 2:
                done = k
                break
    return dict(accuracy=accuracy(fwd, p, rng, lag, 1024), steps=done, seconds=time.perf_counter() - t0, p=p)


def accuracy(fwd, p, rng, lag, count):
    X, Y, mask = recall_batch(rng, count, lag)
    _, cache = fwd(p, X, Y, mask)
    probs = cache[4][-1] if len(cache) == 5 else cache[1][-1]         # the last step's: the LSTM's, the RNN's
    return float((probs.argmax(1) == Y[:, -1]).mean())


def through_time(lag, seed):
    """At init, on one recall batch (the loss at the last step alone): ||dloss/dh_t|| of the RNN,
    ||dloss/dc_t|| and ||dloss/dh_t|| of the LSTM with forget bias 1 and 4, and dc along the cell
    path alone (the hidden path dropped), by distance back from the loss, each relative to its
    value at distance 0; beside them the product of the forget gates from the loss back to each
    step, unit by unit (summarised like a norm: rms over the units) and of their mean."""
    vocab = symbols + distractors + 1
    X, Y, mask = recall_batch(np.random.default_rng([seed, 99]), recall_size, lag)
    q = recurrent.init(vocab, np.random.default_rng(seed), n_embd=n_embd, n_hidden=recall_hidden)
    _, dhs = recurrent.backward(q, recurrent.forward(q, X, Y, mask)[1], X, Y, mask, keep=True)
    lstm = {}
    for gate, bias in GATES.items():
        p = init(vocab, np.random.default_rng(seed), n_embd=n_embd, n_hidden=recall_hidden, forget_bias=bias)
        cache = forward(p, X, Y, mask)[1]
        _, dh, dcs = backward(p, cache, X, Y, mask, keep=True)
        _, _, alone = backward(p, cache, X, Y, mask, keep=True, carry_h=False)
        f = cache[3][:, :, recall_hidden:2 * recall_hidden]          # (T, B, H) the forget gates
        back = np.concatenate([np.ones((1,) + f.shape[1:]), np.cumprod(f[:0:-1], axis=0)])  # f_T ... f_{t+1}
        lstm[gate] = dict(dc=norms(dcs), alone=norms(alone), dh=norms(dh), rms=np.sqrt((back ** 2).mean((1, 2))),
                          mean=np.concatenate([[1.0], np.cumprod(f.mean((1, 2))[:0:-1])]))
    return dict(rnn=norms(dhs), lstm=lstm)


def flat(curves):
    """The curves with one label each, as printed and written: {'LSTM, forget bias 1: ||dloss/dc_t||': curve}."""
    out = {"RNN: ||dloss/dh_t||": curves["rnn"]}
    for gate, qs in curves["lstm"].items():
        out.update({f"LSTM, {gate}: {QUANTITIES[q][0]}": c for q, c in qs.items()})
    return out


def rnn_val_loss(path):
    """rnn_bptt.py's val loss from its JSON beside ours, for comparison; None when there is none or it is damaged."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            value = json.load(f).get("val_loss")
    except (OSError, ValueError, AttributeError):  # missing, unreadable, truncated, not a JSON object
        return None
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def norms(grads):
    n = np.array([np.linalg.norm(d) for d in grads[::-1]])           # distance 0, 1, 2, ...
    return n / n[0]


def plot_through_time(curves, out):
    """The gradient back through time at init, one panel per forget bias, the RNN in both."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), sharey=True, layout="constrained")
    for ax, (gate, qs) in zip(axes, curves["lstm"].items()):
        rnn = curves["rnn"]
        ax.semilogy(np.arange(len(rnn)), np.maximum(rnn, 1e-30), color="tab:red", lw=2,
                    label="vanilla RNN: ||dloss/dh_t||")
        for q, c in qs.items():
            label, style = QUANTITIES[q]
            ax.semilogy(np.arange(len(c)), np.maximum(c, 1e-30), label=label, **style)
        ax.set_ylim(1e-20, 30)
        ax.set_xlabel("distance back in time from the loss (steps)")
        ax.set_title(f"LSTM, {gate}")
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("gradient norm, relative to the last step")
    fig.suptitle("back through time, at init: along the cell the gradient is the product of the forget gates "
                 "(dash-dot on black dashed)\nforget bias 1 lets about 1e-7 of it through in 100 steps, the open gate "
                 "most of it, the vanilla RNN 1e-25")
    save(fig, out, "lstm_bptt_through_time")


def plot_recall(recall, models, lags, seeds, out):
    """Recall accuracy against the lag, one line per model, the steps and seconds of each point."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colors = {"rnn": "tab:red", "lstm": "tab:blue", "open": "tab:green"}
    for m, label in models.items():
        done = [lag for lag in lags if lag in recall[m]]
        if not done:
            continue
        acc = np.array([recall[m][lag]["accuracy"] for lag in done])
        spread = np.array([[a - recall[m][lag]["low"], recall[m][lag]["high"] - a] for lag, a in zip(done, acc)]).T
        ax.errorbar(done, acc, yerr=spread if seeds > 1 else None, fmt="o-", capsize=3, color=colors[m],
                    label=label + (f" (mean of {seeds} seeds, bars: lowest to highest)" if seeds > 1 else ""))
    for lag in lags:  # the steps and seconds below each point, the labels of one lag kept apart
        below = 2.0
        for m in sorted((m for m in models if lag in recall[m]), key=lambda m: -recall[m][lag]["accuracy"]):
            r = recall[m][lag]
            below = min(r["accuracy"] - 0.04, below - 0.045)
            ax.annotate(f"{r['steps']} st, {r['seconds']:.0f} s", (lag, below), textcoords="offset points",
                        xytext=(6, 0), fontsize=7, color=colors[m], va="center")
    ax.axhline(1 / symbols, color="k", ls="--", lw=1, label=f"chance ({1 / symbols:.3f})")
    ax.set_ylim(0, 1.12)
    ax.set_xscale("log")
    ax.set_xticks(lags, [str(lag) for lag in lags])
    ax.minorticks_off()
    ax.set_xlabel("lag: distractors between the symbol and the question")
    ax.set_ylabel("recall accuracy (1024 new sequences)")
    ax.set_title("remembering across the lag: the LSTM with its forget gate open reaches farthest")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    save(fig, out, "lstm_bptt_recall")


def main(argv=None):
    parser = Parser(description="An LSTM with backpropagation through time by hand: names, and why it carries "
                                "the gradient (a product of forget gates).")
    parser.add_argument("--steps", type=positive(int), default=max_steps,
                        help=f"names: optimisation steps (default {max_steps})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden,
                        help=f"names: cell size (default {n_hidden})")
    parser.add_argument("--recall-steps", type=positive(int), default=recall_steps,
                        help=f"recall: Adam steps per model and lag at most (default {recall_steps})")
    parser.add_argument("--full", action="store_true", help="recall at lags 10, 20, 50, 100 and 200, three seeds each "
                        "(default: lags 20 and 100, one seed)")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed (default {seed})")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for lstm_bptt.json and the plots (default plots/ in the repository)")
    parser.add_argument("--checkpoint", default=os.path.join(ROOT, "data", "lstm.npz"),
                        help="where to save (default data/lstm.npz)")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    writable_file(args.checkpoint, "--checkpoint")
    apart(args.checkpoint, "--checkpoint", out, "lstm_bptt")
    keep = Keep(args.checkpoint)  # where the names model goes (an earlier one stays until it is trained), a lock
    announce(keep.plan())
    lags = (10, 20, 50, 100, 200) if args.full else (20, 100)
    seeds = [args.seed + k for k in range(3 if args.full else 1)]  # the vanilla RNN's result depends on its seed

    # data: the lecture's split of the words, whole names as sequences
    itos, stoi, (train, val, test) = load_words(args.data)
    V, H, T = len(itos), args.n_hidden, max(map(len, train + val + test)) + 1
    fits(4 * (4 * (V * n_embd + 4 * H * (n_embd + H + 1) + H * V) + 1024 * T * (7 * H + 2 * V)), "an LSTM of this size",
         "pass a smaller --n-hidden")

    keep.watch()  # Ctrl-C or kill: the step under way finishes, what was measured so far is written

    # gradient check first, and the check of the check: a backward that drops the carried dc fails
    ok = report(gradient_check(np.random.default_rng(args.seed)), "LSTM BPTT vs central differences")
    planted = gradient_check(np.random.default_rng(args.seed), lambda *a: backward(*a, carry_c=False))
    caught = [r["name"] for r in planted if not r["ok"]]
    print(f"planted bug, dc not carried back along the cell: {len(caught)} of {len(planted)} rows fail "
          f"({', '.join(caught)})\n")

    # names: SGD with clipping, as rnn_bptt.py trains the RNN
    p = init(len(itos), np.random.default_rng(args.seed), n_hidden=args.n_hidden, dtype=np.float32)
    np.seterr(all="ignore")  # a blow-up is reported once, as a NaN loss, not as numpy's warnings along the way
    batches = np.random.default_rng([args.seed, 1])
    lossi, t0 = [], time.perf_counter()
    for i in range(args.steps):
        if keep.stopping:
            break
        X, Y, mask = recurrent.batch_of([train[j] for j in batches.integers(0, len(train), batch_size)], stoi)
        loss, cache = forward(p, X, Y, mask)
        if not np.isfinite(loss):
            raise Stopped(f"the loss became {loss} at step {i + 1}: training diverged; nothing was saved", 1)
        g = backward(p, cache, X, Y, mask)
        norm = np.sqrt(sum((v * v).sum() for v in g.values()))
        if norm > max_norm:
            g = {k: v * (max_norm / norm) for k, v in g.items()}
        lr = recurrent.learning_rate_at(i, learning_rate, args.steps, decay_at, max_steps)
        for k in p:
            p[k] -= lr * g[k]
        lossi.append(loss)
        if i % log_every == 0:
            print(f"{i:7d}/{args.steps:7d}: {loss:.4f}", flush=True)
    seconds = time.perf_counter() - t0
    # the model first, before anything that could fail: a finished one at --checkpoint, an unfinished one beside an
    # earlier model (never over it), none at all before its first step
    saved = bool(lossi) and keep.save(dict(p, itos=np.array(itos)), len(lossi) == args.steps)  # a full disk: one line
    losses = {name: recurrent.split_loss(p, words, stoi, forward) for name, words in
              (("train", train), ("val", val), ("test", test))}
    rnn_val = None if args.data else rnn_val_loss(os.path.join(out, "rnn_bptt.json"))  # run_all runs it first
    print(f"\ntrained {len(lossi)} steps in {seconds:.0f} s")
    for name, value in losses.items():
        print(f"{name:5s} loss {value:.4f} nats per character" + (
            f"   (the lecture's MLP: {lecture.REFERENCE['val']}" + (f", rnn_bptt.py's RNN: {rnn_val:.4f})" if rnn_val
                                                                     else ")") if name == "val" and not args.data
                                                                         else ""))
    names = recurrent.sample(p, itos, 20, np.random.default_rng(args.seed), step=step)
    print("samples: " + ", ".join(names))

    # the gradient through time, at init: the forget gates' product
    curves = through_time(100, args.seed)
    print("\nthe gradient of the last step's loss at init, 100 steps back (relative to the last step):")
    for label, c in flat(curves).items():
        print(f"  {label:58s}: {c[-1]:.1e}")

    # the long-lag recall task
    print(f"\nrecall the first of lag + 2 symbols ({symbols} to choose from, chance {1 / symbols:.3f}), "
          f"hidden {recall_hidden}, Adam, at most {args.recall_steps} steps; accuracy"
          + (f" as the mean (lowest-highest) of {len(seeds)} seeds, steps and seconds the mean" if len(seeds) > 1
             else "")
          + ":")
    models = {"rnn": "vanilla RNN", "lstm": "LSTM, forget bias 1",
              "open": f"LSTM, forget bias {open_bias:g} (gate open)"}
    recall = {m: {} for m in models}
    print(f"  {'model':32s}" + "".join(f" | lag {lag:3d}          " for lag in lags))
    for m, label in models.items():
        row = f"  {label:32s}"
        for lag in lags:
            if keep.stopping:  # interrupted: the runs done so far are kept
                break
            runs = [train_recall(m, lag, args.recall_steps, s) for s in seeds]
            acc = [r["accuracy"] for r in runs]
            recall[m][lag] = dict(accuracy=float(np.mean(acc)), low=min(acc), high=max(acc), seeds=seeds,
                                  steps=int(np.mean([r["steps"] for r in runs])),
                                  seconds=float(np.mean([r["seconds"] for r in runs])))
            r = recall[m][lag]
            spread = f" ({r['low']:.2f}-{r['high']:.2f})" if len(seeds) > 1 else ""
            row += f" | {r['accuracy']:.3f}{spread} {r['steps']:4d} st {r['seconds']:3.0f} s"
        print(row, flush=True)

    # plots
    plot_through_time(curves, out)

    plot_recall(recall, models, lags, len(seeds), out)

    fig, ax = plt.subplots(figsize=(8, 4))
    x, groups = binned(lossi, max(args.steps // 100, 1))
    ax.plot(x, groups.mean(1), label=f"LSTM, minibatch loss: val {losses['val']:.3f}")
    if rnn_val:
        ax.axhline(rnn_val, color="tab:red", ls=":", lw=1, label=f"rnn_bptt.py's RNN, val {rnn_val:.3f}")
    if not args.data:
        ax.axhline(lecture.REFERENCE["val"], color="k", ls="--", lw=1,
                   label=f"the lecture's MLP, val {lecture.REFERENCE['val']}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title("an LSTM on names.txt, trained with backpropagation through time by hand")
    ax.legend()
    save(fig, out, "lstm_bptt_loss")

    write_json(os.path.join(out, "lstm_bptt.json"), dict(finished=not keep.stopping, check_ok=bool(ok),
                                                         planted_caught=len(caught),
                                                         steps=len(lossi), seconds=seconds, rnn_val=rnn_val,
                   **{f"{k}_loss": v for k, v in losses.items()}, samples=names,
                   through_time={k: float(c[-1]) for k, c in flat(curves).items()},
                   recall={m: {str(lag): r for lag, r in rs.items()} for m, rs in recall.items()}))
    print(f"plots: {out}/lstm_bptt_through_time.png, {out}/lstm_bptt_recall.png, {out}/lstm_bptt_loss.png")
    if keep.stopping:
        return keep.closing(f"after {len(lossi)} of {args.steps} names steps and {sum(map(len, recall.values()))} "
                            f"recall points", f"{keep.kept()}, {out}/lstm_bptt.json and the plots so far")
    return 0 if ok and caught and saved else 1


if __name__ == "__main__":
    sys.exit(run(main))
