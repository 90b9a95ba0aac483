"""Do it yourself: the four exercises as exercises, with a grader that names your mistake.

"Fill in the blanks, try it yourself; if you get stuck, come back and see how I did it."
A practice file is the lecture's exercise cell in plain numpy: the forward pass has already
run (its tensors exist under the lecture's names), and every gradient is a blank to fill in.
`check` runs your file and grades every gradient on its own, against the project's backward
(lib/lecture.py), in float64: ok, wrong (with why, and the fix), missing, or inherits (your
line is right, but a gradient it uses is not). Your file is never modified.

    python scripts/practice.py new ex1                    # writes practice/ex1.py (ex1 ... ex4)
    python scripts/practice.py check practice/ex1.py      # grade it; exit 0 when every row is ok
    python scripts/practice.py hint ex1 dcounts           # a hint for one gradient
    python scripts/practice.py hint ex1 dcounts --answer  # and the project's line for it

check takes exercise 1's shapes (--batch-size, --n-hidden, --seed): try --batch-size 2 too.
For ex4 it then trains a short run with your backward beside the project's and plots both
loss curves in <out>/practice_ex4.png.
"""
import contextlib
import io
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib import grader  # noqa: E402
from lib.cli import Parser, UsageError, positive, run, seed_arg, writable_dir  # noqa: E402
from lib.data import ROOT, load_splits, minibatches, read_text  # noqa: E402
from lib.lecture import backward, forward  # noqa: E402
from lib.model import exercise_batch, init_params, mlp_backward, mlp_forward  # noqa: E402
from lib.plotting import binned, plt, save  # noqa: E402

# hyperparameters
batch_size = 32     # the lecture's batch
seed = 42           # seed of the init and the batch (exercise 1's)
steps = 2000        # ex4: the short training run with your backward
lr = 0.1            # ex4: its learning rate


def main(argv=None):
    parser = Parser(description="Do the lecture's exercises yourself: new practice files, a grader, hints.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    new = sub.add_parser("new", help="write a practice file for an exercise")
    new.add_argument("exercise", choices=sorted(grader.EXERCISES))
    new.add_argument("--to", metavar="PATH", help="where to write it (default practice/<exercise>.py)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file (your work in it is lost)")
    check = sub.add_parser("check", help="grade a practice file")
    check.add_argument("path")
    check.add_argument("--exercise", choices=sorted(grader.EXERCISES), help="which exercise (default: from the file's first line)")
    check.add_argument("--batch-size", type=int, default=batch_size, help=f"minibatch size, >= 2 (lecture: {batch_size})")
    check.add_argument("--n-hidden", type=positive(int), help="hidden neurons (default: the exercise's, 64, or 200 for ex4)")
    check.add_argument("--seed", type=seed_arg, default=seed, help=f"seed of the init and the batch (default {seed})")
    check.add_argument("--steps", type=positive(int), default=steps, help=f"ex4: steps of the training run (default {steps})")
    check.add_argument("--out", default="plots", help="ex4: folder for practice_ex4.png (default plots/)")
    check.add_argument("--data", help="a word list to use instead of names.txt")
    hint = sub.add_parser("hint", help="a hint for one gradient of an exercise")
    hint.add_argument("exercise", choices=sorted(grader.EXERCISES))
    hint.add_argument("gradient", help="for example dcounts")
    hint.add_argument("--answer", action="store_true", help="also print the project's line for it")
    args = parser.parse_args(argv)
    return {"new": new_file, "check": check_file, "hint": print_hint}[args.command](args)


def new_file(args):
    path = args.to or os.path.join(ROOT, "practice", f"{args.exercise}.py")
    if os.path.exists(path) and not args.force:
        raise UsageError(f"{path} exists and may hold your work; check it with `practice.py check {path}`, "
                         f"or pass --force to start it again (or --to another path)")
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; pass --to a file path")
    ex = grader.EXERCISES[args.exercise]
    _, params, Xb, Yb = exercise_batch(batch_size, n_hidden=ex["n_hidden"], seed=seed)
    text = grader.template(args.exercise, forward(**params, Xb=Xb, Yb=Yb))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "x" if not args.force else "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {path} ({e.strerror}); pass --to a writable path")
    print(f"wrote {path}: {len(ex['graded'])} blanks to fill in ({', '.join(ex['graded'][:3])}, ...)\n"
          f"when you are done (or stuck): python scripts/practice.py check {path}")
    return 0


def read_practice(path, exercise):
    """The file's text and its exercise: from --exercise, its first line, or its name."""
    source = read_text(path, "a practice file", "write one with `practice.py new ex1`")
    m = re.match(r"#\s*Exercise (\d)", source) or re.search(r"(?:^|[^\w])ex(\d)\.py$", path)
    exercise = exercise or (f"ex{m.group(1)}" if m else None)
    if exercise not in grader.EXERCISES:
        raise UsageError(f"cannot tell which exercise {path} is; pass --exercise ex1 (or ex2, ex3, ex4)")
    return source, exercise


