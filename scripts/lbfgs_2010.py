"""Before autograd, 2010: cost, grad = cost_function(theta), checked numerically, handed to an optimizer.

The habit of Ng's ex4.m (fmincg) and of minFunc: write the cost function and its backward pass
by hand over one unrolled parameter vector, check its gradient numerically on a tiny network,
then give it to a quasi-Newton optimizer on the whole training set at once. scipy is our
minFunc: scipy.optimize.check_grad is a second checker, independent of lib/gradcheck.py, and
scipy.optimize.minimize(method="L-BFGS-B", jac=True) the optimizer. The cost function is the
lecture's MLP with the same hand backward as train.py (lib/model.py's mlp_forward / mlp_backward).

Full-batch means batchnorm's statistics are those of the whole training set, so the model it
trains needs no calibration. Beside it, for the same wall-clock time, the lecture's minibatch
SGD: which is ahead after equal time, and why, is in the README.

    python scripts/lbfgs_2010.py [--maxiter 50] [--out plots/]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np
from scipy.optimize import check_grad, minimize

from lib.cli import Parser, positive, run, seed_arg, writable_dir, write_json
from lib.data import PLOTS, load_splits, minibatches
from lib.gradcheck import precise_gradient, rel_error
from lib.lecture import PARAMS, REFERENCE
from lib.model import calibrate_batchnorm, init_params, mlp_backward, mlp_forward, split_loss, trigram_loss
from lib.plotting import plt, save
from lib.training import Interrupt

# hyperparameters
n_embd, n_hidden, block_size = 10, 200, 3   # the lecture's exercise 4 network
maxiter = 50            # L-BFGS iterations, each about one full pass over the training examples
sgd_batch, sgd_lr = 32, 0.1                 # the lecture's minibatch SGD, for the comparison
seed = 42
MLP_VAL = REFERENCE["val"]  # the lecture's MLP after 200000 SGD steps (lib/lecture.py)


def unroll(arrays):
    """A dict of arrays (in PARAMS order) as one flat float64 vector theta."""
    return np.concatenate([np.asarray(arrays[k], np.float64).ravel() for k in PARAMS])


def roll(theta, shapes):
    """theta back into named arrays (views)."""
    params, at = {}, 0
    for k in PARAMS:
        size = int(np.prod(shapes[k]))
        params[k] = theta[at:at + size].reshape(shapes[k])
        at += size
    return params


def cost_function(theta, X, Y, shapes, dtype=np.float64):
    """cost, grad: the mean cross-entropy over (X, Y) and its gradient by hand, both over theta.
    dtype: the precision of the arithmetic (float32 halves the time of a full-batch evaluation)."""
    params = {k: v.astype(dtype, copy=False) for k, v in roll(theta, shapes).items()}
    loss, cache = mlp_forward(params, X, Y)
    return float(loss), unroll(mlp_backward(params, cache, Y))


def main(argv=None):
    parser = Parser(description="The 2010 workflow: cost and gradient by hand, check_grad, then L-BFGS.")
    parser.add_argument("--maxiter", type=positive(int), default=maxiter, help=f"L-BFGS iterations (default {maxiter})")
    parser.add_argument("--seed", type=seed_arg, default=seed, help=f"seed (default {seed})")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for lbfgs_2010.json and the plot (default plots/ in the repository)")
    args = parser.parse_args(argv)
    out = writable_dir(args.out)
    itos, _, ((Xtr, Ytr), (Xva, Yva), _) = load_splits(block_size)
    V = len(itos)

    # 1. check the gradient on a tiny network, twice: scipy's check_grad and lib/gradcheck.py
    rng = np.random.default_rng(args.seed)
    tiny = init_params(5, 3, 4, 2, rng)
    Xs, Ys = rng.integers(0, 5, (6, 2)), rng.integers(0, 5, 6)
    shapes = {k: v.shape for k, v in tiny.items()}
    theta = unroll(tiny)
    cost = lambda t: cost_function(t, Xs, Ys, shapes)[0]  # noqa: E731
    grad = lambda t: cost_function(t, Xs, Ys, shapes)[1]  # noqa: E731
    hand = grad(theta)
    scipy_norm = check_grad(cost, grad, theta)
    scipy_rel = scipy_norm / np.linalg.norm(hand)
    ours, _ = precise_gradient(cost, theta.copy())
    lib_rel = rel_error(hand, ours)
    print(f"tiny network ({theta.size} parameters): scipy.optimize.check_grad: |grad - numerical| = {scipy_norm:.1e} "
          f"({scipy_rel:.1e} of |grad|, forward differences); lib/gradcheck.py: relative error {lib_rel:.1e}")
    checks_ok = scipy_rel < 1e-5 and lib_rel < 1e-7

    # 2. L-BFGS on the whole training set
    params = init_params(V, n_embd, n_hidden, block_size, np.random.default_rng(args.seed))
    shapes = {k: v.shape for k, v in params.items()}
    curve = []  # (seconds of the optimizer's own time, val loss) after each iteration
    stop = Interrupt("the iteration under way")  # Ctrl-C or kill: the curves so far are still plotted and written

    evaluating = []  # the seconds spent measuring the val loss in the callbacks so far: not the optimizer's
    began = time.perf_counter()

    def callback(theta):
        spent = time.perf_counter() - began - sum(evaluating)  # the optimizer's time, not the evaluation's
        started = time.perf_counter()
        p = roll(theta, shapes)
        val = split_loss(p, Xva, Yva, *calibrate_batchnorm(p, Xtr))
        curve.append((spent, val))
        if len(curve) % 10 == 0 or len(curve) == 1:
            print(f"iteration {len(curve):4d}: {spent:6.1f} s   val loss {val:.4f}", flush=True)
        evaluating.append(time.perf_counter() - started)
        if stop.signal:
            raise StopIteration  # scipy ends the minimisation here, with what it has

    print(f"\nL-BFGS-B, full batch ({len(Xtr)} examples per cost evaluation, float32), at most {args.maxiter} "
          "iterations")
    result = minimize(cost_function, unroll(params), args=(Xtr, Ytr, shapes, np.float32), jac=True, method="L-BFGS-B",
                      callback=callback, options=dict(maxiter=args.maxiter))
    lbfgs_seconds = curve[-1][0] if curve else 0.0
    lbfgs_val = curve[-1][1]
    print(f"after {result.nit} iterations ({result.nfev} cost evaluations, {lbfgs_seconds:.0f} s): "
          f"train loss {result.fun:.4f}, val loss {lbfgs_val:.4f}")

    # 3. the lecture's minibatch SGD for the same time
    params = init_params(V, n_embd, n_hidden, block_size, np.random.default_rng(args.seed))
    batches = minibatches(Xtr, Ytr, 0, sgd_batch, args.seed)
    sgd_curve, spent, steps = [], 0.0, 0
    points = min(15, len(curve))  # on the curve, as many as L-BFGS has (up to 15); the evaluations are not timed
    while spent < lbfgs_seconds and not stop.signal:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < lbfgs_seconds / points:
            for _ in range(100):
                Xb, Yb = next(batches)
                loss, cache = mlp_forward(params, Xb, Yb)
                grads = mlp_backward(params, cache, Yb)
                for k in params:
                    params[k] -= sgd_lr * grads[k]
            steps += 100
        spent += time.perf_counter() - t0
        sgd_curve.append((spent, split_loss(params, Xva, Yva, *calibrate_batchnorm(params, Xtr))))
    sgd_val = sgd_curve[-1][1] if sgd_curve else None  # none when a signal came during L-BFGS
    if sgd_curve:
        print(f"minibatch SGD (batch {sgd_batch}, lr {sgd_lr}) for the same {spent:.0f} s: {steps} steps, "
              f"val loss {sgd_val:.4f}")

    # the comparison on the MLP's scale
    trigram = trigram_loss(Xtr, Ytr, Xva, Yva, V)
    print(f"\nvalidation loss, nats per character:\n  trigram, add-one smoothing : {trigram:.4f}\n"
          f"  MLP by L-BFGS (full batch) : {lbfgs_val:.4f}\n"
          + (f"  MLP by SGD, same time      : {sgd_val:.4f}\n" if sgd_curve else "") +
          f"  the lecture's MLP (200000 SGD steps): {MLP_VAL:.4f}")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(*zip(*curve), "o-", ms=2, label=f"L-BFGS-B, full batch: val {lbfgs_val:.3f}")
    if sgd_curve:
        ax.plot(*zip(*sgd_curve), "s-", ms=2, label=f"minibatch SGD (batch {sgd_batch}): val {sgd_val:.3f}")
    ax.axhline(trigram, color="gray", ls=":", label=f"trigram, add-one: {trigram:.3f}")
    ax.axhline(MLP_VAL, color="k", ls="--", lw=1, label=f"the lecture's MLP after 200000 steps: {MLP_VAL}")
    ax.set_ylim(top=min(3.4, max(v for _, v in curve)))
    ax.set_xlabel("wall-clock seconds of optimisation")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_title("the same MLP and hand backward, two optimisers, equal time")
    ax.legend(fontsize=8)
    save(fig, out, "lbfgs_2010")

    write_json(os.path.join(out, "lbfgs_2010.json"), dict(finished=not stop.signal, check_grad_rel=scipy_rel,
                                                          lib_rel=lib_rel,
                                                          checks_ok=bool(checks_ok), iterations=int(result.nit),
                   evaluations=int(result.nfev), seconds=lbfgs_seconds, lbfgs_val=lbfgs_val,
                       lbfgs_train=float(result.fun),
                   sgd_val=sgd_val, sgd_steps=steps, trigram_val=trigram, mlp_val=MLP_VAL))
    print(f"plot: {out}/lbfgs_2010.png")
    if stop.signal:
        return stop.done(f"after {len(curve)} L-BFGS iterations" + (f" and {steps} SGD steps" if sgd_curve else ""),
                         f"{out}/lbfgs_2010.json and the plot of the curves so far")
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(run(main))
