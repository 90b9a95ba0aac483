"""Exercise 4: train the MLP with our own backward pass, no autograd anywhere.

The lecture's training run: 200000 steps of minibatch SGD (batch 32, lr 0.1, then 0.01
from step 100000) on names.txt, with the fused cross-entropy and batchnorm backward of
exercises 2 and 3 and the rest of the backward written out below. Then batchnorm is
calibrated on the whole training set, the losses are printed next to the lecture's,
and 20 names are sampled.

    python scripts/train.py                          # the lecture's run (about 30 s here)
    python scripts/train.py --steps 20000            # a shorter one
    python scripts/train.py --resume                 # continue from --checkpoint
    python scripts/train.py --data my_words.txt      # any UTF-8 word list

Expect: train loss about 2.07 and val loss about 2.11 (lecture: 2.0705 / 2.1099).
Outputs: <out>/train.json, <out>/train_*.png and the checkpoint (default data/model.npz).
Ctrl-C saves the checkpoint and the plots so far; --resume goes on bit-identically.
"""
import functools
import json
import os
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib import checkpoint  # noqa: E402
from lib.cli import Parser, UsageError, positive, run, writable_dir  # noqa: E402
from lib.data import ROOT, load_splits  # noqa: E402
from lib.gradcheck import check, numerical_gradient, report  # noqa: E402
from lib.layers import batchnorm_backward, batchnorm_forward, cross_entropy_backward, cross_entropy_forward  # noqa: E402
from lib.model import PARAM_NAMES, calibrate_batchnorm, count_params, init_params, sample_names, split_loss  # noqa: E402
from lib.plotting import plt, save  # noqa: E402

# hyperparameters (the lecture's exercise 4)
n_embd = 10             # dimensionality of the character embedding vectors
n_hidden = 200          # neurons in the hidden layer of the MLP
block_size = 3          # context length: how many characters predict the next one
batch_size = 32         # examples per step
max_steps = 200000      # optimisation steps
lr = 0.1                # learning rate ...
decay_at = 100000       # ... divided by 10 from this step on
seed = 42               # seed of the init and of every minibatch
dtype = "float32"       # the lecture's precision
log_every = 10000       # one progress line every this many steps
ratio_every = 100       # record the update:data ratios every this many steps
save_every = 50000      # write the checkpoint every this many steps (the last good one survives a blow-up)
block = 1000            # minibatch indices are drawn this many steps at a time
LECTURE = dict(train_loss=2.0705, val_loss=2.1099)  # the lecture's exercise 4 result


