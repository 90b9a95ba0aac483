"""The 2010 workflow: check every parameter gradient by central differences before training.

First on a tiny debug network (5 characters, 4 hidden units, a batch of 5: every number
readable, the check instant), then on the real one (the lecture's exercise 4 network on a
real minibatch), both through lib/model.py's mlp_forward / mlp_backward, the step that
scripts/train.py writes out in its loop (a test pins the two together), in float64.

    python scripts/gradcheck.py              # expect: both tables all OK, exit code 0
    python scripts/gradcheck.py --bug        # plant a classic mistake: the table shows where, exit 1
    python scripts/gradcheck.py --bug mean   # another one

The planted bugs (handed to mlp_backward as an argument, the rest of the backward untouched):
    bessel  batchnorm backward with the biased variance's 1/n where the forward uses 1/(n-1)
    mean    cross-entropy backward that forgets the 1/n of the batch mean
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.cli import Parser, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS, load_splits
from lib.layers import cross_entropy_backward
from lib.model import gradient_check, init_params, mlp_backward

# hyperparameters
debug = dict(vocab_size=5, n_embd=3, n_hidden=4, block_size=2, batch_size=5)   # the tiny debug network
real = dict(n_embd=10, n_hidden=200, block_size=3, batch_size=32)               # the lecture's exercise 4
seed = 42


def batchnorm_backward_biased(dhpreact, cache):
    """BUG: the textbook formula for the biased variance (1/n), under a forward that uses n-1."""
    bnraw, bnvar_inv, bngain = cache["bnraw"], cache["bnvar_inv"], cache["bngain"]
    n = len(dhpreact)
    dbngain = (bnraw * dhpreact).sum(0, keepdims=True)
    dbnbias = dhpreact.sum(0, keepdims=True)
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - bnraw * dbngain)  # missing n/(n-1)
    return dhprebn, dbngain, dbnbias


def backward_bessel(params, cache, Yb):
    return mlp_backward(params, cache, Yb, batchnorm_backward=batchnorm_backward_biased)


def backward_mean(params, cache, Yb):
    """BUG: the gradient of the summed loss, while the forward takes the mean."""
    return mlp_backward(params, cache, Yb, dlogits=cross_entropy_backward(cache["probs"], Yb) * len(Yb))


BUGS = {  # each a whole backward: lib/model.py's, with one mistake handed in as an argument
    "bessel": ("batchnorm backward with the biased variance's 1/n where the forward uses 1/(n-1)", backward_bessel),
    "mean": ("cross-entropy backward that forgets the 1/n of the batch mean", backward_mean),
}


def main(argv=None):
    parser = Parser(description="Check every parameter gradient by central differences: tiny net, then the real one.")
    parser.add_argument("--bug", nargs="?", const="bessel", choices=sorted(BUGS),
                        help="plant a classic mistake in the backward (default: bessel)")
    parser.add_argument("--seed", type=seed_arg, default=seed,
                        help=f"seed of the init and the batches (default {seed})")
    parser.add_argument("--out", default=PLOTS, help="folder for gradcheck.json (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    if args.bug:
        print(f"planted bug: {args.bug} ({BUGS[args.bug][0]})\n")
    rng = np.random.default_rng(args.seed)
    backward = BUGS[args.bug][1] if args.bug else mlp_backward

    # 1. the tiny debug network, on random data
    d = debug
    params = init_params(d["vocab_size"], d["n_embd"], d["n_hidden"], d["block_size"], rng, np.float64)
    Xb = rng.integers(0, d["vocab_size"], (d["batch_size"], d["block_size"]))
    Yb = rng.integers(0, d["vocab_size"], d["batch_size"])
    print(f"1. tiny debug network: vocabulary {d['vocab_size']}, n_embd {d['n_embd']}, n_hidden {d['n_hidden']}, "
          f"block_size {d['block_size']}, batch {d['batch_size']}")
    ok_debug = gradient_check(params, Xb, Yb, "debug network", backward)

    # 2. the real network, on a real minibatch
    r = real
    itos, _, ((Xtr, Ytr), _, _) = load_splits(r["block_size"])
    params = init_params(len(itos), r["n_embd"], r["n_hidden"], r["block_size"], rng, np.float64)
    ix = rng.integers(0, len(Xtr), r["batch_size"])
    print(f"\n2. the lecture's network: n_embd {r['n_embd']}, n_hidden {r['n_hidden']}, batch {r['batch_size']} of "
          "names.txt")
    ok_real = gradient_check(params, Xtr[ix], Ytr[ix], "lecture network", backward)

    ok = ok_debug and ok_real
    print(f"\nverdict: {'the hand backward is right' if ok else 'the hand backward is WRONG'}"
          + (f" (planted bug: {args.bug})" if args.bug else ""))
    write_json(os.path.join(out, f"gradcheck{'_bug_' + args.bug if args.bug else ''}.json"), dict(ok=bool(ok),
                                                                                                  bug=args.bug))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(main))
