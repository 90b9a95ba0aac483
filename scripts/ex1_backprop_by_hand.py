"""Exercise 1: backpropagate through every small step of the forward pass, by hand.

One minibatch of the lecture's MLP (embedding, linear, batchnorm, tanh, linear,
cross-entropy) in float64. The lecture's two cells live in lib/lecture.py, written as it
writes them: forward() is the forward pass in 20 plain named statements, and backward()
computes d<name> for each of them in exact reverse order, one block of local variables.
They are there because the practice files and the grader (scripts/practice.py) show and
use the very same lines. This script runs them and checks every gradient against central
differences, like the lecture's cmp() against PyTorch, but with no autograd anywhere.

Read this script beside the exercise itself, in lib/lecture.py:
    lib/lecture.py lines 39-68     forward(): the forward cell, 20 named steps with their shapes
    lib/lecture.py lines 71-116    backward(): the answer, one d<name> per step in reverse, layer by
                                   layer (cross-entropy, linear 2, tanh, batchnorm, linear 1, embedding)

    python scripts/ex1_backprop_by_hand.py                     # the lecture's shapes
    python scripts/ex1_backprop_by_hand.py --batch-size 2      # other shapes
    python scripts/ex1_backprop_by_hand.py --dump ex1.npz      # every tensor, for other tools
    python scripts/practice.py new ex1                         # do it yourself first

Expect: the lecture's parameter count, loss at init about 3.3 (-ln(1/27) = 3.2958), and all 26
rows of the table OK with relative error below 1e-7. The exit code is 1 if any fails.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.cli import Parser, npz_file, positive, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS
from lib.gradcheck import check_forward, report
from lib.graph import draw
from lib.lecture import PARAMS, REFERENCE, STEPS, backward, forward
from lib.model import count_params, exercise_batch
from lib.plotting import save

# hyperparameters (the lecture's exercise 1)
n_embd = 10       # dimensionality of the character embedding vectors
n_hidden = 64     # neurons in the hidden layer of the MLP
block_size = 3    # context length: how many characters predict the next one
batch_size = 32   # examples in the minibatch
seed = 42         # one seed for the init and the minibatch


def main(argv=None):
    parser = Parser(description="Exercise 1: the hand backward through every intermediate, checked numerically.")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"minibatch size, >= 2 (lecture: {batch_size})")
    parser.add_argument("--n-hidden", type=positive(int), default=n_hidden,
                        help=f"hidden neurons (lecture: {n_hidden})")
    parser.add_argument("--n-embd", type=positive(int), default=n_embd, help=f"embedding size (lecture: {n_embd})")
    parser.add_argument("--block-size", type=int, default=block_size, help=f"context length (lecture: {block_size})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed of the init and the batch (default {seed})")
    parser.add_argument("--dump", metavar="PATH.npz", help="write parameters, batch, intermediates and gradients")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for ex1.json, the key figures (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    if args.dump:
        args.dump = npz_file(args.dump, "--dump")

    # data, init and one minibatch
    itos, params, Xb, Yb = exercise_batch(args.batch_size, args.n_embd, args.n_hidden, args.block_size, args.seed,
                                          args.data)
    vocab_size = len(itos)
    print(f"parameters: {count_params(params)}"
          + (f"   (lecture: {REFERENCE['parameters_ex1']})" if (args.n_embd, args.n_hidden, args.block_size,
                                                                vocab_size) == (10, 64, 3, 27) else ""))

    # forward: the lecture's 20 steps (lib/lecture.py)
    values = forward(**params, Xb=Xb, Yb=Yb)
    uniform = -np.log(1 / vocab_size)
    print(f"loss at init: {values['loss']:.4f}   (-ln(1/{vocab_size}) = {uniform:.4f}: a uniform guess)")

    # backward: d<name> for every step, in reverse (lib/lecture.py)
    grads = backward(**values)

    # the embedding backward two ways: the lecture's loop in backward(), and a vectorised scatter-add
    dC_scatter = np.zeros_like(params["C"])
    np.add.at(dC_scatter, Xb.ravel(), grads["demb"].reshape(-1, args.n_embd))
    print(f"dC by the loop vs by np.add.at: max diff {np.abs(grads['dC'] - dC_scatter).max():.1e}")

    # gradient check: every intermediate, then every parameter, against central differences
    print()
    rows = check_forward(forward, values, grads, STEPS, PARAMS)
    ok = report(rows, "exercise 1")
    ok = ok and np.allclose(grads["dC"], dC_scatter, rtol=1e-12, atol=1e-15)
    print(f"\nmax |dlogit_maxes| = {np.abs(grads['dlogit_maxes']).max():.1e}: about zero, as the lecture says."
          "\nSubtracting the row max changes no probability and so not the loss; it is there only"
          "\nto keep exp() from overflowing, and what is left is floating-point round-off."
          f"\nmax |db1| = {np.abs(grads['db1']).max():.1e}: zero too. Batchnorm subtracts the batch mean, so a"
          "\nbias added just before it cancels out: the lecture keeps b1 only to check its gradient.")

    # plots: the graph of the forward with every gradient on it (the tour the lecture calls exercise 1)
    print(f"plot: {save(draw(grads), out, 'ex1_graph')}")
    write_json(os.path.join(out, "ex1.json"), dict(parameters=count_params(params), loss_at_init=float(values["loss"]),
                                                   rows=len(rows), max_rel_error=max(r["rel"] for r in rows
                                                                                     if not r["zero"]),
                                                   dlogit_maxes=float(np.abs(grads["dlogit_maxes"]).max()),
                                                   ok=bool(ok)))
    if args.dump:
        tensors = {k: np.asarray(t) for k, t in {**values, **grads}.items() if k != "n"}
        np.savez(args.dump, **tensors)
        print(f"wrote {len(tensors)} tensors to {args.dump}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(main))
