"""Exercise 4 alone: its update lines (found, not run), the training with the learner's backward in
the child, and the project's own run beside it with the plot of both, in the parent."""
import ast
import os
import warnings

import numpy as np

from lib.cli import write_json
from lib.grader import mistakes
from lib.grader.result import Training
from lib.grader.workspace import names
from lib.lecture import PARAMS, forward


def updates(child, events, owners):
    """The statements that update the parameters (they changed one), and the helper lines that only
    they read (lr, a list of grads). They are not run again."""
    lines = {e["line"] for e in events if e["name"] in PARAMS}
    code = child.runnable()
    found = [st for st in code if (st.line in lines or st.writes & set(PARAMS) or
             ("parameters" in st.reads and isinstance(st.node, ast.For)) or
             any(isinstance(t, ast.Attribute) and t.attr == "data" for node in ast.walk(st.node)
                 if isinstance(node, ast.AugAssign) for t in [node.target]))]
    owned = {st for sts in owners.values() for st in sts}
    changed = True
    while changed:
        changed = False
        for st in [st for st in code if st not in found]:
            if st in owned or not st.writes:
                continue
            readers = [o for o in code if o is not st and st.writes & o.reads]
            if readers and all(o in found for o in readers):
                found.append(st)
                changed = True
    return found


def updates_note(found, events, lr):
    at = sorted({st.line for st in found})
    changed = sorted({e["name"] for e in events if e["name"] in PARAMS}, key=PARAMS.index)
    return (f"line{'s' if len(at) > 1 else ''} {', '.join(map(str, at))} "
            + (f"change{'s' if len(at) == 1 else ''} {', '.join(changed)}" if changed else
               f"update{'s' if len(at) == 1 else ''} the parameters") +
            f": not run; the grader grades your backward, and its training starts from the project's "
            f"parameters and updates them itself (lr {lr})")


def train(child, keep=None, every=100):
    """Exercise 4's payoff, in the child: the learner's backward trains the lecture's MLP from the
    project's parameters on the project's batches: its Training, the one made, handed to keep (the child
    writes it) before the first step and every `every` steps, so that a time-out keeps the steps trained."""
    from lib.data import load_splits, minibatches
    from lib.model import init_params
    training = Training(losses=[], stopped="")
    if keep:
        keep(training)
    job = child.job
    itos, _, ((Xtr, Ytr), _, _) = load_splits(3, job.data)
    H = job.n_hidden or child.ex["n_hidden"]
    params = init_params(len(itos), 10, H, 3, np.random.default_rng(job.seed))
    batches = minibatches(Xtr, Ytr, 0, job.batch_size, job.seed)
    run = child.runnable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(job.steps):
            child.mark(f"training step {i + 1}")
            if keep and i and i % every == 0:
                keep(training)
            Xb, Yb = next(batches)
            values = forward(**{k: v.copy() for k, v in params.items()}, Xb=Xb, Yb=Yb)
            ns = names(values, "ex4", {})
            for st in run:
                result = child.execute(st, ns, quiet=True)
                if result:
                    training.stopped = f"at training step {i + 1}, line {result[1]} " + (
                        f"raises {result[2]}" if result[0] == "error" else f"exits ({result[2]})")
                    break
            if training.stopped:
                break
            grads = {}
            for k, p in params.items():
                d = ns.get("d" + k)
                d = np.asarray(d, dtype=np.float64) if isinstance(d, (np.ndarray, list, float, int)) else None
                if d is not None and d.shape != p.shape and mistakes.squeezed(d.shape) == mistakes.squeezed(p.shape):
                    d = d.reshape(p.shape)  # (H,) for (1, H): right is right
                if d is None or d.shape != p.shape:
                    training.stopped = (f"at training step {i + 1}: d{k} is {'missing' if d is None else d.shape}, "
                                        f"where {p.shape} is due")
                    break
                grads[k] = d
            if training.stopped:
                break
            if not np.isfinite(values["loss"]):
                training.stopped = f"at training step {i + 1}: the loss became {values['loss']}"
                break
            training.losses.append(float(values["loss"]))
            for k in params:
                params[k] -= job.lr * grads[k]
    return training


def report_training(training, batch_size, n_hidden, seed, data, steps, lr, out, rows, ok):
    """Exercise 4: the project's run on the same batches from the same parameters, both curves
    plotted; True when the learner's run went the whole way."""
    from lib.data import load_splits, minibatches
    from lib.model import init_params, mlp_backward, mlp_forward
    from lib.plotting import binned, plt, save
    yours = training.losses
    print()
    if training.stopped:
        print(f"training with your backward stopped {training.stopped}")
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
    return not training.stopped and len(yours) == steps