def check_file(args):
    source, name = read_practice(args.path, args.exercise)
    ex = grader.EXERCISES[name]
    out = writable_dir(args.out) if name == "ex4" else None
    n_hidden = args.n_hidden or ex["n_hidden"]
    try:
        code = compile(source, args.path, "exec")
    except SyntaxError as e:
        print(f"{args.path} line {e.lineno}: SyntaxError: {e.msg}; nothing can be graded until it parses")
        return 1
    itos, params, Xb, Yb = exercise_batch(args.batch_size, n_hidden=n_hidden, seed=args.seed, data=args.data)
    values = forward(**params, Xb=Xb, Yb=Yb)
    answers = backward(**values)
    print(f"grading {args.path}: {ex['title'].lower()}; batch {args.batch_size}, n_hidden {n_hidden}, "
          f"seed {args.seed}\n")
    rows, notes = grader.grade(source, args.path, name, values, answers)
    print("\n".join(grader.table(rows)))
    for note in notes:
        print(note)
    counts = {s: [r["name"] for r in rows if r["status"] == s] for s in ("ok", "wrong", "missing", "inherits")}
    verdict = f"{name}: {len(counts['ok'])} of {len(rows)} ok" + "".join(
        f"; {s}: {', '.join(names)}" for s, names in counts.items() if s != "ok" and names)
    print(f"\n{verdict}")
    if not counts["wrong"] and not counts["missing"] and not counts["inherits"]:
        print("every gradient is right. Compare with the project's: python scripts/practice.py hint "
              f"{name} {ex['graded'][-1]} --answer")
    if name == "ex4":
        losses = train_beside(code, args, n_hidden, out)
        with open(os.path.join(out, "practice_ex4.json"), "w") as f:
            json.dump(dict(rows=len(rows), ok=len(counts["ok"]), steps=len(losses[0]) if losses else 0,
                           loss_yours=float(np.mean(losses[0][-100:])) if losses else None,
                           loss_project=float(np.mean(losses[1][-100:])) if losses else None), f, indent=1)
    return 0 if len(counts["ok"]) == len(rows) else 1


def train_beside(code, args, n_hidden, out):
    """Exercise 4's payoff: a short training run with the learner's backward (their file, compiled),
    beside the project's."""
    itos, _, ((Xtr, Ytr), _, _) = load_splits(3, args.data)
    mine = init_params(len(itos), 10, n_hidden, 3, np.random.default_rng(args.seed))
    ours = {k: v.copy() for k, v in mine.items()}
    batches = minibatches(Xtr, Ytr, 0, args.batch_size, args.seed)
    lossi = {"your": [], "the project's": []}
    stopped = ""
    for i in range(args.steps):
        Xb, Yb = next(batches)
        ns = {**forward(**mine, Xb=Xb, Yb=Yb), "np": np}
        try:
            with np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
                exec(code, ns)
            grads = {k: np.asarray(ns["d" + k], dtype=np.float64) for k in mine}
            if any(grads[k].shape != mine[k].shape for k in mine):
                bad = [f"d{k} {grads[k].shape}" for k in mine if grads[k].shape != mine[k].shape]
                raise ValueError(f"shapes {', '.join(bad)} do not fit the parameters")
        except Exception as e:  # the learner's file: reported, not raised
            stopped = f"no training run with your backward: at step {i} it {type(e).__name__}: {e}"
            break
        if not np.isfinite(ns["loss"]):
            stopped = f"your run stopped at step {i}: the loss became {ns['loss']}"
            break
        lossi["your"].append(float(ns["loss"]))
        for k in mine:
            mine[k] -= lr * grads[k]
        loss, cache = mlp_forward(ours, Xb, Yb)
        theirs = mlp_backward(ours, cache, Yb)
        for k in ours:
            ours[k] -= lr * theirs[k]
        lossi["the project's"].append(float(loss))
    print()
    if stopped:
        print(stopped)
    if not lossi["your"]:
        return None
    yours, project = (np.mean(v[-100:]) for v in lossi.values())
    print(f"trained {len(lossi['your'])} steps (lr {lr}) with your backward beside the project's: "
          f"loss over the last 100 steps {yours:.4f} vs {project:.4f}")
    fig, ax = plt.subplots(figsize=(8, 4))
    k = max(len(lossi["your"]) // 50, 1)
    for (label, values), style in zip(lossi.items(), (dict(lw=4, alpha=0.5), dict(lw=1.5, ls="--", color="k"))):
        x, groups = binned(values, k)
        ax.plot(x, groups.mean(1), label=f"{label} backward: last 100 steps {np.mean(values[-100:]):.3f}", **style)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss (mean of {k} steps)")
    ax.set_title("exercise 4: the same run, your backward and the project's (they coincide when yours is right)")
    ax.legend()
    print(f"plot: {save(fig, out, 'practice_ex4')}")
    return list(lossi.values())


def print_hint(args):
    ex = grader.EXERCISES[args.exercise]
    if args.gradient not in ex["graded"]:
        raise UsageError(f"{args.exercise} has no gradient {args.gradient!r}; it asks for {', '.join(ex['graded'])}")
    print(grader.hint(args.exercise, args.gradient, args.answer))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
