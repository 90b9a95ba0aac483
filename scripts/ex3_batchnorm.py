"""Exercise 3: the batchnorm backward in one analytic step.

The forward pass, for one hidden unit (every column of the batch is independent), with
x_1 .. x_n its inputs over the batch:

    mu     = 1/n     sum_i x_i
    var    = 1/(n-1) sum_i (x_i - mu)^2          Bessel's correction, as in the lecture
    xhat_i = (x_i - mu) / sqrt(var + eps)        eps = 1e-5
    y_i    = gain * xhat_i + bias

Given dy_i = dloss/dy_i, the parameters are easy: dbias = sum_i dy_i, dgain = sum_i xhat_i dy_i,
and dxhat_i = gain * dy_i. The input is the beast: x_j reaches the loss by three paths.

 1. directly, through its own xhat_j (mu and var held fixed):
        dxhat_j/dx_j = 1/sqrt(var + eps)
        contributes   gain / sqrt(var + eps) * dy_j
 2. through the mean, which moves every xhat_i: dmu/dx_j = 1/n, dxhat_i/dmu = -1/sqrt(var + eps)
        contributes   -gain / sqrt(var + eps) * 1/n * sum_i dy_i
 3. through the variance, which rescales every xhat_i:
        dvar/dx_j = 2 (x_j - mu) / (n-1)   (mu's own move drops out: sum_i (x_i - mu) = 0)
        dxhat_i/dvar = -(x_i - mu) / 2 * (var + eps)^(-3/2)
        contributes   -gain / sqrt(var + eps) * xhat_j / (n-1) * sum_i xhat_i dy_i

Summing the three and taking 1/n out front:

    dx_j = gain / (n sqrt(var + eps)) * ( n dy_j - sum_i dy_i - n/(n-1) xhat_j sum_i xhat_i dy_i )

The n/(n-1): the mean divides by n but the variance by n-1, so once 1/n is taken out the
variance path keeps a factor n/(n-1). With the biased variance (1/n) that factor would be 1:
the textbook formula, and a classic bug when the forward uses n-1 (scripts/gradcheck.py --bug).
Note that sum_i dy_i is dbias and sum_i xhat_i dy_i is dgain: the line reuses them. In numpy,
in main() below (xhat is bnraw, 1/sqrt(var + eps) is bnvar_inv):

    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)

The fused forward and backward are in lib/layers.py too, where scripts/train.py uses them.

    python scripts/ex3_batchnorm.py [--batch-size 32] [--seed 42] [--out plots/] [--dump ex3.npz]
    python scripts/practice.py new ex3        # do it yourself first

Expect: dhprebn approx True with a max diff near 1e-17 (the lecture's torch float32: ~9e-10),
relative error against central differences below 1e-7, and the fused backward faster.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.bench import print_timings, time_us
from lib.cli import Parser, npz_file, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS
from lib.gradcheck import check, cmp, precise_gradient, report, statements
from lib.layers import batchnorm_backward, batchnorm_forward
from lib.lecture import backward, forward
from lib.model import exercise_batch
from lib.plotting import plt, save

# hyperparameters: exercise 1's batch
batch_size = 32   # examples in the minibatch
seed = 42         # one seed for the init and the minibatch


def check_batchnorm(x, gain, bias, dout):
    """Rows for dx, dgain, dbias of the fused batchnorm against central differences of
    sum(batchnorm(x) * dout), whose gradient is exactly what the backward computes."""
    _, cache = batchnorm_forward(x, gain, bias)
    grads = dict(zip(("dhprebn", "dbngain", "dbnbias"), batchnorm_backward(dout, cache)))
    inputs = dict(dhprebn=x, dbngain=gain, dbnbias=bias)
    rows = []
    for name, value in inputs.items():
        def f(t, name=name):
            args = {k: (t if k == name else a) for k, a in inputs.items()}
            return float((batchnorm_forward(args["dhprebn"], args["dbngain"], args["dbnbias"])[0] * dout).sum())
        numeric, noise = precise_gradient(f, value.astype(np.float64, copy=True))
        rows.append(check(name, grads[name], numeric, noise))
    return rows


def main(argv=None):
    parser = Parser(description="Exercise 3: batchnorm backward in one step, checked and timed.")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"minibatch size, >= 2 (lecture: {batch_size})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed of the init and the batch (default {seed})")
    parser.add_argument("--out", default=PLOTS, help="folder for the plots (default plots/ in the repository)")
    parser.add_argument("--dump", metavar="PATH.npz",
                        help="write hprebn, bngain, bnbias, dhpreact, dhprebn, dbngain, dbnbias")
    parser.add_argument("--data", help="a word list to use instead of names.txt")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    if args.dump:
        args.dump = npz_file(args.dump, "--dump")

    # exercise 1's batch, through the lecture's chunked forward and backward (lib/lecture.py)
    itos, params, Xb, Yb = exercise_batch(args.batch_size, seed=args.seed, data=args.data)
    values = forward(**params, Xb=Xb, Yb=Yb)
    grads = backward(**values)
    dhpreact = grads["dhpreact"]                # (n, H) the gradient arriving at the batchnorm output
    n = len(Xb)

    # forward: fused vs chunked. Before, from hprebn to hpreact in seven steps:
    #   bnmeani = 1 / n * hprebn.sum(0, keepdims=True)
    #   bndiff = hprebn - bnmeani
    #   bndiff2 = bndiff ** 2
    #   bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdims=True)
    #   bnvar_inv = (bnvar + EPS) ** -0.5
    #   bnraw = bndiff * bnvar_inv
    #   hpreact = bngain * bnraw + bnbias
    # now: one call (lib/layers.py)
    hpreact, cache = batchnorm_forward(values["hprebn"], values["bngain"], values["bnbias"])
    print(f"hpreact fused vs chunked: max diff {np.abs(hpreact - values['hpreact']).max():.1e}")

    # backward: exercise 3's answer. The three paths of the docstring, summed in one line; its two
    # sums are the parameters' gradients (lib/layers.batchnorm_backward is these lines and train.py's
    # loop writes them out: a test keeps the three the same)
    bnraw, bnvar_inv, bngain = cache["bnraw"], cache["bnvar_inv"], cache["bngain"]
    dbngain = (bnraw * dhpreact).sum(0, keepdims=True)      # (1, H)
    dbnbias = dhpreact.sum(0, keepdims=True)                # (1, H)
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)  # (n, H)

    # checked: against the chunked backward (the lecture's cmp) and against central differences
    res = {name: cmp(name, mine, grads[name])
           for name, mine in (("dhprebn", dhprebn), ("dbngain", dbngain), ("dbnbias", dbnbias))}
    print()
    rows = check_batchnorm(values["hprebn"], values["bngain"], values["bnbias"], dhpreact)
    ok = report(rows, "exercise 3 vs central differences")

    # speed: why we fuse. The chunked lines are lib/lecture.py's own, run as they stand.
    chunked_forward = statements(forward, after="hprebn", until="hpreact")
    chunked_backward = statements(backward, after="dhpreact", until="dhprebn")
    timings = {
        "backward": (time_us(lambda: batchnorm_backward(dhpreact, cache)),
                     time_us(lambda: chunked_backward({**values, "dhpreact": dhpreact}))),
        "forward + backward": (time_us(lambda: batchnorm_backward(dhpreact, batchnorm_forward(
                                   values["hprebn"], values["bngain"], values["bnbias"])[1])),
                               time_us(lambda: chunked_backward({**chunked_forward(values), "dhpreact": dhpreact}))),
    }
    print()
    print_timings(timings)

    # plot: the three paths of one hidden unit's inputs
    j = int(np.argmax(np.abs(dhprebn).sum(0)))    # the unit with the most gradient flowing through
    g = (bngain * bnvar_inv)[0, j]
    direct = g * dhpreact[:, j]
    via_mean = np.full(n, -g * dhpreact[:, j].mean())
    via_var = -g * bnraw[:, j] * (bnraw[:, j] * dhpreact[:, j]).sum() / (n - 1)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    w = 0.27
    idx = np.arange(n)
    ax.bar(idx - w, direct, w, label="1. directly, through its own xhat")
    ax.bar(idx, via_mean, w, label="2. through the batch mean")
    ax.bar(idx + w, via_var, w, label="3. through the batch variance")
    ax.plot(idx, dhprebn[:, j], "k_", ms=14, mew=2, label="their sum = dhprebn (fused backward)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("example in the batch")
    ax.set_ylabel(f"dloss / dhprebn[:, {j}]")
    ax.set_title(f"batchnorm backward, hidden unit {j}: every input reaches the loss by three paths\n"
                 f"(sum of the paths vs fused: max diff "
                 f"{np.abs(direct + via_mean + via_var - dhprebn[:, j]).max():.0e})")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    save(fig, out, "ex3_three_paths")

    results = dict(dhprebn_maxdiff=res["dhprebn"]["maxdiff"], dhprebn_approx=res["dhprebn"]["approx"],
                   rel_error_numeric=max(r["rel"] for r in rows), us_fused=timings["backward"][0],
                   us_chunked=timings["backward"][1], ok=bool(ok and all(r["approx"] for r in res.values())))
    write_json(os.path.join(out, "ex3.json"), results)
    if args.dump:
        np.savez(args.dump, hprebn=values["hprebn"], bngain=values["bngain"], bnbias=values["bnbias"],
                 dhpreact=dhpreact, dhprebn=dhprebn, dbngain=dbngain, dbnbias=dbnbias)
        print(f"wrote hprebn, bngain, bnbias, dhpreact, dhprebn, dbngain, dbnbias to {args.dump}")
    print(f"plot: {out}/ex3_three_paths.png")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(run(main))
