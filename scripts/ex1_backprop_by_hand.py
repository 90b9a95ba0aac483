"""Exercise 1: backpropagate through every small step of the forward pass, by hand.

One minibatch of the lecture's MLP (embedding, linear, batchnorm, tanh, linear,
cross-entropy) in float64. The forward pass is broken into the lecture's 20 named
steps; the backward pass computes d<name> for each of them in exact reverse order.
Every gradient is then checked against central differences, like the lecture's
cmp() against PyTorch, but with no autograd anywhere: the 2010 way.

    python scripts/ex1_backprop_by_hand.py                     # the lecture's shapes
    python scripts/ex1_backprop_by_hand.py --batch-size 2      # other shapes
    python scripts/ex1_backprop_by_hand.py --dump ex1.npz      # every tensor, for other tools

Expect: 4137 parameters, loss at init about 3.3 (-ln(1/27) = 3.2958), and all 26
rows of the table OK with relative error below 1e-7. The exit code is 1 if any fails.
"""
import json
import os
import sys
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib.cli import Parser, UsageError, positive, run, writable_dir  # noqa: E402
from lib.data import load_splits  # noqa: E402
from lib.gradcheck import check_steps, report, run_steps  # noqa: E402
from lib.model import PARAM_NAMES, count_params, init_params  # noqa: E402

# hyperparameters (the lecture's exercise 1)
n_embd = 10       # dimensionality of the character embedding vectors
n_hidden = 64     # neurons in the hidden layer of the MLP
block_size = 3    # context length: how many characters predict the next one
batch_size = 32   # examples in the minibatch
seed = 42         # one seed for the init and the minibatch
eps = 1e-5        # added to the batch variance

# The forward pass, one small named step per row: (name, how it is computed from the
# values before it). v holds the parameters, the batch (Xb, Yb) and every earlier step.
# The gradient checker re-runs the rows after any one of them. Shapes: n batch size,
# T block_size, E n_embd, H n_hidden, V vocabulary size.
FORWARD = [
    ("emb",            lambda v: v.C[v.Xb]),                                  # (n, T, E)
    ("embcat",         lambda v: v.emb.reshape(len(v.emb), -1)),              # (n, T*E)
    # linear layer 1
    ("hprebn",         lambda v: v.embcat @ v.W1 + v.b1),                     # (n, H)
    # batchnorm layer
    ("bnmeani",        lambda v: v.hprebn.sum(0, keepdims=True) / len(v.hprebn)),          # (1, H)
    ("bndiff",         lambda v: v.hprebn - v.bnmeani),                       # (n, H)
    ("bndiff2",        lambda v: v.bndiff ** 2),                              # (n, H)
    ("bnvar",          lambda v: v.bndiff2.sum(0, keepdims=True) / (len(v.bndiff2) - 1)),  # (1, H) Bessel: n-1
    ("bnvar_inv",      lambda v: (v.bnvar + eps) ** -0.5),                    # (1, H)
    ("bnraw",          lambda v: v.bndiff * v.bnvar_inv),                     # (n, H)
    ("hpreact",        lambda v: v.bngain * v.bnraw + v.bnbias),              # (n, H)
    # non-linearity
    ("h",              lambda v: np.tanh(v.hpreact)),                         # (n, H)
    # linear layer 2
    ("logits",         lambda v: v.h @ v.W2 + v.b2),                          # (n, V)
    # cross-entropy loss, the long way round
    ("logit_maxes",    lambda v: v.logits.max(1, keepdims=True)),             # (n, 1) for numerical stability
    ("norm_logits",    lambda v: v.logits - v.logit_maxes),                   # (n, V)
    ("counts",         lambda v: np.exp(v.norm_logits)),                      # (n, V)
    ("counts_sum",     lambda v: v.counts.sum(1, keepdims=True)),             # (n, 1)
    ("counts_sum_inv", lambda v: v.counts_sum ** -1),                         # (n, 1)
    ("probs",          lambda v: v.counts * v.counts_sum_inv),                # (n, V)
    ("logprobs",       lambda v: np.log(v.probs)),                            # (n, V)
    ("loss",           lambda v: -v.logprobs[np.arange(len(v.Yb)), v.Yb].mean()),  # scalar
]


