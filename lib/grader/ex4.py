"""Exercise 4 alone: the project's own run beside the learner's training, and the plot of both."""
import os

import numpy as np

from lib.cli import write_json


def report_training(training, batch_size, n_hidden, seed, data, steps, lr, out, rows, ok):
    """Exercise 4: the project's run on the same batches from the same parameters, both curves
    plotted; True when the learner's run went the whole way."""
    from lib.data import load_splits, minibatches
    from lib.model import init_params, mlp_backward, mlp_forward
    from lib.plotting import binned, plt, save
    yours = training["losses"]
    print()
    if training["stopped"]:
        print(f"training with your backward stopped {training['stopped']}")
    if not yours:
        print("no training run with your backward")
    itos, _, ((Xtr, Ytr), _, _) = load_splits(3, data)
    params = init_params(len(itos), 10, n_hidden, 3, np.random.default_rng(seed))
    batches = minibatches(Xtr, Ytr, 0, batch_size, seed)
    project = []
    for _ in range(max(len(yours), 1) if yours else 0):
        Xb, Yb = next(batches)
        loss, cache = mlp_forward(params, Xb, Yb)
        grads = mlp_backward(params, cache, Yb)
        for k in params:
            params[k] -= lr * grads[k]
        project.append(float(loss))
    summary = dict(rows=rows, ok=ok, steps=len(yours), loss_yours=float(np.mean(yours[-100:])) if yours else None,
                   loss_project=float(np.mean(project[-100:])) if project else None)
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "practice_ex4.json"), summary)
    if not yours:
        return False
    print(f"trained {len(yours)} steps (lr {lr}) with your backward beside the project's: loss over the last 100 "
          f"steps {summary['loss_yours']:.4f} vs {summary['loss_project']:.4f}")
    fig, ax = plt.subplots(figsize=(8, 4))
    k = max(len(yours) // 50, 1)
    for label, values, style in (("your", yours, dict(lw=4, alpha=0.5)),
                                 ("the project's", project, dict(lw=1.5, ls="--", color="k"))):
        x, groups = binned(values, k)
        ax.plot(x, groups.mean(1), label=f"{label} backward: last 100 steps {np.mean(values[-100:]):.3f}", **style)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss (mean of {k} steps)")
    ax.set_title("exercise 4: the same run, your backward and the project's (they coincide when yours is right)")
    ax.legend()
    print(f"plot: {save(fig, out, 'practice_ex4')}")
    return not training["stopped"] and len(yours) == steps
