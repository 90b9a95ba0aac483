"""Gradients through time: a vanilla RNN over names.txt, backpropagation through time by hand.

The lecture ends by announcing RNNs, and names their great leak: gradients that "either grow
exponentially or shrink to nothing as they propagate through time". Here is the model, in the
shape of min-char-rnn.py, in this file: forward over time, backward through time in exact reverse,
gradient check, training loop. Then the leak, measured.

    x_t = C[ix_t]                                 (B, E)   the character at step t, embedded
    h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh + bh)    (B, H)   h_{-1} = 0
    logits_t = h_t @ Why + by                     (B, V)
    loss = mean over every predicted character (each name from '.' to its final '.') of -log p

Names in a minibatch are padded to the longest with a mask: padding adds nothing to the loss and
no gradient. The RNN sees the whole prefix of a name, not the MLP's 3 characters.

Why gradients vanish or explode: going back one step multiplies the gradient by the Jacobian
dh_t/dh_{t-1} = diag(1 - h_t^2) @ Whh.T. Over k steps that is a product of k such matrices: its
size goes as about rho^k, rho the spectral radius of Whh (times the tanh slopes, at most 1):
below 1 it shrinks to nothing, above 1 it grows until tanh saturates. Clipping the norm of the
whole gradient keeps the rare explosions from throwing training off.

    python scripts/rnn_bptt.py                   # gradient check, train, the leak (a minute or two)
    python scripts/rnn_bptt.py --steps 2000      # a shorter run
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib import checkpoint
from lib.cli import (Parser, Stopped, UsageError, apart, fits, positive, run, seed_arg, writable_dir, writable_file,
                     write_json)
from lib.data import PLOTS, ROOT, ensure_names, load_words, sha256
from lib.gradcheck import report
from lib.lecture import REFERENCE
from lib.plotting import binned, plt, save
from lib.recurrent import batch_of, gradient_check, learning_rate_at, n_embd, sample, split_loss
from lib.training import Keep, announce

# hyperparameters
n_hidden = 128        # H, the recurrent state (E, the character embedding, is lib/recurrent.py's n_embd, 16)
batch_size = 32       # names per step
max_steps = 20000     # optimisation steps
learning_rate = 0.5   # plain SGD ...
decay_at = 15000      # ... and a tenth of it from here on
max_norm = 5.0        # gradient-norm clipping
seed = 42
log_every = 2000
MLP_VAL = REFERENCE["val"]  # the lecture's MLP (3 characters of context), val loss per character (lib/lecture.py)


# the model, in the shape of min-char-rnn.py: forward over time, backward through time in exact reverse.
# lstm_bptt.py trains the same RNN as its baseline from lib/recurrent.py, whose copy a test keeps equal to this one.

def init(vocab_size, rng, n_embd=n_embd, n_hidden=n_hidden, radius=None):
    """Small random weights; Whh an orthogonal matrix times `radius` when given (every singular value = radius)."""
    p = {"C": rng.standard_normal((vocab_size, n_embd)),
         "Wxh": rng.standard_normal((n_embd, n_hidden)) / n_embd ** 0.5,
         "Whh": np.linalg.qr(rng.standard_normal((n_hidden, n_hidden)))[0] * (radius or 0.9),
         "bh": rng.standard_normal(n_hidden) * 0.01,
         "Why": rng.standard_normal((n_hidden, vocab_size)) * 0.01,
         "by": rng.standard_normal(vocab_size) * 0.01}
    return p

def forward(p, X, Y, mask):
    """The loss (mean over predicted characters) and what the backward needs."""
    B, T = X.shape
    hs = [np.zeros((B, p["Whh"].shape[0]))]                         # hs[t + 1] is h_t; hs[0] the start
    probs = []
    loss = 0.0
    for t in range(T):
        x = p["C"][X[:, t]]                                          # (B, E)
        hs.append(np.tanh(x @ p["Wxh"] + hs[-1] @ p["Whh"] + p["bh"]))  # (B, H)
        logits = hs[-1] @ p["Why"] + p["by"]                         # (B, V)
        logits = logits - logits.max(1, keepdims=True)
        e = np.exp(logits)
        probs.append(e / e.sum(1, keepdims=True))                    # (B, V)
        loss -= (np.log(probs[-1][np.arange(B), Y[:, t]]) * mask[:, t]).sum()
    return loss / mask.sum(), (hs, probs)

def backward(p, cache, X, Y, mask, keep=None):
    """Backpropagation through time, in exact reverse order; grads keyed like p.
    keep: also return dloss/dh_t for every t (the leak's measurement)."""
    hs, probs = cache
    B, T = X.shape
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dh_next = np.zeros_like(hs[0])                                   # (B, H) from step t + 1
    dhs = [None] * T
    for t in reversed(range(T)):
        dlogits = probs[t].copy()                                    # softmax - onehot, / (number predicted)
        dlogits[np.arange(B), Y[:, t]] -= 1
        dlogits *= (mask[:, t] / mask.sum())[:, None]                # padding sends nothing back
        g["Why"] += hs[t + 1].T @ dlogits                            # Why is used at every step: +=
        g["by"] += dlogits.sum(0)
        dh = dlogits @ p["Why"].T + dh_next                          # h_t feeds the logits and h_{t+1}
        dhs[t] = dh
        dpre = (1.0 - hs[t + 1] ** 2) * dh                           # tanh
        g["Wxh"] += p["C"][X[:, t]].T @ dpre
        g["Whh"] += hs[t].T @ dpre
        g["bh"] += dpre.sum(0)
        np.add.at(g["C"], X[:, t], dpre @ p["Wxh"].T)                # repeated characters add up
        dh_next = dpre @ p["Whh"].T                                  # back one step in time
    return (g, dhs) if keep else g

def rnn_step(p, state, ix):
    """One step of the RNN for sampling: (the new state, the logits of the next character)."""
    h = np.zeros(p["Whh"].shape[0]) if state is None else state
    h = np.tanh(p["C"][ix] @ p["Wxh"] + h @ p["Whh"] + p["bh"])
    return h, h @ p["Why"] + p["by"]

def leak(p, X, Y, mask):
    """||dloss_T / dh_t|| for the loss at the last step alone, by distance back in time."""
    one = np.zeros_like(mask)
    one[:, -1] = 1.0
    _, dhs = backward(p, forward(p, X, Y, one)[1], X, Y, one, keep=True)
    norms = np.array([np.linalg.norm(d) for d in dhs[::-1]])         # distance 0, 1, 2, ...
    return norms / norms[0]


def resumed(args, itos, data_id):
    """The run saved in --checkpoint: its parameters, history and hyperparameters (which win over
    the flags, as in train.py); a checkpoint of another model, vocabulary or word list is one line."""
    keys = ("C", "Wxh", "Whh", "bh", "Why", "by", "itos", "lossi", "norms", "clipped", "seconds", "config")
    z = checkpoint.load(args.checkpoint, keys, writer="scripts/rnn_bptt.py")
    if [str(c) for c in np.ravel(z["itos"])] != list(itos):
        raise UsageError(f"{args.checkpoint} was trained on another vocabulary; pass the same --data, or start afresh")
    try:  # a checkpoint edited by hand: its history and hyperparameters must still make a run
        config = json.loads(str(z["config"]))
        n_hidden, lr, seed = int(config["n_hidden"]), float(config["lr"]), int(config["seed"])
        p = {k: np.asarray(z[k], dtype=np.float64) for k in keys[:6]}
        lossi, norms = [float(x) for x in np.ravel(z["lossi"])], [float(x) for x in np.ravel(z["norms"])]
        clipped, seconds = int(z["clipped"]), float(z["seconds"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise UsageError(f"{args.checkpoint} is damaged (its history or hyperparameters do not read); start afresh "
                         f"without --resume, or pass another --checkpoint")
    if p["Whh"].shape != (n_hidden, n_hidden) or p["C"].shape[0] != len(itos) or len(norms) != len(lossi):
        raise UsageError(f"{args.checkpoint} is damaged (its shapes do not fit together); start afresh without "
                         f"--resume, or pass another --checkpoint")
    if config.get("data", data_id) != data_id:
        raise UsageError(f"{args.checkpoint} was trained on another word list (sha256 {config['data'][:12]}..., this "
                         f"one {data_id[:12]}...); pass the same --data, or start afresh")
    if len(lossi) >= args.steps:
        raise UsageError(f"{args.checkpoint} is already at step {len(lossi)}; pass --steps larger than that")
    args.n_hidden, args.lr, args.seed = n_hidden, lr, seed
    print(f"resuming from step {len(lossi)} of {args.checkpoint} (n_hidden {args.n_hidden}, lr {args.lr}, "
          f"seed {args.seed}: the saved run's)")
    return dict(p=p, lossi=lossi, norms=norms, clipped=clipped, seconds=seconds)


def main(argv=None):
    parser = Parser(description="A vanilla RNN with backpropagation through time by hand, and the leak through time.")
    parser.add_argument("--steps", type=positive(int), default=max_steps,
                        help=f"optimisation steps (default {max_steps})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden,
                        help=f"recurrent state size (default {n_hidden})")
    parser.add_argument("--lr", type=positive(float), default=learning_rate,
                        help=f"learning rate (default {learning_rate})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed (default {seed})")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for rnn_bptt.json and the plots (default plots/ in the repository)")
    parser.add_argument("--checkpoint", default=os.path.join(ROOT, "data", "rnn.npz"),
                        help="where to save (default data/rnn.npz)")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint (by Ctrl-C or "
                        "kill) up to --steps: the same batches, the same result as a run never stopped")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    writable_file(args.checkpoint, "--checkpoint")
    apart(args.checkpoint, "--checkpoint", out, "rnn_bptt")
    # where the model goes (an earlier one stays until this run has finished), a lock on it, the --resume line
    keep = Keep(args.checkpoint, args.resume, hint=["python", os.path.relpath(os.path.abspath(__file__)), "--out",
                                                    os.path.abspath(out)]
                + (["--data", os.path.abspath(args.data)] if args.data else []))  # pasted from this folder, it works
    announce(keep.plan())
    rng = np.random.default_rng(args.seed)

    # data: the lecture's split of the words, whole names as sequences
    itos, stoi, (train, val, test) = load_words(args.data)
    data_id = sha256(args.data or ensure_names())  # the word list, recorded with the model: --resume checks it
    V, H, T = len(itos), args.n_hidden, max(map(len, train + val + test)) + 1
    fits(8 * (4 * (V * n_embd + n_embd * H + H * H + H * V) + 1024 * T * (2 * H + 2 * V)), "an RNN of this size",
         "pass a smaller --n-hidden")
    print(f"{len(train)} training names, vocabulary of {len(itos)}; longest name "
          f"{max(map(len, train + val + test))} characters")

    keep.watch()  # Ctrl-C or kill: the step under way finishes, the model so far is saved, --resume continues it

    # gradient check first
    ok = report(gradient_check(init, forward, backward, rng), "BPTT vs central differences")
    print()

    # training, with clipping, then without it on the same batches (when clipping ever fired)
    state = resumed(args, itos, data_id) if args.resume else None
    runs = {}
    np.seterr(all="ignore")  # a blow-up is reported once, as a NaN loss, not as numpy's warnings along the way
    for clip in (True, False):
        if not clip and (runs[True]["clipped"] == 0 or keep.stopping):  # the same run (or none: interrupted)
            runs[False] = runs[True]
            break
        p = init(len(itos), np.random.default_rng(args.seed), n_hidden=args.n_hidden)
        batches = np.random.default_rng([args.seed, 1])
        lossi, norms, clipped, diverged, t0 = [], [], 0, None, time.perf_counter()
        start, before = 0, 0.0
        if clip and state:  # the saved run: its parameters, its history, its batches drawn again up to its step
            p, lossi, norms = state["p"], state["lossi"], state["norms"]
            clipped, before = state["clipped"], state["seconds"]
            start = len(lossi)
            for _ in range(start):
                batches.integers(0, len(train), batch_size)
        for i in range(start, args.steps):
            if keep.stopping:
                break
            chosen = [train[j] for j in batches.integers(0, len(train), batch_size)]
            X, Y, mask = batch_of(chosen, stoi)
            loss, cache = forward(p, X, Y, mask)
            if not np.isfinite(loss):
                if clip:
                    raise Stopped(f"the loss became {loss} at step {i + 1}: training diverged (is --lr {args.lr:g} "
                                  f"too large?); nothing was saved", 1)
                diverged = i + 1  # without clipping: a finding, said below
                break
            g = backward(p, cache, X, Y, mask)
            norm = np.sqrt(sum((v * v).sum() for v in g.values()))
            if clip and norm > max_norm:  # same direction, shorter step
                g = {k: v * (max_norm / norm) for k, v in g.items()}
                clipped += 1
            lr = learning_rate_at(i, args.lr, args.steps, decay_at, max_steps)
            for k in p:
                p[k] -= lr * g[k]
            lossi.append(loss)
            norms.append(norm)
            if clip and i % log_every == 0:
                print(f"{i:7d}/{args.steps:7d}: {loss:.4f}   |grad| {norm:6.2f}", flush=True)
        seconds = before + time.perf_counter() - t0
        runs[clip] = dict(p=p, lossi=lossi, norms=norms, clipped=clipped, seconds=seconds, diverged=diverged,
                          val=None if diverged else split_loss(p, val, stoi, forward))
    p = runs[True]["p"]
    done = len(runs[True]["lossi"])
    losses = {"train": split_loss(p, train, stoi, forward), "val": runs[True]["val"],
              "test": split_loss(p, test, stoi, forward)}
    print(f"\ntrained {done} steps in {runs[True]['seconds']:.0f} s, clipped {runs[True]['clipped']} of them at norm "
          f"{max_norm:g}")
    for name, value in losses.items():
        print(f"{name:5s} loss {value:.4f} nats per character" + (
            f"   (the lecture's MLP: {MLP_VAL})" if name == "val" and not args.data else ""))
    if keep.stopping:
        print("without clipping: not run (interrupted)")
    elif runs[False]["diverged"]:
        print(f"without clipping: the loss became NaN at step {runs[False]['diverged']} (largest gradient norm before "
              f"it {max(runs[False]['norms'] or [0]):.3g}): clipping is what kept this run")
    else:
        print(f"without clipping: val {runs[False]['val']:.4f}, largest gradient norm {max(runs[False]['norms']):.2f}"
              + ("   (clipping never fired: the same run)" if runs[True]["clipped"] == 0 else ""))
    names = sample(p, itos, 20, np.random.default_rng(args.seed), step=rnn_step)
    print("samples: " + ", ".join(names))
    config = dict(n_hidden=args.n_hidden, lr=args.lr, seed=args.seed, steps=args.steps, data=data_id)  # for --resume
    finished = done == args.steps  # finished, the model goes to --checkpoint (over an earlier one)
    saved = keep.save(dict(p, itos=np.array(itos), lossi=np.array(runs[True]["lossi"]),
                           norms=np.array(runs[True]["norms"]), clipped=runs[True]["clipped"],
                           seconds=runs[True]["seconds"], config=json.dumps(config)), finished)

    # the leak: one batch of the longest names, Whh at several spectral radii and trained
    longest = sorted(val, key=len)[-batch_size:]
    X, Y, mask = batch_of(longest, stoi)
    curves, labels = {}, {}  # by key ('radius 0.5', 'trained'): the leak, and its label in the print and plot
    for radius in (0.5, 1.0, 1.5):
        q = init(len(itos), np.random.default_rng(args.seed), n_hidden=args.n_hidden, radius=radius)
        q["C"] *= 0.1  # small inputs: the recurrence, not the input, decides the size of h
        curves[f"radius {radius}"] = leak(q, X, Y, mask)
        labels[f"radius {radius}"] = f"Whh at spectral radius {radius}"
    rho = float(np.abs(np.linalg.eigvals(p["Whh"])).max())
    curves["trained"], labels["trained"] = leak(p, X, Y, mask), f"trained Whh (spectral radius {rho:.2f})"
    print(f"\ngradient of the last step's loss, back through time (batch of the {len(longest)} longest val "
          f"name{'s' if len(longest) > 1 else ''}, {X.shape[1]} steps): per-step factor, geometric mean")
    factors = {}
    for key, c in curves.items():
        k = len(c) - 1
        factors[key] = float(c[-1] ** (1 / k))
        print(f"  {labels[key]:34s}: x{factors[key]:.3f} per step, {c[-1]:.1e} after {k} steps")

    # plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    for key, c in curves.items():
        ax1.semilogy(np.arange(len(c)), c, "o-", ms=3, label=f"{labels[key]}: x{factors[key]:.2f} per step")
    ax1.set_xlabel("distance back in time from the loss (steps)")
    ax1.set_ylabel("||dloss/dh_t|| / ||dloss/dh_T||")
    ax1.set_title("the leak through time: the product of diag(1 - h^2) Whh.T")
    ax1.legend(fontsize=8)
    fired = runs[True]["clipped"] > 0
    for clip, style in ((True, dict(color="tab:blue")), (False, dict(color="tab:red", alpha=0.6)))[:1 + fired]:
        x, groups = binned(runs[clip]["norms"], max(args.steps // 200, 1))
        clip_run = runs[clip]
        val_text = f"diverged at step {clip_run['diverged']}" if clip_run["diverged"] else f"val {clip_run['val']:.3f}"
        ax2.semilogy(x, groups.max(1), label=f"{'with' if clip else 'without'} clipping at {max_norm:g}: {val_text}"
                     + ("" if fired else " (it never fired: without it, the same run)"), **style)
    ax2.axhline(max_norm, color="k", ls="--", lw=1)
    ax2.set_xlabel("step")
    ax2.set_ylabel("gradient norm (largest in each bin)")
    ax2.set_title("the whole gradient's norm over training")
    ax2.legend(fontsize=8)
    save(fig, out, "rnn_bptt_leak")

    fig, ax = plt.subplots(figsize=(8, 4))
    x, groups = binned(runs[True]["lossi"], max(args.steps // 100, 1))
    ax.plot(x, groups.mean(1), label=f"RNN, minibatch loss: val {losses['val']:.3f}")
    if not args.data:
        ax.axhline(MLP_VAL, color="k", ls="--", lw=1, label=f"the lecture's MLP, val {MLP_VAL}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title("a vanilla RNN on names.txt, trained with backpropagation through time by hand")
    ax.legend()
    save(fig, out, "rnn_bptt_loss")

    write_json(os.path.join(out, "rnn_bptt.json"), dict(finished=not keep.stopping or finished, check_ok=bool(ok),
                                                        steps=done, interrupted=keep.stopping,
                                                        seconds=runs[True]["seconds"], **{f"{k}_loss": v for k,
                                                                                          v in losses.items()},
                   val_no_clip=runs[False]["val"], clipped=runs[True]["clipped"], factors=factors, samples=names))
    print(f"plots: {out}/rnn_bptt_leak.png, {out}/rnn_bptt_loss.png")
    if keep.stopping:
        return keep.closing("after the last step" if finished else f"at step {done} of {args.steps}",
                            f"{keep.kept()}, its JSON and plots", steps=args.steps)
    return 0 if ok and saved else 1


if __name__ == "__main__":
    sys.exit(run(main))