def backward_cross_entropy(v):
    """loss -> logits, step by step. A sum in the forward pass is a broadcast in the backward
    pass and vice versa; '+=' marks the second branch of a tensor used twice."""
    n, V = v.logits.shape
    dlogprobs = np.zeros_like(v.logprobs)
    dlogprobs[np.arange(n), v.Yb] = -1.0 / n                  # only the targets' log-probs enter the mean
    dprobs = (1.0 / v.probs) * dlogprobs                      # d log(x) = 1/x
    dcounts_sum_inv = (v.counts * dprobs).sum(1, keepdims=True)  # counts_sum_inv was broadcast over V
    dcounts = v.counts_sum_inv * dprobs                       # counts, branch 1: probs = counts * counts_sum_inv
    dcounts_sum = -v.counts_sum ** -2 * dcounts_sum_inv       # d x^-1 = -x^-2
    dcounts += np.ones_like(v.counts) * dcounts_sum           # counts, branch 2: counts_sum = counts.sum(1)
    dnorm_logits = v.counts * dcounts                         # d exp(x) = exp(x)
    dlogits = dnorm_logits.copy()                             # logits, branch 1: norm_logits = logits - maxes
    dlogit_maxes = -dnorm_logits.sum(1, keepdims=True)        # logit_maxes was broadcast over V
    dlogits += np.eye(V)[v.logits.argmax(1)] * dlogit_maxes   # logits, branch 2: max routes to the argmax
    return dict(dlogprobs=dlogprobs, dprobs=dprobs, dcounts_sum_inv=dcounts_sum_inv, dcounts_sum=dcounts_sum,
                dcounts=dcounts, dnorm_logits=dnorm_logits, dlogit_maxes=dlogit_maxes, dlogits=dlogits)


def backward_batchnorm(v, dhpreact):
    """hpreact -> hprebn, step by step, given the gradient dhpreact arriving from above."""
    n = len(v.hprebn)
    dbngain = (v.bnraw * dhpreact).sum(0, keepdims=True)      # bngain was broadcast over the batch
    dbnraw = v.bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdims=True)
    dbndiff = v.bnvar_inv * dbnraw                            # bndiff, branch 1: bnraw = bndiff * bnvar_inv
    dbnvar_inv = (v.bndiff * dbnraw).sum(0, keepdims=True)
    dbnvar = -0.5 * (v.bnvar + eps) ** -1.5 * dbnvar_inv
    dbndiff2 = np.ones_like(v.bndiff2) / (n - 1) * dbnvar     # Bessel's n-1 comes back here
    dbndiff += 2 * v.bndiff * dbndiff2                        # bndiff, branch 2: bndiff2 = bndiff ** 2
    dhprebn = dbndiff.copy()                                  # hprebn, branch 1: bndiff = hprebn - bnmeani
    dbnmeani = -dbndiff.sum(0, keepdims=True)
    dhprebn += np.ones_like(v.hprebn) / n * dbnmeani          # hprebn, branch 2: bnmeani = hprebn.mean(0)
    return dict(dbngain=dbngain, dbnbias=dbnbias, dbnraw=dbnraw, dbnvar_inv=dbnvar_inv, dbnvar=dbnvar,
                dbndiff2=dbndiff2, dbndiff=dbndiff, dbnmeani=dbnmeani, dhprebn=dhprebn)


def backward(v):
    """Every gradient by hand, in exact reverse order of FORWARD; returns {'d' + name: gradient}."""
    g = backward_cross_entropy(v)                             # loss ... logits
    # linear layer 2
    g["dh"] = g["dlogits"] @ v.W2.T
    g["dW2"] = v.h.T @ g["dlogits"]
    g["db2"] = g["dlogits"].sum(0)                            # b2 was broadcast over the batch
    # tanh
    g["dhpreact"] = (1.0 - v.h ** 2) * g["dh"]                # d tanh(x) = 1 - tanh(x)^2
    g.update(backward_batchnorm(v, g["dhpreact"]))            # hpreact ... hprebn
    # linear layer 1
    g["dembcat"] = g["dhprebn"] @ v.W1.T
    g["dW1"] = v.embcat.T @ g["dhprebn"]
    g["db1"] = g["dhprebn"].sum(0)
    # embedding
    g["demb"] = g["dembcat"].reshape(v.emb.shape)
    dC = np.zeros_like(v.C)
    for k in range(v.Xb.shape[0]):                            # the lecture's loop: every use of a row
        for j in range(v.Xb.shape[1]):                        # of C adds its gradient to that row
            dC[v.Xb[k, j]] += g["demb"][k, j]
    g["dC"] = dC
    return g


def setup(batch_size, n_embd, n_hidden, block_size, seed, data=None):
    """The exercise's batch: parameters (float64) and one training minibatch, both from seed."""
    if batch_size < 2:
        raise UsageError(f"--batch-size must be >= 2 (Bessel's correction divides by n-1), got {batch_size}")
    itos, stoi, ((Xtr, Ytr), _, _) = load_splits(block_size, data)
    rng = np.random.default_rng(seed)
    params = init_params(len(itos), n_embd, n_hidden, block_size, rng, np.float64)
    ix = rng.integers(0, len(Xtr), batch_size)
    return itos, params, Xtr[ix], Ytr[ix]  # Xb (n, T), Yb (n,)


