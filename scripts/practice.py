"""Do it yourself: the four exercises as exercises, with a grader that names your mistake.

"Fill in the blanks, try it yourself; if you get stuck, come back and see how I did it."
A practice file is a script with cells (# %%): a set-up cell builds the lecture's forward pass
(every tensor under the lecture's name), your cells fill in the gradients, a grading cell grades
them. Run it with python, cell by cell in an editor or Jupyter, or grade it with `check`, which
runs your file on its own (a time limit, no keyboard, exits and Ctrl-C named at their line) and
grades every gradient on its own, against the project's backward (lib/lecture.py), in float64:
ok, wrong (with why, and the fix), missing, or inherits (your line is right, but a gradient it
uses is not). Your file is never modified.

    python scripts/practice.py new ex1                    # writes practice/ex1.py (ex1 ... ex4)
    python practice/ex1.py                                # runs it: what it prints, then the grades
    python scripts/practice.py check practice/ex1.py      # the same, with options; exit 0 when all are ok
    python scripts/practice.py hint ex1 dcounts           # a hint for one gradient
    python scripts/practice.py hint ex1 dcounts --answer  # and the project's line for it

check takes exercise 1's shapes (--batch-size, --n-hidden, --seed): try --batch-size 2 too.
For ex4 it then trains a short run with your backward beside the project's and plots both
loss curves in <out>/practice_ex4.png.
"""
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib.grader import catalogue, face, notebook, report
from lib.cli import Parser, UsageError, positive, run, seed_arg, writable_dir, write_text
from lib.data import PLOTS, ROOT, read_text
from lib.lecture import forward
from lib.model import exercise_batch

# hyperparameters
batch_size = 32     # the lecture's batch
seed = 42           # seed of the init and the batch (exercise 1's)
steps = 2000        # ex4: the short training run with your backward
lr = 0.1            # ex4: its learning rate


def main(argv=None):
    parser = Parser(description="Do the lecture's exercises yourself: new practice files, a grader, hints.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    new = sub.add_parser("new", help="write a practice file for an exercise")
    new.add_argument("exercise", choices=sorted(catalogue.EXERCISES))
    new.add_argument("--to", metavar="PATH", help="where to write it (default practice/<exercise>.py)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file (your work in it is lost)")
    new.add_argument("--notebook", action="store_true", help="write a Jupyter notebook (practice/<exercise>.ipynb; "
                     "a --to path named .ipynb is one too)")
    check = sub.add_parser("check", help="grade a practice file")
    check.add_argument("path")
    check.add_argument("--exercise", choices=sorted(catalogue.EXERCISES),
                       help="which exercise (default: from the file's first line)")
    check.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"minibatch size, >= 2 (lecture: {batch_size})")
    check.add_argument("--n-hidden", type=positive(int),
                       help="hidden neurons (default: the exercise's, 64, or 200 for ex4)")
    check.add_argument("--seed", type=seed_arg, default=seed, help=f"seed of the init and the batch (default {seed})")
    check.add_argument("--steps", type=positive(int), default=steps,
                       help=f"ex4: steps of the training run (default {steps})")
    check.add_argument("--out", default=PLOTS,
                       help="ex4: folder for practice_ex4.png (default plots/ in the repository)")
    check.add_argument("--data", help="a word list to use instead of names.txt")
    check.add_argument("--no-graph", action="store_true",
                       help="skip drawing your graph (<out>/practice_<exercise>_graph.png)")
    check.add_argument("--timeout", type=positive(float), help="seconds your file may run, all three runs and ex4's "
                       "training included (default: a few seconds more than a right file needs)")
    hint = sub.add_parser("hint", help="a hint for one gradient of an exercise")
    hint.add_argument("exercise", choices=sorted(catalogue.EXERCISES))
    hint.add_argument("gradient", help="for example dcounts")
    hint.add_argument("--answer", action="store_true", help="also print the project's line for it")
    args = parser.parse_args(argv)
    return {"new": new_file, "check": check_file, "hint": print_hint}[args.command](args)


def new_file(args):
    path = args.to or os.path.join(ROOT, "practice", f"{args.exercise}.{'ipynb' if args.notebook else 'py'}")
    notebook = args.notebook or path.endswith(".ipynb")  # the kind of file its name says
    if notebook and not path.endswith(".ipynb"):
        raise UsageError(f"--notebook writes a Jupyter notebook, and --to {path} is not named .ipynb; pass --to a "
                         f".ipynb path, or drop --notebook for a Python file")
    if os.path.exists(path) and not args.force:
        raise UsageError(f"{path} exists and may hold your work; check it with `practice.py check {path}`, "
                         f"or pass --force to start it again (or --to another path)")
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; pass --to a file path")
    ex = catalogue.EXERCISES[args.exercise]
    _, params, Xb, Yb = exercise_batch(batch_size, n_hidden=ex["n_hidden"], seed=seed)
    text = report.template(args.exercise, forward(**params, Xb=Xb, Yb=Yb))
    if notebook:
        text = face.notebook(text)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_text(path, text, exclusive=not args.force, fix="pass --to a writable path, or free some space")
    except FileExistsError:
        raise UsageError(f"{path} exists and may hold your work; pass --force to start it again (or --to another path)")
    except OSError as e:
        raise UsageError(f"cannot write {path} ({e.strerror}); pass --to a writable path")
    graded = ex["graded"]
    listed = ", ".join(graded[:3]) + (", ..." if len(graded) > 3 else "")
    how = ("open it in Jupyter (kernel: .venv's Python) and run its cells" if notebook else
           f"run it, cell by cell or whole (python {shlex.quote(os.path.relpath(path))})")
    print(f"wrote {path}: {len(graded)} blank{'s' * (len(graded) > 1)} to fill in ({listed})\n"
          f"{how}, or grade it: {shlex.join(['python', 'scripts/practice.py', 'check', path])}")
    return 0


def check_file(args):
    source = read_text(args.path, "a practice file", "write one with `practice.py new ex1`")
    at = None
    if args.path.endswith(".ipynb"):  # a notebook: its code cells, each line named by its cell
        source, at = notebook.notebook_source(source, args.path)
    out = writable_dir(args.out)
    return face.check(source, args.path, args.exercise, at=at, batch_size=args.batch_size, n_hidden=args.n_hidden,
                         seed=args.seed, data=args.data, steps=args.steps, lr=lr, out=out, timeout=args.timeout,
                         graph=not args.no_graph)


def print_hint(args):
    ex = catalogue.EXERCISES[args.exercise]
    if args.gradient not in ex["graded"]:
        raise UsageError(f"{args.exercise} has no gradient {args.gradient!r}; it asks for {', '.join(ex['graded'])}")
    print(report.hint(args.exercise, args.gradient, args.answer))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
