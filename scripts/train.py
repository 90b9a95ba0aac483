"""Exercise 4: train the MLP with our own backward pass, no autograd anywhere.

The lecture's training run: 200000 steps of minibatch SGD (batch 32, lr 0.1, then 0.01 from
step 100000) on names.txt. The loop below is the lecture's exercise 4 cell: the forward pass,
the backward pass by hand (exercise 2's cross-entropy and exercise 3's batchnorm in one step
each), the update. Then batchnorm is calibrated on the whole training set, the losses are
printed next to the lecture's, and 20 names are sampled.

    python scripts/train.py                          # the lecture's run (about 30 s here)
    python scripts/train.py --steps 20000            # a shorter one
    python scripts/train.py --resume                 # continue from --checkpoint
    python scripts/train.py --data my_words.txt      # any UTF-8 word list

Expect: train loss about 2.07 and val loss about 2.11 (the lecture's figures are printed beside ours).
Outputs: <out>/train.json, <out>/train_*.png and the checkpoint (default data/model.npz).
Ctrl-C (or SIGTERM) finishes the step under way, saves the checkpoint and the plots so far;
--resume goes on bit-identically.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.cli import (Parser, UsageError, apart, fits, number, positive, run, seed_arg, writable_dir, writable_file,
                     write_json)
from lib.data import PLOTS, ROOT, ensure_names, load_splits, minibatches, sha256
from lib.layers import cross_entropy_forward, embedding_backward
from lib.lecture import EPS, PARAMS, REFERENCE
from lib.model import (calibrate_batchnorm, count_params, gradient_check, init_params, mlp_forward, sample_names,
                       split_loss)
from lib.plotting import binned, plt, save
from lib.training import Run, announce, clear_outputs

# hyperparameters (the lecture's exercise 4)
n_embd = 10             # dimensionality of the character embedding vectors
n_hidden = 200          # neurons in the hidden layer of the MLP
block_size = 3          # context length: how many characters predict the next one
batch_size = 32         # examples per step
max_steps = 200000      # optimisation steps
learning_rate = 0.1     # the step size ...
decay_at = 100000       # ... and a tenth of it from this step on
seed = 42               # seed of the init and of every minibatch
dtype = "float32"       # the lecture's precision
log_every = 10000       # one progress line every this many steps
ud_every = 100          # record the update:data ratios every this many steps
save_every = 50000      # write the checkpoint every this many steps (the last good one survives a blow-up)
REFERENCE_BATCH = batch_size  # the lecture's, for the note on a batch as large as the training set
CONFIG = ("n_embd", "n_hidden", "block_size", "batch_size", "learning_rate", "decay_at", "seed", "dtype")


def main(argv=None):
    args = parse_args(argv)
    out = writable_dir(args.out)
    apart(args.checkpoint, "--checkpoint", out, "train")
    data_id = sha256(args.data or ensure_names()) if not args.data or os.path.isfile(args.data) else ""
    run = Run(args.checkpoint, {k: getattr(args, k) for k in CONFIG}, args.steps, args.resume, args.save_every,
              data_id, resume_hint=["python", os.path.relpath(os.path.abspath(__file__)), "--out", os.path.abspath(out)]
              + (["--data", os.path.abspath(args.data)] if args.data else []))  # pasted from this folder, it works
    announce(run.plan())  # the first line: what happens to a model already at --checkpoint
    # the hyperparameters above, as given on the command line; on --resume, the checkpoint's (a run
    # goes on with the sizes, learning rate and seed it started with, whatever the command line says)
    n_embd, n_hidden, block_size, batch_size, learning_rate, decay_at, seed, dtype = (run.config[k] for k in CONFIG)
    max_steps, log_every = args.steps, args.log_every

    # data
    itos, _, ((Xtr, Ytr), (Xva, Yva), (Xte, Yte)) = load_splits(block_size, args.data)
    vocab_size = len(itos)
    run.check_vocabulary(itos)
    print(f"data: {len(Xtr)} training examples, vocabulary of {vocab_size}")
    if args.save_every < 1000 and args.save_every < max_steps:  # each save calibrates batchnorm on all of Xtr
        print(f"note: --save-every {args.save_every}: each save calibrates the batchnorm over all {len(Xtr)} training "
              f"examples and writes the model, so {max_steps // args.save_every} saves will take most of the run")
    if batch_size > len(Xtr):
        raise UsageError(f"--batch-size {batch_size} is larger than the {len(Xtr)} training examples; pass at most "
                         f"that")
    if batch_size == len(Xtr):  # drawn with replacement (the lecture's torch.randint): not the whole set, once each
        print(f"note: --batch-size {batch_size} is the whole training set's size, but a batch draws its examples at "
              f"random with replacement (about 63% of them distinct): each step costs a pass over the data and is "
              f"no full-batch gradient; the lecture's minibatch is {REFERENCE_BATCH}")
    n_params = vocab_size * n_embd + block_size * n_embd * n_hidden + 3 * n_hidden + n_hidden * vocab_size + vocab_size
    fits(8 * (4 * n_params                                                        # parameters, gradients, copies
              + 2 * batch_size * (block_size * n_embd + 8 * n_hidden + 4 * vocab_size)  # one step's tensors
              + 2 * 4096 * (block_size * n_embd + 2 * n_hidden + 2 * vocab_size)        # evaluation, chunk by chunk
              + 2 * 1000 * batch_size * (block_size + 1)),                               # a block of batches' indices
         "training with these sizes", "pass a smaller --n-embd, --n-hidden or --batch-size")
    finished = os.path.exists(os.path.join(out, "train.json"))  # a finished run's outputs: kept until this one is

    # init (or the checkpoint's parameters, when resuming)
    params = run.initial(init_params(vocab_size, n_embd, n_hidden, block_size, np.random.default_rng(seed), dtype))
    C, W1, b1, bngain, bnbias, W2, b2 = (params[k] for k in PARAMS)  # updated in place below
    lecture_count = REFERENCE["parameters_ex4"]  # the lecture's, for its sizes
    print(f"parameters: {count_params(params)}"
          + (f"   (lecture: {lecture_count})" if count_params(params) == lecture_count else ""))
    if run.start:
        print(f"resuming from step {run.start} of {args.checkpoint} with {run.config}")

    # gradient check at the start, on the first batch: lib/model.py's mlp_forward / mlp_backward,
    # the same lines as the loop below (tests/test_model.py pins the two together bit for bit),
    # along random directions: milliseconds (scripts/gradcheck.py checks every element)
    batches = minibatches(Xtr, Ytr, run.start, batch_size, seed)
    # a second generator peeks at the loop's first batch: the check sees exactly that batch, and
    # `batches` still starts with it
    Xb, Yb = next(minibatches(Xtr, Ytr, run.start, batch_size, seed))
    print()
    checks_ok = gradient_check(params, Xb, Yb, f"gradient check at step {run.start}", quick=True)
    loss, cache = mlp_forward(params, Xb, Yb)
    h_first = cache["h"]
    print(f"\nloss at step {run.start}: {loss:.4f}"
          + (f"   (-ln(1/{vocab_size}) = {-np.log(1 / vocab_size):.4f})" if run.start == 0 else ""))

    lossi, ud = run.lossi, run.ud  # on --resume, the checkpoint's curves go on
    blowup = 2 * np.log(vocab_size)  # twice a uniform guess's loss, ln V: a run that averages above it has diverged

    # what a checkpoint every save_every steps holds besides the parameters: the batchnorm
    # calibrated at that step, as at the end (below), so that any checkpoint can be sampled from
    def calibrated():
        return dict(zip(("bnmean", "bnvar"), calibrate_batchnorm(params, Xtr)), itos=np.array(itos))

    with run.loop(blowup, calibrated):
        for i in range(run.start, max_steps):
            if run.stopping:  # Ctrl-C or SIGTERM: the step under way has finished
                break
            # minibatch construct
            Xb, Yb = next(batches)                                  # (n, T), (n,)
            n = len(Xb)

            # forward pass
            emb = C[Xb]                                             # (n, T, E) embed the characters into vectors
            embcat = emb.reshape(n, -1)                             # (n, T*E) concatenate the vectors
            hprebn = embcat @ W1 + b1                               # (n, H) hidden layer pre-activation
            bnmeani = hprebn.sum(0, keepdims=True) / n              # (1, H) batchnorm layer
            bndiff = hprebn - bnmeani                               # (n, H)
            bnvar = (bndiff * bndiff).sum(0, keepdims=True) / (n - 1)  # (1, H) Bessel's correction
            bnvar_inv = (bnvar + EPS) ** -0.5                       # (1, H)
            bnraw = bndiff * bnvar_inv                              # (n, H)
            hpreact = bngain * bnraw + bnbias                       # (n, H)
            h = np.tanh(hpreact)                                    # (n, H) hidden layer
            logits = h @ W2 + b2                                    # (n, V) output layer
            loss, probs = cross_entropy_forward(logits, Yb)         # the lecture's F.cross_entropy
            if run.diverged(i, loss):
                break

            # backward pass, by hand
            dlogits = probs.copy()                                  # exercise 2: softmax - onehot, / n
            dlogits[np.arange(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T                                     # 2nd layer
            dW2 = h.T @ dlogits
            db2 = dlogits.sum(0)
            dhpreact = (1.0 - h ** 2) * dh                          # tanh
            dbngain = (bnraw * dhpreact).sum(0, keepdims=True)      # batchnorm, exercise 3
            dbnbias = dhpreact.sum(0, keepdims=True)
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)
            dembcat = dhprebn @ W1.T                                # 1st layer
            dW1 = embcat.T @ dhprebn
            db1 = dhprebn.sum(0)
            demb = dembcat.reshape(emb.shape)                       # embedding
            dC = embedding_backward(Xb, demb, vocab_size)           # the lecture's double loop, as one matmul
            grads = dict(C=dC, W1=dW1, b1=db1, bngain=dbngain, bnbias=dbnbias, W2=dW2, b2=db2)

            # update
            lr = learning_rate if i < decay_at else learning_rate / 10  # the lecture: 0.1 if i < 100000 else 0.01
            for k in params:
                params[k] -= lr * grads[k]

            # track stats
            if i % log_every == 0:
                print(f"{i:7d}/{max_steps:7d}: {loss:.4f}" + run.pace(i), flush=True)
            if i % ud_every == 0:  # update:data ratio, log10(std(lr * grad) / std(param))
                ud.append([np.log10(lr * grads[k].std() / params[k].std()) for k in ("C", "W1", "W2")])
            if args.check_every and (i + 1) % args.check_every == 0 and i + 1 < max_steps:
                checks_ok &= gradient_check(params, Xb, Yb, f"gradient check at step {i + 1}", quick=True)
            lossi.append(loss)
            run.step_done(i + 1)

    # calibrate the batchnorm at the end of training (the lecture's cell): the mean and variance of
    # hprebn over the whole training set replace the last batch's, for evaluation and sampling
    bnmean = bnvar = None
    if run.status != "diverged":
        bnmean, bnvar = calibrate_batchnorm(params, Xtr)                # (1, H), (1, H)

    # the checkpoint is saved with them (or, after a blow-up, the last good one kept) before anything else
    status = run.finish(dict(bnmean=bnmean, bnvar=bnvar, itos=np.array(itos)))
    h_last = mlp_forward(params, Xb, Yb)[1]["h"] if status != "diverged" else h_first
    if status != "done":  # the plots so far, beside a finished run's (never over them)
        plots(out, lossi, ud, h_first, h_last, None, None, "train_unfinished" if finished else "train")
        return run.exit_code
    # a model that could not be saved: its figures go beside a finished run's, which still describe the saved model
    prefix = "train_unfinished" if run.save_failed and finished else "train"
    if clear_outputs(out, prefix) and prefix == "train":
        print(f"(replaced the previous run's train.json and train_*.png in {out})")

    # gradient check at the end, evaluation with the calibrated batchnorm
    print(f"\n(checking the gradients numerically at step {run.done} ...)", flush=True)
    checks_ok &= gradient_check(params, Xb, Yb, f"gradient check at step {run.done}", quick=True)
    losses = {name: split_loss(params, X, Y, bnmean, bnvar) for name, X, Y in
              (("train", Xtr, Ytr), ("val", Xva, Yva), ("test", Xte, Yte))}
    print(f"\nbatchnorm calibrated on all {len(Xtr)} training examples")
    for name, value in losses.items():
        ref = REFERENCE.get(name)  # train and val: the lecture's evaluation cell (lib/lecture.py)
        print(f"{name:5s} loss {value:.4f}" + (f"   (lecture: {ref:.4f})" if ref and args.data is None else ""))

    # samples
    # the lecture's sampling seed, torch.Generator().manual_seed(2147483647 + 10); numpy's generator
    # draws other names from the same seed
    names = sample_names(params, bnmean, bnvar, itos, 20, np.random.default_rng(2147483647 + 10))
    print("\nsamples: " + ", ".join(names))

    # outputs
    us_per_step = run.seconds / max(run.done - run.start, 1) * 1e6
    results = dict(train_loss=losses["train"], val_loss=losses["val"], test_loss=losses["test"], steps=run.done,
                   seconds=run.seconds, us_per_step=us_per_step, samples=names, gradient_checks_ok=bool(checks_ok),
                   config=run.config, lecture=dict(train_loss=REFERENCE["train"], val_loss=REFERENCE["val"]))
    write_json(os.path.join(out, f"{prefix}.json"), dict(results, checkpoint_saved=not run.save_failed))
    run.written.append(f"{prefix}.json")
    plots(out, lossi, ud, h_first, h_last, grads, params, prefix)
    print(f"\ntraining loop: {run.seconds:.1f} s, {us_per_step:.0f} us/step; wrote {out}/{prefix}.json and "
          f"{out}/{prefix}_*.png" + (f"; the checkpoint could NOT be saved: {run.save_failed}" if run.save_failed else
                                     f" and {run.path}"))
    return run.exit_code if checks_ok else 1


def parse_args(argv):
    parser = Parser(description="Exercise 4: train the MLP with the hand backward (no autograd).")
    parser.add_argument("--steps", type=positive(int), default=max_steps,
                        help=f"optimisation steps (lecture: {max_steps})")
    parser.add_argument("--batch-size", type=number(int), default=batch_size,
                        help=f"examples per step, >= 2 (lecture: {batch_size})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden,
                        help=f"hidden neurons (lecture: {n_hidden})")
    parser.add_argument("--n-embd", type=positive(int), default=n_embd, help=f"embedding size (lecture: {n_embd})")
    parser.add_argument("--block-size", type=positive(int), default=block_size,
                        help=f"context length (lecture: {block_size})")
    parser.add_argument("--lr", dest="learning_rate", type=positive(float), default=learning_rate,
                        help=f"learning rate, a tenth of it from --decay-at on (lecture: {learning_rate})")
    parser.add_argument("--decay-at", type=number(int, 0), default=decay_at,
                        help=f"step from which lr is divided by 10 (lecture: {decay_at})")
    parser.add_argument("--seed", type=seed_arg, default=seed,
                        help=f"seed of the init and the minibatches (default {seed})")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype,
                        help=f"precision of training (lecture: {dtype})")
    parser.add_argument("--check-every", type=number(int, 0), default=0, metavar="K",
                        help="also check the gradients numerically every K steps, 0: never (always: at the start and "
                             "the end)")
    parser.add_argument("--log-every", type=positive(int), default=log_every,
                        help=f"steps per progress line (default {log_every})")
    parser.add_argument("--save-every", type=positive(int), default=save_every,
                        help=f"steps between checkpoint saves (default {save_every})")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for train.json and the plots (default plots/ in the repository)")
    parser.add_argument("--checkpoint", default=os.path.join(ROOT, "data", "model.npz"),
                        help="checkpoint path (default data/model.npz)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from --checkpoint up to --steps (its hyperparameters apply)")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    args = parser.parse_args(argv)
    if args.batch_size < 2:
        parser.error(f"--batch-size must be >= 2 (Bessel's correction divides by n-1), got {args.batch_size}")
    writable_file(args.checkpoint, "--checkpoint")
    return args


def plots(out, lossi, ud, h_first, h_last, grads, params, prefix="train"):
    """What a reader of the lecture wants to see after training."""
    # loss curve: log10 of the loss, averaged over 1000 steps as in the lecture; the band holds
    # the middle 80% of the minibatch losses (200000 raw points would cost 150 MB to draw)
    fig, ax = plt.subplots(figsize=(8, 4))
    k = 1000 if len(lossi) >= 2000 else max(len(lossi) // 20, 1)
    x, chunks = binned(np.log10(np.maximum(lossi, 1e-12)), k)
    if len(x):
        ax.fill_between(x, np.percentile(chunks, 10, axis=1), np.percentile(chunks, 90, axis=1),
                        color="tab:blue", alpha=0.2, lw=0, label="10th to 90th percentile of the minibatches")
        ax.plot(x, chunks.mean(1), color="tab:blue", lw=2, label=f"mean of {k} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(loss)")
    ax.set_title("training loss (minibatch, batchnorm in training mode)")
    ax.legend()
    save(fig, out, f"{prefix}_loss")

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
    save(fig, out, f"{prefix}_tanh_hist")

    # saturation map: a white column would be a dead neuron, saturated for every example
    fig, ax = plt.subplots(figsize=(10, 3))
    sat = np.abs(h_last) > 0.99
    dead = int(sat.all(0).sum())
    ax.imshow(sat, cmap="gray", interpolation="nearest", aspect="auto")
    ax.set_xlabel("hidden neuron")
    ax.set_ylabel("example")
    ax.set_title(f"|h| > 0.99 (white) on the last batch: {sat.mean() * 100:.1f}% saturated, {dead} dead neurons "
                 f"(white columns)")
    save(fig, out, f"{prefix}_saturation")

    if grads is not None:
        # weight gradients with the grad:data ratio
        fig, ax = plt.subplots(figsize=(8, 4))
        print(f"\n{'weight':6s} | {'shape':9s} | {'grad mean':>10s} | {'grad std':>9s} | grad:data")
        for k in ("C", "W1", "W2"):
            g, p = grads[k], params[k]
            ratio = g.std() / p.std()
            shape = "x".join(map(str, p.shape))
            print(f"{k:6s} | {shape:9s} | {g.mean():+10.2e} | {g.std():9.2e} | {ratio:.2e}")
            ax.hist(g.ravel(), bins=60, histtype="step", lw=2, density=True,
                    label=f"{k} {shape}: std {g.std():.1e}, grad:data {ratio:.1e}")
        ax.set_yscale("log")
        ax.set_xlabel("gradient")
        ax.set_ylabel("density")
        ax.set_title("weight gradients on the last batch")
        ax.legend(fontsize=8)
        save(fig, out, f"{prefix}_grad_hist")

    # update:data ratio over training
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, r in zip(("C", "W1", "W2"), np.array(ud).reshape(-1, 3).T):
        ax.plot(np.arange(len(r)) * ud_every, r, lw=1, label=k)
    ax.axhline(-3, color="k", ls="--", lw=1, label="1e-3: the lecture's rule of thumb")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(std(lr * grad) / std(param))")
    ax.set_title("update:data ratio of each weight over training")
    ax.legend(fontsize=8)
    save(fig, out, f"{prefix}_update_ratio")


if __name__ == "__main__":
    sys.exit(run(main))