def exercise_parser(description, dump_help):
    """The options exercises 2 and 3 share: the batch of exercise 1, where to write, what to dump."""
    parser = Parser(description=description)
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"minibatch size, >= 2 (lecture: {batch_size})")
    parser.add_argument("--seed", type=int, default=seed, help=f"seed of the init and the batch (default {seed})")
    parser.add_argument("--out", default="plots", help="folder for the plots (default plots/)")
    parser.add_argument("--dump", metavar="PATH.npz", help=dump_help)
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    return parser


def chunked_batch(args):
    """Exercise 1's batch for exercises 2 and 3, run through FORWARD: (itos, v)."""
    itos, params, Xb, Yb = setup(args.batch_size, n_embd, n_hidden, block_size, args.seed, args.data)
    return itos, run_steps(FORWARD, SimpleNamespace(Xb=Xb, Yb=Yb, **params))


def main(argv=None):
    parser = Parser(description="Exercise 1: the hand backward through every intermediate, checked numerically.")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"minibatch size, >= 2 (lecture: {batch_size})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden, help=f"hidden neurons (lecture: {n_hidden})")
    parser.add_argument("--n-embd", type=positive(int), default=n_embd, help=f"embedding size (lecture: {n_embd})")
    parser.add_argument("--block-size", type=int, default=block_size, help=f"context length (lecture: {block_size})")
    parser.add_argument("--seed", type=int, default=seed, help=f"seed of the init and the batch (default {seed})")
    parser.add_argument("--dump", metavar="PATH.npz", help="write parameters, batch, intermediates and gradients")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    parser.add_argument("--out", default="plots", help="folder for ex1.json, the key figures (default plots/)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)

    # data, init and one minibatch
    itos, params, Xb, Yb = setup(args.batch_size, args.n_embd, args.n_hidden, args.block_size, args.seed, args.data)
    vocab_size = len(itos)
    print(f"parameters: {count_params(params)}"
          + ("   (lecture: 4137)" if (args.n_embd, args.n_hidden, args.block_size, vocab_size) == (10, 64, 3, 27) else ""))

    # forward
    v = run_steps(FORWARD, SimpleNamespace(Xb=Xb, Yb=Yb, **params))
    print(f"loss at init: {v.loss:.4f}   (-ln(1/{vocab_size}) = {-np.log(1 / vocab_size):.4f}: a uniform guess)")

    # backward
    grads = backward(v)

    # the embedding backward two ways: the lecture's loop above, and a vectorised scatter-add
    dC_scatter = np.zeros_like(params["C"])
    np.add.at(dC_scatter, Xb.ravel(), grads["demb"].reshape(-1, args.n_embd))
    print(f"dC by the loop vs by np.add.at: max diff {np.abs(grads['dC'] - dC_scatter).max():.1e}")

    # gradient check: every intermediate, then every parameter, against central differences
    print()
    rows = check_steps(FORWARD, v, grads, PARAM_NAMES)
    ok = report(rows, "exercise 1")
    ok = ok and np.allclose(grads["dC"], dC_scatter, rtol=1e-12, atol=1e-15)
    print(f"\nmax |dlogit_maxes| = {np.abs(grads['dlogit_maxes']).max():.1e}: about zero, as the lecture says."
          "\nSubtracting the row max changes no probability and so not the loss; it is there only"
          "\nto keep exp() from overflowing, and what is left is floating-point round-off."
          f"\nmax |db1| = {np.abs(grads['db1']).max():.1e}: zero too. Batchnorm subtracts the batch mean, so a"
          "\nbias added just before it cancels out: the lecture keeps b1 only to check its gradient.")

    with open(os.path.join(out, "ex1.json"), "w") as f:
        json.dump(dict(parameters=count_params(params), loss_at_init=float(v.loss), rows=len(rows),
                       max_rel_error=max(r["rel"] for r in rows if not r["note"]),
                       dlogit_maxes=float(np.abs(grads["dlogit_maxes"]).max()), ok=bool(ok)), f, indent=1)
    if args.dump:
        tensors = dict(params, Xb=Xb, Yb=Yb, **{name: getattr(v, name) for name, _ in FORWARD})
        tensors.update(grads)
        np.savez(args.dump, **{k: np.asarray(t) for k, t in tensors.items()})
        print(f"wrote {len(tensors)} tensors to {args.dump}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(main))
