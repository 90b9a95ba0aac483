"""The learner's face: what a practice file imports and what `practice.py check` calls.

    globals().update(workspace("ex1"))   a practice file's set-up cell: the forward pass, every tensor by name
    grade("ex1", globals())              its grading cell: the table, in a notebook or an editor's cells
    check(source, path, "ex1")           what `practice.py check` and `python practice/ex1.py` do

`python practice/ex1.py` hands the file to check() at its set-up line (unless a debugger or an
interactive session runs it: then every line runs in place, and the grading cell grades).
"""
import ast
import os
import pickle
import re
import shlex
import sys
import tempfile
import warnings

import numpy as np

from lib.cli import UsageError
from lib.data import ROOT
from lib.grader import catalogue, judge, report
from lib.grader.ex4 import report_training, train
from lib.grader.notebook import in_ipython, session_cells, show_inline
from lib.grader.notebook import notebook  # noqa: F401  (practice.py new --notebook's)
from lib.grader.result import Ending, Failure, Job, Status
from lib.grader.runs import Child, filled_empty
from lib.grader.sandbox import ENV, cpu_seconds, run_child, seconds, time_limit
from lib.grader.workspace import cost_of, names, prepare
from lib.source import targets

SESSION = "__practice_session__"  # the name under which the set-up cell leaves its place in the session's history


def interactive():
    return in_ipython() is not None or bool(sys.flags.interactive)


