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
Note that sum_i dy_i is dbias and sum_i xhat_i dy_i is dgain: the line reuses them.
The fused forward and backward live in lib/layers.py, where scripts/train.py uses them too.

    python scripts/ex3_batchnorm.py [--batch-size 32] [--seed 42] [--out plots/] [--dump ex3.npz]

Expect: dhprebn approx True with a max diff near 1e-17 (the lecture's torch float32: ~9e-10),
relative error against central differences below 1e-7, and the fused backward faster.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ex1_backprop_by_hand as ex1  # noqa: E402  (the chunked version we compare with)
from lib.bench import time_us  # noqa: E402
from lib.cli import run, writable_dir  # noqa: E402
from lib.gradcheck import check, cmp, numerical_gradient, report, run_steps  # noqa: E402
from lib.layers import batchnorm_backward, batchnorm_forward  # noqa: E402
from lib.plotting import plt, save  # noqa: E402


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
        numeric, noise = numerical_gradient(f, value.astype(np.float64, copy=True), with_noise=True)
        rows.append(check(name, grads[name], numeric, noise))
    return rows


def main(argv=None):
    parser = ex1.exercise_parser("Exercise 3: batchnorm backward in one step, checked and timed.",
                                 "write hprebn, bngain, bnbias, dhpreact, dhprebn, dbngain, dbnbias")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)

    # the batch of exercise 1, through its chunked forward and backward
    itos, v = ex1.chunked_batch(args)
    Xb = v.Xb
    dhpreact = ex1.backward(v)["dhpreact"]        # (n, H) the gradient arriving at the batchnorm output
    chunked = ex1.backward_batchnorm(v, dhpreact)
    n = len(Xb)

    # forward: fused vs chunked
    hpreact, cache = batchnorm_forward(v.hprebn, v.bngain, v.bnbias)
    print(f"hpreact fused vs chunked: max diff {np.abs(hpreact - v.hpreact).max():.1e}")

    # backward: fused vs chunked (the lecture's cmp) and vs central differences
    dhprebn, dbngain, dbnbias = batchnorm_backward(dhpreact, cache)
    res = {name: cmp(name, mine, chunked[name])
           for name, mine in (("dhprebn", dhprebn), ("dbngain", dbngain), ("dbnbias", dbnbias))}
    print()
    rows = check_batchnorm(v.hprebn, v.bngain, v.bnbias, dhpreact)
    ok = report(rows, "exercise 3 vs central differences")

    # speed: why we fuse
    start = [name for name, _ in ex1.FORWARD].index("bnmeani")
    stop = [name for name, _ in ex1.FORWARD].index("hpreact") + 1
    timings = {
        "backward": (time_us(lambda: batchnorm_backward(dhpreact, cache)),
                     time_us(lambda: ex1.backward_batchnorm(v, dhpreact))),
        "forward + backward": (time_us(lambda: batchnorm_backward(dhpreact, batchnorm_forward(v.hprebn, v.bngain, v.bnbias)[1])),
                               time_us(lambda: ex1.backward_batchnorm(run_steps(ex1.FORWARD[:stop], v, start), dhpreact))),
    }
    print()
    for what, (fused, chunked_us) in timings.items():
        print(f"{what + ':':19s} fused {fused:6.1f} us   chunked {chunked_us:6.1f} us   ({chunked_us / fused:.1f}x faster)")

    # plot: the three paths of one hidden unit's inputs
    xhat, var_inv, gain = cache[:3]
    j = int(np.argmax(np.abs(dhprebn).sum(0)))    # the unit with the most gradient flowing through
    g = (gain * var_inv)[0, j]
    direct = g * dhpreact[:, j]
    via_mean = np.full(n, -g * dhpreact[:, j].mean())
    via_var = -g * xhat[:, j] * (xhat[:, j] * dhpreact[:, j]).sum() / (n - 1)
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
                 f"(sum of the paths vs fused: max diff {np.abs(direct + via_mean + via_var - dhprebn[:, j]).max():.0e})")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    save(fig, out, "ex3_three_paths")

    results = dict(dhprebn_maxdiff=res["dhprebn"]["maxdiff"], dhprebn_approx=res["dhprebn"]["approx"],
                   rel_error_numeric=max(r["rel"] for r in rows), us_fused=timings["backward"][0],
                   us_chunked=timings["backward"][1], ok=bool(ok and all(r["approx"] for r in res.values())))
    with open(os.path.join(out, "ex3.json"), "w") as f:
        json.dump(results, f, indent=1)
    if args.dump:
        np.savez(args.dump, hprebn=v.hprebn, bngain=v.bngain, bnbias=v.bnbias, dhpreact=dhpreact,
                 dhprebn=dhprebn, dbngain=dbngain, dbnbias=dbnbias)
        print(f"wrote hprebn, bngain, bnbias, dhpreact, dhprebn, dbngain, dbnbias to {args.dump}")
    print(f"plot: {out}/ex3_three_paths.png")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(run(main))