def batches(Xtr, Ytr, start, batch_size, seed):
    """Minibatches from step `start` on. Block b of steps draws its indices from its own
    generator, seeded (seed, b): a resumed run gets exactly the batches it would have had."""
    for b in range(start // block, sys.maxsize):
        ix = np.random.default_rng([seed, b]).integers(0, len(Xtr), (block, batch_size))  # (block, n)
        Xblock, Yblock = Xtr[ix], Ytr[ix]                                                 # (block, n, T), (block, n)
        for i in range(max(start - b * block, 0), block):
            yield b * block + i, Xblock[i], Yblock[i]


def forward(p, Xb, Yb):
    """The forward pass of one minibatch: the loss and what the backward needs."""
    n = len(Xb)
    embcat = p["C"][Xb].reshape(n, -1)                                     # (n, T*E)
    hprebn = embcat @ p["W1"] + p["b1"]                                    # (n, H)
    hpreact, bn_cache = batchnorm_forward(hprebn, p["bngain"], p["bnbias"])  # (n, H)
    h = np.tanh(hpreact)                                                   # (n, H)
    logits = h @ p["W2"] + p["b2"]                                         # (n, V)
    loss, probs = cross_entropy_forward(logits, Yb)                        # scalar, (n, V)
    return loss, (Xb, embcat, bn_cache, h, probs)


def backward(p, cache, Yb, g, dlogits=None):
    """The hand backward, in reverse order; writes every parameter's gradient into g[name].
    dlogits: the gradient arriving at the logits, when the loss is not the plain cross-entropy."""
    Xb, embcat, bn_cache, h, probs = cache
    n, T = Xb.shape
    if dlogits is None:
        dlogits = cross_entropy_backward(probs, Yb)                       # (n, V) exercise 2
    np.matmul(h.T, dlogits, out=g["W2"])                                   # (H, V)
    np.sum(dlogits, 0, out=g["b2"])                                        # (V,) b2 was broadcast over the batch
    dh = dlogits @ p["W2"].T                                               # (n, H)
    dhpreact = dh * (1.0 - h * h)                                          # (n, H) d tanh = 1 - tanh^2
    dhprebn, g["bngain"][:], g["bnbias"][:] = batchnorm_backward(dhpreact, bn_cache)  # exercise 3
    np.matmul(embcat.T, dhprebn, out=g["W1"])                              # (T*E, H)
    np.sum(dhprebn, 0, out=g["b1"])                                        # (H,)
    demb = (dhprebn @ p["W1"].T).reshape(n * T, -1)                        # (n*T, E)
    # embedding: each use of a row of C adds its gradient to that row. np.add.at does it one
    # index at a time; as a matmul, row i of onehot(Xb).T sums every use of character i at once.
    onehot = identity(len(g["C"]), g["C"].dtype)[Xb.ravel()]               # (n*T, V)
    np.matmul(onehot.T, demb, out=g["C"])                                  # (V, E)


@functools.lru_cache(maxsize=None)
def identity(size, dtype):
    """np.eye, made once per size and dtype: its rows are the one-hot vectors."""
    return np.eye(size, dtype=dtype)


def gradient_check(p, Xb, Yb, title):
    """The 2010 habit: every parameter's hand gradient against central differences, in float64."""
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    loss, cache = forward(p64, Xb, Yb)
    g = {k: np.zeros_like(v) for k, v in p64.items()}
    backward(p64, cache, Yb, g)
    rows = []
    for name in PARAM_NAMES:
        def f(x, name=name):
            return forward({**p64, name: x}, Xb, Yb)[0]
        numeric, noise = numerical_gradient(f, p64[name].copy(), with_noise=True)
        rows.append(check("d" + name, g[name], numeric, noise))
    return report(rows, title)


def flat_params(params, dtype):
    """Parameters and gradients as views into two flat buffers: the update is then one operation."""
    size = sum(v.size for v in params.values())
    theta, grad = np.zeros(size, dtype), np.zeros(size, dtype)
    p, g, at = {}, {}, 0
    for k, v in params.items():
        p[k] = theta[at:at + v.size].reshape(v.shape)
        g[k] = grad[at:at + v.size].reshape(v.shape)
        p[k][...] = v
        at += v.size
    return theta, grad, p, g


def main(argv=None):
    parser = Parser(description="Exercise 4: train the MLP with the hand backward (no autograd).")
    parser.add_argument("--steps", type=positive(int), default=max_steps, help=f"optimisation steps (lecture: {max_steps})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"examples per step, >= 2 (lecture: {batch_size})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden, help=f"hidden neurons (lecture: {n_hidden})")
    parser.add_argument("--n-embd", type=positive(int), default=n_embd, help=f"embedding size (lecture: {n_embd})")
    parser.add_argument("--block-size", type=positive(int), default=block_size, help=f"context length (lecture: {block_size})")
    parser.add_argument("--lr", type=positive(float), default=lr, help=f"learning rate (lecture: {lr})")
    parser.add_argument("--decay-at", type=int, default=decay_at, help=f"step from which lr is divided by 10 (lecture: {decay_at})")
    parser.add_argument("--seed", type=int, default=seed, help=f"seed of the init and the minibatches (default {seed})")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype, help=f"precision of training (lecture: {dtype})")
    parser.add_argument("--check-every", type=int, default=0, metavar="K",
                        help="also check the gradients numerically every K steps (always: at the start and the end)")
    parser.add_argument("--log-every", type=positive(int), default=log_every, help=f"steps per progress line (default {log_every})")
    parser.add_argument("--out", default="plots", help="folder for train.json and the plots (default plots/)")
    parser.add_argument("--checkpoint", default=os.path.join(ROOT, "data", "model.npz"), help="checkpoint path (default data/model.npz)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint up to --steps (its hyperparameters apply)")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    writable_dir(os.path.dirname(os.path.abspath(args.checkpoint)))
    config = dict(n_embd=args.n_embd, n_hidden=args.n_hidden, block_size=args.block_size, batch_size=args.batch_size,
                  lr=args.lr, decay_at=args.decay_at, seed=args.seed, dtype=args.dtype)
    state = None
    if args.resume:
        state = checkpoint.load(args.checkpoint, checkpoint.MODEL_KEYS + ("config", "step", "lossi", "ratios"))
        config = json.loads(str(state["config"]))
        if int(state["step"]) >= args.steps:
            raise UsageError(f"{args.checkpoint} is already at step {int(state['step'])}; pass --steps larger than that")
    if config["batch_size"] < 2:
        raise UsageError(f"--batch-size must be >= 2 (Bessel's correction divides by n-1), got {config['batch_size']}")
    dt = np.dtype(config["dtype"])

    # data
    itos, stoi, ((Xtr, Ytr), (Xva, Yva), (Xte, Yte)) = load_splits(config["block_size"], args.data)
    vocab_size = len(itos)
    if state is not None and list(state["itos"]) != itos:
        raise UsageError(f"{args.checkpoint} was trained on another vocabulary; pass the same --data or start afresh")
    print(f"data: {len(Xtr)} training examples, vocabulary of {vocab_size}")

    # init
    params = init_params(vocab_size, config["n_embd"], config["n_hidden"], config["block_size"],
                         np.random.default_rng(config["seed"]), dt)
    start, lossi, ratios = 0, np.zeros(args.steps, np.float32), {k: [] for k in ("C", "W1", "W2")}
    if state is not None:
        params = {k: state[k] for k in PARAM_NAMES}
        start = int(state["step"])
        lossi[:start] = state["lossi"][:start]
        ratios = {k: list(state["ratios"][i]) for i, k in enumerate(("C", "W1", "W2"))}
        print(f"resuming from step {start} of {args.checkpoint} with {config}")
    theta, grad, p, g = flat_params(params, dt)
    print(f"parameters: {count_params(p)}"
          + ("   (lecture: 12297)" if (config["n_embd"], config["n_hidden"], vocab_size) == (10, 200, 27) else ""))

    def save_checkpoint(step):
        bnmean, bnvar = calibrate_batchnorm(p, Xtr)
        ratio_arr = np.array([ratios[k] for k in ("C", "W1", "W2")], np.float32).reshape(3, -1)
        checkpoint.save(args.checkpoint, dict(p, bnmean=bnmean, bnvar=bnvar, itos=np.array(itos), step=step,
                                              lossi=lossi[:step], ratios=ratio_arr, config=json.dumps(config)))
        return bnmean, bnvar

    # gradient check at the start, on the first batch
    _, Xb, Yb = next(batches(Xtr, Ytr, start, config["batch_size"], config["seed"]))
    print()
    checks_ok = gradient_check(p, Xb, Yb, f"gradient check at step {start}")
    loss, cache = forward(p, Xb, Yb)
    h_first = cache[3].copy()
    print(f"\nloss at step {start}: {loss:.4f}" + (f"   (-ln(1/{vocab_size}) = {-np.log(1 / vocab_size):.4f})" if start == 0 else ""))

    # training loop
    seconds, status, done = 0.0, "done", start
    interrupted = []  # Ctrl-C only raises this flag: the step under way finishes, so a resume is exact
    previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    print(f"{'step':>15}: {'loss':>7} | {'steps/s':>7} | {'left':>6}")
    t0 = time.perf_counter()
    numpy_errors = np.seterr(over="ignore", invalid="ignore")  # a blow-up is reported once, by the loss check
    for i, Xb, Yb in batches(Xtr, Ytr, start, config["batch_size"], config["seed"]):
        if i == args.steps or interrupted:
            break
        # forward
        loss, cache = forward(p, Xb, Yb)
        if not np.isfinite(loss):
            status = "diverged"
            break
        # backward
        backward(p, cache, Yb, g)
        # update
        step_lr = config["lr"] if i < config["decay_at"] else config["lr"] / 10
        if i % ratio_every == 0:  # update:data ratio: log10 of std(lr * grad) / std(param)
            for k in ratios:
                ratios[k].append(float(np.log10(step_lr * g[k].std() / p[k].std())))
        theta -= step_lr * grad
        lossi[i] = loss
        done = i + 1
        # progress
        if done % args.log_every == 0 or done == args.steps:
            seconds += time.perf_counter() - t0
            rate = (done - start) / seconds
            print(f"{done:7d}/{args.steps:7d}: {loss:7.4f} | {rate:7.0f} | {(args.steps - done) / rate:5.0f}s", flush=True)
            if done % save_every == 0 and done < args.steps:
                save_checkpoint(done)
            if args.check_every and done % args.check_every == 0 and done < args.steps:
                checks_ok &= gradient_check(p, Xb, Yb, f"gradient check at step {done}")
            t0 = time.perf_counter()
    signal.signal(signal.SIGINT, previous_handler)
    np.seterr(**numpy_errors)
    if interrupted:
        status = "interrupted"

    if status == "diverged":
        print(f"error: the loss became {loss} at step {i} (learning rate {config['lr']} too large?); "
              f"kept the last good checkpoint ({args.checkpoint}, if one was saved) and the plots so far; "
              f"lower --lr", file=sys.stderr)
        plots(out, lossi[:done], ratios, h_first, h_first, None, None, itos)
        return 1

    # gradient check at the end, checkpoint
    if status == "done":
        print()
        checks_ok &= gradient_check(p, Xb, Yb, f"gradient check at step {done}")
    bnmean, bnvar = save_checkpoint(done)
    h_last = forward(p, Xb, Yb)[1][3]
    if status == "interrupted":
        plots(out, lossi[:done], ratios, h_first, h_last, g, p, itos)
        print(f"\ninterrupted at step {done}: saved {args.checkpoint} and the plots so far; "
              f"continue with --resume --steps {args.steps}", file=sys.stderr)
        return 130

    # evaluation with the calibrated batchnorm
    losses = {name: split_loss(p, X, Y, bnmean, bnvar) for name, X, Y in
              (("train", Xtr, Ytr), ("val", Xva, Yva), ("test", Xte, Yte))}
    print(f"\nbatchnorm calibrated on all {len(Xtr)} training examples")
    for name, value in losses.items():
        ref = LECTURE.get(f"{name}_loss")
        print(f"{name:5s} loss {value:.4f}" + (f"   (lecture: {ref:.4f})" if ref and args.data is None else ""))

    # samples
    names = sample_names(p, bnmean, bnvar, itos, 20, np.random.default_rng(2147483647 + 10))
    print("\nsamples: " + ", ".join(names))

    # outputs
    us_per_step = seconds / max(done - start, 1) * 1e6
    results = dict(train_loss=losses["train"], val_loss=losses["val"], test_loss=losses["test"], steps=done,
                   seconds=seconds, us_per_step=us_per_step, samples=names, gradient_checks_ok=bool(checks_ok),
                   config=config, lecture=LECTURE)
    with open(os.path.join(out, "train.json"), "w") as f:
        json.dump(results, f, indent=1)
    plots(out, lossi[:done], ratios, h_first, h_last, g, p, itos)
    print(f"\ntraining loop: {seconds:.1f} s, {us_per_step:.0f} us/step; wrote {out}/train.json, "
          f"{out}/train_*.png and {args.checkpoint}")
    return 0 if checks_ok else 1