def workspace(exercise, batch_size=32, n_hidden=None, seed=42):
    """The set-up cell: the forward pass of lib/lecture.py on one batch, every tensor by name.
    Run as a script (`python practice/ex1.py`), the file is handed to the grader here instead:
    it runs the whole file on its own, prints what it printed and the table, and exits 0 when
    every gradient is right."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    debugger = sys.gettrace() is not None or "pdb" in sys.modules or "debugpy" in sys.modules
    if path and os.path.isfile(path) and not interactive() and not debugger:
        from lib.cli import run
        from lib.data import read_text
        raise SystemExit(run(lambda _: check(read_text(path, "a practice file", ""), path, exercise,
                                             batch_size=batch_size, n_hidden=n_hidden, seed=seed,
                                             longer=f"{ENV}=SECONDS python {shlex.quote(os.path.relpath(path))}")))
    values, answers, _ = prepare(exercise, batch_size, n_hidden, seed)
    shell = in_ipython()
    session = {} if shell is None else {SESSION: dict(start=len(shell.user_ns.get("In", [])), exercise=exercise,
                                                      shape=dict(batch_size=batch_size, n_hidden=n_hidden, seed=seed))}
    return {**names(values, exercise, answers), **session}


def grade(exercise, namespace, timeout=None):
    """The grading cell: the file (a script under a debugger, Spyder) or the cells run since the
    set-up cell (a notebook, VS Code's interactive window), graded as `practice.py check` grades.
    timeout: seconds the file may run (default: what its shape needs, or $PRACTICE_TIMEOUT). Bad input (a
    timeout of -5) is one line, and exit code 2 outside a notebook."""
    path = namespace.get("__file__")
    session = namespace.get(SESSION, {})
    shape = session.get("shape", {}) if session.get("exercise") == exercise else {}
    longer = f"grade({exercise!r}, globals(), timeout=SECONDS)"
    try:
        if timeout is not None:
            timeout = seconds(timeout, f"grade(timeout={timeout!r})", f"pass the seconds your file may run: {longer}")
        if path and os.path.isfile(path):
            from lib.data import read_text
            code = check(read_text(path, "a practice file", ""), path, exercise, show_output=False, timeout=timeout,
                         longer=longer, **shape)
        else:
            source, at = session_cells(session.get("start", 1))
            code = check(source, "<your cells>", exercise, show_output=False, at=at, timeout=timeout, longer=longer,
                         **shape)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 2
    if not interactive():
        raise SystemExit(code)
    return None


def seconds_from_env():
    """$PRACTICE_TIMEOUT, the time limit for a file run with python or graded from a notebook; None when unset."""
    text = os.environ.get(ENV, "").strip()
    return seconds(text, f"{ENV}={text!r}", f"set it like {ENV}=30") if text else None


def guess_exercise(source):
    """The exercise a practice file is, from its first line ('# Exercise 3: ...') or, failing
    that, from the gradients it assigns; None when it cannot be told."""
    m = re.match(r"\ufeff?\s*#\s*Exercise (\d)", source)
    if m and f"ex{m.group(1)}" in catalogue.EXERCISES:
        return f"ex{m.group(1)}"
    try:
        written = set().union(*(targets(s) for s in ast.parse(source).body))
    except SyntaxError:
        return None
    if written & (catalogue.ALL_GRADIENTS - set(catalogue.EXERCISES["ex4"]["graded"]) - {"dbngain", "dbnbias"}):
        return "ex1"  # dlogprobs, dcounts, dbndiff2 ... exist only in the long way round
    if written & {"dC", "dW1", "dW2", "dembcat", "demb", "dh"}:
        return "ex4"
    if written & {"dhprebn", "dbngain", "dbnbias"}:
        return "ex3"
    if "dlogits" in written:
        return "ex2"
    return None


def rows(source, exercise, path="practice.py", batch_size=32, n_hidden=None, seed=42, steps=0):
    """The graded rows of a source, run in this process (no protection from the file): for the
    tests and for tools that grade files they trust. ex4's training runs `steps` steps."""
    child = Child(job(source, path, exercise, batch_size, n_hidden, seed, None, steps, 0.1, None))
    with filled_empty():
        result = child.run()
        if child.trains():
            result.training = train(child)
    return judge.judge(exercise, result), result


def job(source, path, exercise, batch_size, n_hidden, seed, data, steps, lr, out, folder=None, limit=None):
    """The Job, built here alone: for a child with its temporary folder and time limit, or (folder None) for
    this process."""
    return Job(exercise=exercise, source=source, path=path, batch_size=batch_size, n_hidden=n_hidden, seed=seed,
               data=os.path.abspath(data) if data else None, steps=steps, lr=lr, out=out, folder=folder,
               cpu_seconds=cpu_seconds(limit) if limit else None)


def check(source, path, exercise=None, batch_size=32, n_hidden=None, seed=42, data=None, steps=2000, lr=0.1,
          out=None, timeout=None, at=None, show_output=True, graph=True, longer="--timeout SECONDS"):
    """Grade a practice file's text as `practice.py check` does: print what it printed, the table,
    the verdict (and for ex4 the training beside the project's); return the exit code, 0 when
    every gradient is right."""
    named = re.search(r"(?:^|[^\w])(ex\d)\.(?:py|ipynb)$", path)
    exercise = exercise or guess_exercise(source) or (named.group(1) if named else None)
    if exercise not in catalogue.EXERCISES:
        raise UsageError(f"cannot tell which exercise {path} is; pass --exercise ex1 (or ex2, ex3, ex4)")
    ex = catalogue.EXERCISES[exercise]
    at = at or (lambda line: f"line {line}")
    try:
        compile(source, path, "exec")
    except SyntaxError as e:
        print(f"{path} {at(e.lineno or 0)}: SyntaxError: {e.msg}; nothing can be graded until it parses")
        return 1
    out = os.path.abspath(out or os.path.join(ROOT, "plots"))
    n_hidden = n_hidden or ex["n_hidden"]
    if timeout is not None:
        timeout = seconds(timeout, f"--timeout {timeout}", "pass the seconds your file may run, like --timeout 30")
    limit = timeout or seconds_from_env() or time_limit(exercise, batch_size, n_hidden, steps,
                                                          cost_of(batch_size, n_hidden))
    print(f"grading {path}: {ex['title'].lower()}; batch {batch_size}, n_hidden {n_hidden}, seed {seed}; "
          f"time limit {limit:.3g} s\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="practice-") as tmp:
        work = job(source, path, exercise, batch_size, n_hidden, seed, data, steps, lr, out, tmp, limit)
        with open(os.path.join(tmp, "job.pkl"), "wb") as f:
            pickle.dump(work, f)
        printed = os.path.join(tmp, "printed")
        result = run_child(work, os.path.join(tmp, "job.pkl"), printed, limit, at, longer)
        with open(printed, encoding="utf-8", errors="backslashreplace") as f:
            output = f.read()
    if isinstance(result, Failure) and result.kind == Ending.USAGE:
        raise UsageError(result.message)
    if show_output and output.strip():
        print("your file printed:")
        print("\n".join("  | " + ln for ln in output.rstrip("\n").splitlines()[:200]))
        if output.count("\n") > 200:
            print(f"  | ... ({output.count(chr(10)) - 200} more lines)")
        print()
    if isinstance(result, Failure) and result.kind == Ending.CRASH:
        raise RuntimeError("the grader failed on this file:\n" + result.message)
    if isinstance(result, Failure):  # a time-out, or the file ended the child
        print(result.message)
        return 1
    with warnings.catch_warnings():  # a complex gradient: said once below, not warned by every comparison
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        rows = judge.judge(exercise, result, at)
        print("\n".join(report.table(rows)))
        for note in result.notes + complex_notes(result):
            print(note)
        for fig in result.figures:
            print(f"your figure: {fig}")
        if graph:
            path = report.graph(exercise, rows, result, out)
            print(f"your graph: {path}")
            show_inline(path)
    passed, verdict = report.verdict(exercise, rows)
    print(f"\n{verdict}")
    if passed:
        print("every gradient is right. Compare with the project's: python scripts/practice.py hint "
              f"{exercise} {ex['graded'][-1]} --answer")
    if result.training is not None:
        graded = [r for r in rows if r.name in ex["graded"]]
        passed = report_training(result.training, batch_size, n_hidden, seed, data, steps, lr, out, len(graded),
                                 sum(r.status == Status.OK for r in graded)) and passed
    return 0 if passed else 1


def complex_notes(result):
    """A gradient the file made complex, among the table's warnings: the grader compares its real part."""
    return [f"warning: ComplexWarning: {g} holds complex numbers; the grader compared their real parts (the imaginary "
            f"part was discarded)" for g, r in result.grads.items() if np.iscomplexobj(r.plain)]