def plots(out, lossi, ratios, h_first, h_last, g, p, itos):
    """What a reader of the lecture wants to see after training."""
    # loss curve: log10 of the loss, averaged over 1000 steps as in the lecture; the band holds
    # the middle 80% of the minibatch losses (200000 raw points would cost 150 MB to draw)
    fig, ax = plt.subplots(figsize=(8, 4))
    k = 1000 if len(lossi) >= 2000 else max(len(lossi) // 20, 1)
    m = len(lossi) // k * k
    if m:
        chunks = np.log10(np.maximum(lossi[:m], 1e-12)).reshape(-1, k)
        x = np.arange(0, m, k) + k / 2
        ax.fill_between(x, np.percentile(chunks, 10, axis=1), np.percentile(chunks, 90, axis=1),
                        color="tab:blue", alpha=0.2, lw=0, label="10th to 90th percentile of the minibatches")
        ax.plot(x, chunks.mean(1), color="tab:blue", lw=2, label=f"mean of {k} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(loss)")
    ax.set_title("training loss (minibatch, batchnorm in training mode)")
    ax.legend()
    save(fig, out, "train_loss")

    # tanh activations: histogram at the first and the last step
    fig, ax = plt.subplots(figsize=(8, 4))
    for h, label, color in ((h_first, "first step", "tab:gray"), (h_last, "last step", "tab:blue")):
        sat = (np.abs(h) > 0.97).mean() * 100
        ax.hist(h.ravel(), bins=50, range=(-1, 1), histtype="step", lw=2, color=color,
                label=f"{label}: mean {h.mean():+.2f}, std {h.std():.2f}, saturated {sat:.1f}%")
    ax.set_xlabel("tanh output h")
    ax.set_ylabel("count")
    ax.set_title("hidden activations on one batch (saturated: |h| > 0.97, where the gradient 1 - h^2 < 0.06)")
    ax.legend(fontsize=8, loc="upper center")
    save(fig, out, "train_tanh_hist")

    # saturation map: a white column would be a dead neuron, saturated for every example
    fig, ax = plt.subplots(figsize=(10, 3))
    sat = np.abs(h_last) > 0.99
    dead = int(sat.all(0).sum())
    ax.imshow(sat, cmap="gray", interpolation="nearest", aspect="auto")
    ax.set_xlabel("hidden neuron")
    ax.set_ylabel("example")
    ax.set_title(f"|h| > 0.99 (white) on the last batch: {sat.mean() * 100:.1f}% saturated, {dead} dead neurons "
                 f"(white columns)")
    save(fig, out, "train_saturation")

    if g is not None:
        # weight gradients with the grad:data ratio
        fig, ax = plt.subplots(figsize=(8, 4))
        print(f"\n{'weight':6s} | {'shape':9s} | {'grad mean':>10s} | {'grad std':>9s} | grad:data")
        for k in ("C", "W1", "W2"):
            ratio = g[k].std() / p[k].std()
            shape = "x".join(map(str, p[k].shape))
            print(f"{k:6s} | {shape:9s} | {g[k].mean():+10.2e} | {g[k].std():9.2e} | {ratio:.2e}")
            ax.hist(g[k].ravel(), bins=60, histtype="step", lw=2, density=True,
                    label=f"{k} {shape}: std {g[k].std():.1e}, grad:data {ratio:.1e}")
        ax.set_yscale("log")
        ax.set_xlabel("gradient")
        ax.set_ylabel("density")
        ax.set_title("weight gradients on the last batch")
        ax.legend(fontsize=8)
        save(fig, out, "train_grad_hist")

    # update:data ratio over training
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, r in ratios.items():
        ax.plot(np.arange(len(r)) * ratio_every, r, lw=1, label=k)
    ax.axhline(-3, color="k", ls="--", lw=1, label="1e-3: the lecture's rule of thumb")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(std(lr * grad) / std(param))")
    ax.set_title("update:data ratio of each weight over training")
    ax.legend(fontsize=8)
    save(fig, out, "train_update_ratio")


if __name__ == "__main__":
    sys.exit(run(main))
