"""Running a learner's practice file: the set-up and grading cells it calls, and the grader's runs
of it, in a process of its own that the file cannot fool.

    globals().update(workspace("ex1"))   a practice file's set-up cell: the forward pass, every tensor by name
    grade("ex1", globals())              its grading cell: the table, in a notebook or an editor's cells
    check(source, path, "ex1")           what `practice.py check` and `python practice/ex1.py` do

`python practice/ex1.py` hands the file to check() at its set-up line (unless a debugger or an
interactive session runs it: then every line runs in place, and the grading cell grades).

check() runs the file in a child process (no keyboard, its own session, a time limit, a progress
mark before every statement) three times over: as written (what it prints, warns and exits is
kept), then 'isolated' (every gradient a line reads, once its lines are done, is replaced by the
right one, so each line is judged on its own), then isolated with random upstream gradients. A
line that rebinds or changes the forward's tensors is named once and undone. lib/grader.py judges
what the runs give.
"""
import ast
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from lib import grader
from lib.cli import Stopped, UsageError, write_json
from lib.data import ROOT
from lib.lecture import EPS, GRADIENTS, PARAMS, STEPS, backward, forward

STRICT = set(PARAMS) | {"Xb", "Yb", "n", "EPS", "np"} | set(grader.NOTEBOOK_NAMES)  # never rebound or changed
TIME_LIMIT = 5.0         # seconds for a file to run three times (a right one needs about 0.6); ex4 adds its training
STEP_SECONDS = 0.002     # ex4: a generous bound on one training step of a learner's backward (1 ms here)


# the workspace: what a practice file's lines may use

def prepare(exercise, batch_size=32, n_hidden=None, seed=42, data=None):
    """(values, answers, noise): the forward of one batch, the project's gradients, and the random
    upstream gradients of the third run (one standard normal array per gradient)."""
    from lib.model import exercise_batch
    _, params, Xb, Yb = exercise_batch(batch_size, n_hidden=n_hidden or grader.EXERCISES[exercise]["n_hidden"],
                                       seed=seed, data=data)
    values = forward(**params, Xb=Xb, Yb=Yb)
    answers = backward(**values)
    rng = np.random.default_rng([seed, 7])
    noise = {g: rng.standard_normal(np.shape(a)) for g, a in answers.items()}
    return values, answers, noise


def names(values, exercise, answers):
    """Every name a practice file's header lists: the forward's tensors, np, EPS, the notebook's
    sizes, `parameters`, `bnmean` (exercise 4's name for bnmeani), the given gradients and cmp."""
    n, H = values["hprebn"].shape
    ns = {**values, "np": np, "EPS": EPS, "batch_size": n, "block_size": values["Xb"].shape[1],
          "vocab_size": values["C"].shape[0], "n_embd": values["C"].shape[1], "n_hidden": H,
          "bnmean": values["bnmeani"], "parameters": [values[k] for k in PARAMS]}
    ns.update({g: answers[g].copy() for g in grader.EXERCISES[exercise]["given_grads"]})

    def cmp(s, dt, t=None):
        """The lecture's cmp: your gradient of tensor s against the project's (exact, approx, maxdiff)."""
        ref = answers.get("d" + s.removeprefix("d"))
        if ref is None:
            print(f"{s:15s} | no such tensor in the forward")
            return
        dt = np.asarray(dt, dtype=np.float64)
        same = dt.shape == ref.shape
        print(f"{s:15s} | exact: {str(same and bool(np.array_equal(dt, ref))):5s} | approx: "
              f"{str(same and bool(np.allclose(dt, ref))):5s} | maxdiff: "
              f"{float(np.abs(dt - ref).max()) if same else 'shape ' + str(dt.shape) + ' != ' + str(ref.shape)}")
    ns["cmp"] = cmp
    return ns


_session = {}  # the set-up cell's place in an interactive session's history


def interactive():
    ipython = sys.modules.get("IPython")
    return bool(ipython and ipython.get_ipython() is not None) or bool(sys.flags.interactive)


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
                                             batch_size=batch_size, n_hidden=n_hidden, seed=seed)))
    values, answers, _ = prepare(exercise, batch_size, n_hidden, seed)
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        _session.update(start=len(shell.user_ns.get("In", [])), exercise=exercise,
                        shape=dict(batch_size=batch_size, n_hidden=n_hidden, seed=seed))
    return names(values, exercise, answers)


def grade(exercise, namespace):
    """The grading cell: the file (a script under a debugger, Spyder) or the cells run since the
    set-up cell (a notebook, VS Code's interactive window), graded as `practice.py check` grades."""
    path = namespace.get("__file__")
    shape = _session.get("shape", {}) if _session.get("exercise") == exercise else {}
    if path and os.path.isfile(path):
        from lib.data import read_text
        code = check(read_text(path, "a practice file", ""), path, exercise, show_output=False, **shape)
    else:
        source, at = session_cells()
        code = check(source, "<your cells>", exercise, show_output=False, at=at, **shape)
    if not interactive():
        raise SystemExit(code)
    return None


def session_cells():
    """The cells run in this IPython session since the set-up cell, as one source, and where each
    of its lines came from ('cell [5] line 2')."""
    shell = sys.modules["IPython"].get_ipython()
    history = shell.user_ns.get("In", [])
    start = _session.get("start", 1)
    lines, origin = [], []
    for k in range(start, len(history) - 1):  # the last one is this grading cell
        for j, line in enumerate(history[k].splitlines(), 1):
            lines.append("pass" if "get_ipython()" in line else line)  # a magic: not the learner's numpy
            origin.append((k, j))
    return "\n".join(lines) + "\n", lambda line: "cell [%d] line %d" % origin[line - 1] if 0 < line <= len(origin) \
        else f"line {line}"


# the child: the file's runs

class Exit(BaseException):
    """os._exit called by the learner's file: ends its statement, not the grader."""


class Statement:
    def __init__(self, node, path, lines):
        self.line, self.end = node.lineno, node.end_lineno
        self.node = node
        self.code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        self.writes = grader.targets(node)
        self.reads = grader.reads([node])
        self.text = "\n".join(lines[self.line - 1:self.end])
        calls = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
        lib = isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lib"
        self.kind = "setup" if lib or calls & {"workspace", "grade"} else "code"


def snapshot(x):
    return x.copy() if isinstance(x, np.ndarray) else list(x) if isinstance(x, list) else x


def same(x, y):
    if isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and x.shape == y.shape and
                bool(np.allclose(x, y, rtol=1e-12, atol=1e-12 * float(np.abs(y).max(initial=0)))))
    try:
        return bool(x == y) if not isinstance(x, np.ndarray) else False
    except Exception:
        return False


class Child:
    """The three runs of one file, and exercise 4's training, in the child process."""

    def __init__(self, job):
        self.job = job
        self.ex = grader.EXERCISES[job["exercise"]]
        self.path = job["path"]
        self.values, self.answers, self.noise = prepare(job["exercise"], job["batch_size"], job["n_hidden"],
                                                        job["seed"], job["data"])
        self.base = names(self.values, job["exercise"], self.answers)
        self.cmp = self.base.pop("cmp")  # a function: shared, never copied
        lines = job["source"].splitlines()
        self.stmts = [Statement(node, self.path, lines) for node in ast.parse(job["source"], self.path).body]
        self.soft = (set(STEPS) | {"bnmean"}) - STRICT
        self.strict = STRICT | set(self.ex["given_grads"])
        self.graded = list(self.ex["graded"])
        self.stdout, self.stderr, self.cwd = sys.stdout, sys.stderr, os.getcwd()
        self.progress = os.open(job["progress"], os.O_WRONLY | os.O_CREAT, 0o644) if job.get("progress") else None

    def mark(self, text):
        if self.progress is not None:
            os.pwrite(self.progress, text.encode().ljust(64), 0)

    def fresh(self):
        ns = {k: snapshot(v) for k, v in self.base.items()}
        ns["parameters"] = [ns[k] for k in PARAMS]
        ns["cmp"] = self.cmp
        return ns

    def execute(self, st, ns):
        """Run one statement; None, or (kind, line, message) for an exit or an error."""
        old_err = np.geterr()
        try:
            exec(st.code, ns)
            return None
        except (SystemExit, Exit) as e:
            what = ("os._exit" if isinstance(e, Exit) else "SystemExit") + f"({e.args[0] if e.args else ''})"
            return ("exit", self.line_of(e, st), what)
        except BaseException as e:  # the learner's error (KeyboardInterrupt too: the user's Ctrl-C never gets here)
            return ("error", self.line_of(e, st), f"{type(e).__name__}: {e}".rstrip(": "))
        finally:
            sys.stdout, sys.stderr = self.stdout, self.stderr
            np.seterr(**old_err)
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)

    def line_of(self, e, st):
        tb, line = e.__traceback__, st.line
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.path:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line

    def guard(self, ns, originals, st=None, events=None):
        """Undo what a statement did to the forward's names; with events, say so. A forward
        intermediate the learner rebinds (counts = np.exp(logits)) is theirs from then on."""
        for name, (obj, copy) in list(originals.items()):
            cur = ns.get(name, KeyError)
            if cur is KeyError:
                kind = "deletes"
            elif cur is obj:
                if not isinstance(copy, np.ndarray) or np.array_equal(cur, copy):
                    continue
                kind = "changes"
            elif name in self.soft:
                if events is not None and not same(cur, copy):
                    events.append(dict(kind="rebinds", name=name, line=st.line, alias=[]))
                del originals[name]
                continue
            elif same(cur, copy) or (name == "np" and getattr(cur, "__name__", "") == "numpy"):
                originals[name] = (cur, copy)  # the same value again (import numpy as np): harmless
                continue
            else:
                kind = "rebinds"
            if events is not None:
                events.append(dict(kind=kind, name=name, line=st.line,
                                   alias=[h for h in st.writes if ns.get(h) is obj and h != name]))
            ns[name] = snapshot(copy)
            originals[name] = (ns[name], copy)
            if name in PARAMS:
                ns["parameters"] = [ns[k] for k in PARAMS]

    def originals(self, ns):
        keep = self.strict | self.soft
        return {k: (ns[k], snapshot(ns[k])) for k in keep if k in ns and k != "parameters"}

    def plain(self):
        """The file as written: what it prints, warns, exits; every gradient's final value; which
        statements write which gradient (also the ones no syntax shows: a function's global)."""
        ns = self.fresh()
        originals, events, errors, exits = self.originals(ns), [], {}, []
        tracked = set(self.graded) | {g for st in self.stmts for g in st.writes if g in grader.ALL_GRADIENTS}
        prev = {g: (ns.get(g), snapshot(ns.get(g))) for g in tracked}
        self.dynamic = {}
        self.aliases = []
        recorded = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for st in self.stmts:
                if st.kind != "code":
                    continue
                self.mark(f"line {st.line}")
                result = self.execute(st, ns)
                if result and result[0] == "exit":
                    exits.append(result[1:])
                    st.kind = "exit"
                elif result:
                    errors[st.line] = result[1:]
                self.guard(ns, originals, st, events)
                for g in tracked:
                    cur = ns.get(g)
                    obj, copy = prev[g]
                    changed = cur is not obj or (isinstance(cur, np.ndarray) and not np.array_equal(cur, copy))
                    if changed and g not in st.writes:
                        culprit = [h for h in st.writes if h in tracked and ns.get(h) is cur]
                        if culprit and cur is obj:
                            self.aliases.append((culprit[0], g, self.assignment(culprit[0], g, st)))
                        else:
                            self.dynamic.setdefault(g, []).append(st)
                    prev[g] = (cur, snapshot(cur))
            recorded = [(w.category.__name__, str(w.message), w.lineno if w.filename == self.path else None)
                        for w in caught]
        self.figures = self.save_figures()
        return ns, events, errors, exits, recorded

    def assignment(self, culprit, victim, before):
        """The line of the last `culprit = victim` (no copy) above the statement `before`."""
        found = before.line
        for st in self.stmts:
            if st is before:
                break
            node = st.node
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == victim
                    and any(isinstance(t, ast.Name) and t.id == culprit for t in node.targets)):
                found = st.line
        return found

    def save_figures(self):
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None or not self.job.get("out"):
            return []
        saved = []
        for k, num in enumerate(plt.get_fignums(), 1):
            path = os.path.join(self.job["out"], f"practice_{self.job['exercise']}_figure{k}.png")
            try:
                plt.figure(num).savefig(path, dpi=100)
                saved.append(path)
            except Exception:  # a figure the learner left half made: not ours to fix
                pass
        plt.close("all")
        return saved

    def isolated(self, fill, owners, keep=None):
        """Every statement in order, each gradient it reads (directly, or in a function of the file
        it calls) replaced by fill's, so that each line meets right inputs. keep: {g: value} to
        hand on instead of fill's. Returns ({g: its value after its last line}, {g: (line, error)})."""
        ns = self.fresh()
        for g in self.ex["given_grads"]:
            ns[g] = fill[g].copy()
        originals = self.originals(ns)
        last = {}
        for g, sts in owners.items():
            if sts:
                last.setdefault(max(sts, key=lambda s: s.line), []).append(g)
        values, errors = {}, {}

        def in_progress(g, st):  # g's next line after st adds to the value it has now (+=, d[...] =, d = d + ...)
            nxt = next((o for o in owners.get(g, []) if o.line > st.line), None)
            return nxt is not None and not self.fresh_assignment(nxt, g) and any(o.line < st.line for o in owners[g])
        sys.stdout = open(os.devnull, "w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for st in self.stmts:
                if st.kind != "code":
                    continue
                for g in (self.reads_of(st) & fill.keys()) - st.writes - set(self.ex["given_grads"]):
                    if not in_progress(g, st):
                        ns[g] = snapshot(keep[g]) if keep and g in keep else fill[g].copy()
                result = self.execute(st, ns)
                sys.stdout = open(os.devnull, "w") if sys.stdout is self.stdout else sys.stdout
                if result and result[0] == "error":
                    for g in (g for g, sts in owners.items() if st in sts):
                        errors.setdefault(g, result[1:])
                self.guard(ns, originals)
                for g in last.get(st, []):
                    values[g] = snapshot(ns.get(g))
        sys.stdout = self.stdout
        return values, errors

    def reads_of(self, st):
        """The names a statement reads, with those read inside the file's functions it calls."""
        if not hasattr(st, "all_reads"):
            found, todo = set(st.reads), list(st.reads)
            defs = {d.node.name: d for d in self.stmts if isinstance(d.node, (ast.FunctionDef, ast.Lambda))
                    and d.line < st.line}
            while todo:
                name = todo.pop()
                if name in defs and defs[name] is not st:
                    new = defs[name].reads - found
                    found |= new
                    todo.extend(new)
            st.all_reads = found
        return st.all_reads

    def run(self):
        ns, events, errors, exits, caught = self.plain()
        owners = {g: sorted({st for st in self.stmts if g in st.writes and st.kind != "setup"} |
                            set(self.dynamic.get(g, [])), key=lambda s: s.line)
                  for g in set(self.graded) | {g for st in self.stmts for g in st.writes if g in grader.ALL_GRADIENTS}}
        line_rows, notes = [], []
        updates = self.updates(events, owners)
        for e in events:
            if e["name"] in PARAMS and self.job["exercise"] == "ex4" or e["kind"] == "rebinds" and e["name"] in self.soft:
                continue
            line_rows.append(dict(line=e["line"], why=self.event_why(e), writes=e["name"]))
        made_by_failed = set()
        for st in self.stmts:
            if st.kind == "code" and st.line in errors and not any(st in sts for sts in owners.values()):
                line, err = errors[st.line]
                missing = err.split("'")[1] if err.startswith("NameError") and "'" in err else None
                if missing in made_by_failed or (st.reads & made_by_failed and not missing):
                    made_by_failed |= st.writes
                    continue
                made_by_failed |= st.writes
                hint = grader.raise_hint(err + "\n" + st.text)
                line_rows.append(dict(line=line, why=f"raises {err}" + (f"; {hint}" if hint else ""),
                                      writes=st.writes))
        lines = self.job["source"].splitlines()
        for line, what in exits:
            line_rows.append(dict(line=line, why=f"ends the run ({lines[line - 1].strip()}: {what}): a practice file "
                                                 f"runs to its end, and the grader ran the rest of it; take it out",
                                  writes=set()))
        line_rows.sort(key=lambda r: r["line"])
        if updates:
            at = sorted({st.line for st in updates})
            changed = sorted({e["name"] for e in events if e["name"] in PARAMS}, key=PARAMS.index)
            notes.append(f"line{'s' if len(at) > 1 else ''} {', '.join(map(str, at))} "
                         + (f"change{'s' if len(at) == 1 else ''} {', '.join(changed)}" if changed else
                            f"update{'s' if len(at) == 1 else ''} the parameters") +
                         f": not run; the grader grades your backward, and its training starts from the project's "
                         f"parameters and updates them itself (lr {self.job['lr']})")
        iso, iso_err = self.isolated(self.answers, owners)
        rnd, _ = self.isolated(self.noise, owners)
        grads = {}
        for g in self.graded:
            own = owners.get(g, [])
            upstream, helpers = self.upstream(g, own)
            failed = {row["line"] for row in line_rows}
            r = dict(lines=[st.line for st in own], plain=snapshot(ns.get(g)), iso=iso.get(g), rnd=rnd.get(g),
                     source="\n".join(st.text for st in own), reads=upstream,
                     needs=sorted({st.line for st in helpers if st.line in failed or errors.get(st.line, (0,))[0]
                                   in failed}))
            if g in iso_err:
                line, err = iso_err[g]
                missing = err.split("'")[1] if err.startswith("NameError") and "'" in err else None
                needs = [row["line"] for row in line_rows if missing and missing in (row["writes"] or ())]
                r["error"] = (line, err, needs)
            plain_err = [errors[st.line] for st in own if st.line in errors]
            if plain_err:
                r["plain_error"] = plain_err[0]
            r["rebound"] = [(e["name"], e["line"]) for e in events if e["kind"] == "rebinds" and e["name"] in
                            self.soft and e["name"] in grader.reads([st.node for st in own])]
            grads[g] = r
        for culprit, victim, line in self.aliases:
            if culprit in grads:
                grads[culprit]["alias"] = victim
            if victim in grads:
                grads[victim]["victim_of"] = (culprit, line)
        self.random_references(grads, owners)
        self.harm(grads, owners, iso, iso_err)
        training = self.train() if self.job["exercise"] == "ex4" and self.job["steps"] else None
        summary = {}
        for kind, message, line in caught:
            key = (kind, message)
            summary.setdefault(key, [0, line])[0] += 1
        warned = [f"warning: {kind} at line {line}: {message} ({count} time{'s' if count > 1 else ''})"
                  if line else f"warning: {kind}: {message}" for (kind, message), (count, line) in summary.items()]
        return dict(grads=grads, line_rows=line_rows, notes=notes + warned, figures=self.figures, training=training,
                    values=self.values, answers=self.answers, noise=self.noise)

    def event_why(self, e):
        name, kind = e["name"], e["kind"]
        what = ("the batch size the forward used" if name in ("n", "batch_size") else
                "numpy" if name == "np" else "1e-5, added to the batch variance" if name == "EPS" else
                "a parameter" if name in PARAMS else "the forward's tensor")
        if kind == "changes" and e["alias"]:
            h = e["alias"][0]
            return (f"changes {name} in place: {h} = {name} made no copy, so changing {h} changed {name} too; "
                    f"write {h} = {name}.copy()")
        fix = {"deletes": "the lines after it need it", "rebinds": "give your own value another name",
               "changes": "work on a copy (.copy())"}[kind]
        return f"{kind} {name} ({what}): {fix}; the grader graded every other line against the untouched forward"

    def updates(self, events, owners):
        """ex4: the statements that update the parameters (they changed one), and the helper lines
        that only they read (lr, a list of grads). They are not run again."""
        if self.job["exercise"] != "ex4":
            return []
        lines = {e["line"] for e in events if e["name"] in PARAMS}
        found = [st for st in self.stmts if st.kind == "code" and (st.line in lines or st.writes & set(PARAMS) or
                 ("parameters" in st.reads and isinstance(st.node, ast.For)) or
                 any(isinstance(t, ast.Attribute) and t.attr == "data" for node in ast.walk(st.node)
                     if isinstance(node, ast.AugAssign) for t in [node.target]))]
        owned = {st for sts in owners.values() for st in sts}
        changed = True
        while changed:
            changed = False
            later = [st for st in self.stmts if st.kind == "code" and st not in found]
            for st in later:
                if st in owned or not st.writes:
                    continue
                readers = [o for o in self.stmts if o is not st and o.kind == "code" and st.writes & o.reads]
                if readers and all(o in found for o in readers):
                    found.append(st)
                    changed = True
        for st in found:
            st.kind = "update"
        return found

    @staticmethod
    def fresh_assignment(st, g):
        """Does the statement give g a new value, not built on its old one (g = ..., not reading g)?"""
        return isinstance(st.node, ast.Assign) and g not in st.reads and any(
            isinstance(t, ast.Name) and t.id == g or isinstance(t, ast.Tuple) and any(
                isinstance(e, ast.Name) and e.id == g for e in t.elts) for t in st.node.targets)

    def upstream(self, g, own):
        """(the gradients g's lines read, directly or through the helper lines and functions above
        them, from its last fresh assignment on (what came before it is overwritten); those helper
        lines)"""
        if not own:
            return set(), []
        full = [k for k, st in enumerate(own) if self.fresh_assignment(st, g)]
        own = own[full[-1]:] if full else own
        names, seen, helpers = set().union(*(self.reads_of(st) for st in own)), set(), []
        last = max(st.line for st in own)
        while names - seen:
            name = (names - seen).pop()
            seen.add(name)
            for st in self.stmts:
                if st.line < last and st.kind == "code" and name in st.writes and name not in grader.ALL_GRADIENTS:
                    names |= self.reads_of(st)
                    helpers.append(st)
        return (names & grader.ALL_GRADIENTS) - {g}, helpers

    def random_references(self, grads, owners):
        """For each gradient, the project's chain run with the random upstream gradients that its
        lines read: what a right line gives with them. None where a line reads a gradient that the
        project's line does not depend on (dbngain in exercise 4's dhprebn): no such comparison."""
        chain = [s for s in grader.backward_source()[1] if not isinstance(s, ast.Return)]
        codes = [(compile(ast.Module(body=[s], type_ignores=[]), "<backward>", "exec"), grader.targets(s))
                 for s in chain]
        last = {}
        for k, (_, writes) in enumerate(codes):
            for w in writes:
                last[w] = k
        for g, r in grads.items():
            wanted = r["reads"] | (set(self.ex["given_grads"]) & r["reads"])
            if r["rnd"] is None or not wanted <= ANCESTORS.get(g, set()):
                continue
            ns = {**self.values, "np": np, "EPS": EPS}
            for k, (code, writes) in enumerate(codes):
                exec(code, ns)
                for u in wanted:
                    if last.get(u) == k:
                        ns[u] = self.noise[u].copy()
            r["rnd_ref"] = np.asarray(ns[g])
            r["rnd_ctx"] = {u: ns[u] for u in GRADIENTS if u in ns}

    def harm(self, grads, owners, iso, iso_err):
        """A gradient whose numbers are right in a shape that is not its tensor's: do the lines
        that read it still come out right with it?"""
        for g, r in grads.items():
            x = r["iso"]
            if not grader.broadcast_equal(x, self.answers[g]):
                continue
            readers = [u for u in self.graded if u != g and any(g in st.reads for st in owners.get(u, []))]
            if not readers:
                continue
            values, errors = self.isolated(self.answers, owners, keep={g: x})
            bad = [u for u in readers if (u in errors and u not in iso_err) or not (
                   grader.close(values.get(u), iso.get(u)) or grader.broadcast_equal(values.get(u), iso.get(u)))]
            if bad:
                r["harmless"], r["harm"] = False, bad[0]

    def train(self):
        """Exercise 4's payoff: the learner's backward trains the lecture's MLP from the project's
        parameters on the project's batches; (losses, why it stopped)."""
        from lib.data import load_splits, minibatches
        from lib.model import init_params
        job = self.job
        itos, _, ((Xtr, Ytr), _, _) = load_splits(3, job["data"])
        H = job["n_hidden"] or self.ex["n_hidden"]
        params = init_params(len(itos), 10, H, 3, np.random.default_rng(job["seed"]))
        batches = minibatches(Xtr, Ytr, 0, job["batch_size"], job["seed"])
        run = [st for st in self.stmts if st.kind == "code"]
        losses, stopped = [], ""
        sys.stdout = open(os.devnull, "w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(job["steps"]):
                self.mark(f"training step {i + 1}")
                Xb, Yb = next(batches)
                values = forward(**{k: v.copy() for k, v in params.items()}, Xb=Xb, Yb=Yb)
                ns = names(values, "ex4", {})
                for st in run:
                    result = self.execute(st, ns)
                    sys.stdout = open(os.devnull, "w") if sys.stdout is self.stdout else sys.stdout
                    if result:
                        stopped = f"at training step {i + 1}, line {result[1]} " + (
                            f"raises {result[2]}" if result[0] == "error" else f"exits ({result[2]})")
                        break
                if stopped:
                    break
                grads = {}
                for k, p in params.items():
                    d = ns.get("d" + k)
                    d = np.asarray(d, dtype=np.float64) if isinstance(d, (np.ndarray, list, float, int)) else None
                    if d is not None and d.shape != p.shape and grader.squeezed(d.shape) == grader.squeezed(p.shape):
                        d = d.reshape(p.shape)  # (H,) for (1, H): right is right
                    if d is None or d.shape != p.shape:
                        stopped = (f"at training step {i + 1}: d{k} is {'missing' if d is None else d.shape}, where "
                                   f"{p.shape} is due")
                        break
                    grads[k] = d
                if stopped:
                    break
                if not np.isfinite(values["loss"]):
                    stopped = f"at training step {i + 1}: the loss became {values['loss']}"
                    break
                losses.append(float(values["loss"]))
                for k in params:
                    params[k] -= job["lr"] * grads[k]
        sys.stdout = self.stdout
        return dict(losses=losses, stopped=stopped)


def _ancestors():
    """For each gradient, every gradient the project's backward computes it from."""
    deps = {}
    for s in grader.backward_source()[1]:
        for t in grader.targets(s) & grader.ALL_GRADIENTS:
            deps.setdefault(t, set()).update((grader.reads([s]) & grader.ALL_GRADIENTS) - {t})
    out = {}
    for g in deps:
        seen, todo = set(), list(deps[g])
        while todo:
            u = todo.pop()
            if u not in seen:
                seen.add(u)
                todo.extend(deps.get(u, ()))
        out[g] = seen
    return out


ANCESTORS = _ancestors()


def child_main(job_path):
    """The child process: run the job, write the result, leave at once (threads the file left
    running do not hold it up)."""
    exit_now = os._exit
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    import faulthandler
    dump = open(job["dump"], "w")
    faulthandler.register(signal.SIGUSR1, file=dump, all_threads=False)

    def learner_exit(code=0):
        raise Exit(code)
    os._exit = learner_exit
    try:
        result = Child(job).run()
    except UsageError as e:  # the batch cannot be made (a word list too short for it): the parent says so
        result = dict(usage=str(e))
    except BaseException as e:  # the grader's own failure: the parent says so
        import traceback
        result = dict(crash="".join(traceback.format_exception(e)))
    sys.stdout.flush()
    with open(job["result"] + ".part", "wb") as f:
        pickle.dump(result, f)
    os.replace(job["result"] + ".part", job["result"])
    exit_now(0)


# the parent: check

def rows(source, exercise, path="practice.py", batch_size=32, n_hidden=None, seed=42, steps=0):
    """The graded rows of a source, run in this process (no protection from the file): for the
    tests and for tools that grade files they trust. ex4's training runs `steps` steps."""
    job = dict(exercise=exercise, source=source, path=path, batch_size=batch_size, n_hidden=n_hidden, seed=seed,
               data=None, steps=steps, lr=0.1, out=None)
    result = Child(job).run()
    return grader.judge(exercise, result, result["values"], result["answers"], result["noise"]), result


def check(source, path, exercise=None, batch_size=32, n_hidden=None, seed=42, data=None, steps=2000, lr=0.1,
          out=None, timeout=None, at=None, show_output=True):
    """Grade a practice file's text as `practice.py check` does: print what it printed, the table,
    the verdict (and for ex4 the training beside the project's); return the exit code, 0 when
    every gradient is right."""
    named = re.search(r"(?:^|[^\w])(ex\d)\.py$", path)
    exercise = exercise or grader.guess_exercise(source) or (named.group(1) if named else None)
    if exercise not in grader.EXERCISES:
        raise UsageError(f"cannot tell which exercise {path} is; pass --exercise ex1 (or ex2, ex3, ex4)")
    ex = grader.EXERCISES[exercise]
    at = at or (lambda line: f"line {line}")
    try:
        compile(source, path, "exec")
    except SyntaxError as e:
        print(f"{path} {at(e.lineno or 0)}: SyntaxError: {e.msg}; nothing can be graded until it parses")
        return 1
    out = os.path.abspath(out or os.path.join(ROOT, "plots"))
    limit = timeout or TIME_LIMIT + (STEP_SECONDS * steps if exercise == "ex4" else 0)
    with tempfile.TemporaryDirectory(prefix="practice-") as tmp:
        job = dict(exercise=exercise, source=source, path=path, batch_size=batch_size, n_hidden=n_hidden, seed=seed,
                   data=os.path.abspath(data) if data else None, steps=steps, lr=lr, out=out,
                   result=os.path.join(tmp, "result.pkl"), progress=os.path.join(tmp, "progress"),
                   dump=os.path.join(tmp, "dump"))
        with open(os.path.join(tmp, "job.pkl"), "wb") as f:
            pickle.dump(job, f)
        printed = os.path.join(tmp, "printed")
        result = run_child(job, os.path.join(tmp, "job.pkl"), printed, limit, at)
        with open(printed, encoding="utf-8", errors="backslashreplace") as f:
            output = f.read()
    if "usage" in result:
        raise UsageError(result["usage"])
    n_hidden = n_hidden or ex["n_hidden"]
    print(f"grading {path}: {ex['title'].lower()}; batch {batch_size}, n_hidden {n_hidden}, seed {seed}\n")
    if show_output and output.strip():
        print("your file printed:")
        print("\n".join("  | " + ln for ln in output.rstrip("\n").splitlines()[:200]))
        if output.count("\n") > 200:
            print(f"  | ... ({output.count(chr(10)) - 200} more lines)")
        print()
    if result.get("timeout") or result.get("died"):
        print(result.get("timeout") or result.get("died"))
        return 1
    if "crash" in result:
        raise RuntimeError("the grader failed on this file:\n" + result["crash"])
    run = dict(result, at=at)
    rows = grader.judge(exercise, run, result["values"], result["answers"], result["noise"])
    print("\n".join(grader.table(rows)))
    for note in result["notes"]:
        print(note)
    for fig in result["figures"]:
        print(f"your figure: {fig}")
    graded = [r for r in rows if r["name"] in ex["graded"]]
    counts = {s: [r["name"] for r in rows if r["status"] == s] for s in ("ok", "wrong", "missing", "inherits")}
    verdict = f"{exercise}: {len(counts['ok'])} of {len(graded)} ok" + "".join(
        f"; {s}: {', '.join(names)}" for s, names in counts.items() if s != "ok" and names)
    print(f"\n{verdict}")
    passed = len(counts["ok"]) == len(graded) and not counts["wrong"]
    if passed:
        print("every gradient is right. Compare with the project's: python scripts/practice.py hint "
              f"{exercise} {ex['graded'][-1]} --answer")
    if exercise == "ex4" and result["training"] is not None:
        passed = report_training(result["training"], batch_size, n_hidden, seed, data, steps, lr, out,
                                 len(graded), len(counts["ok"])) and passed
    return 0 if passed else 1


def run_child(job, job_path, printed, limit, at):
    """Start the child, wait for it within the limit; on a time-out, a Ctrl-C or a death, say where
    the file was. The result dict, with 'timeout' or 'died' set when there is none."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               LEARNER_CHILD="1")
    code = "import sys; from lib.learner import child_main; child_main(sys.argv[1])"
    with open(printed, "w") as sink:
        child = subprocess.Popen([sys.executable, "-c", code, job_path], stdin=subprocess.DEVNULL, stdout=sink,
                                 stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            child.wait(limit)
        except subprocess.TimeoutExpired:
            where = locate(child, job, at)
            return dict(timeout=f"stopped: your file ran past the time limit of {limit:g} s, {where}. A loop that "
                                f"never ends? (--timeout SECONDS gives it longer)")
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (lib.cli.run raises Stopped, code 143)
            code = getattr(e, "code", 130)
            where = locate(child, job, at)
            raise Stopped(f"{'terminated' if code == 143 else 'interrupted'}: the grader was running your file, "
                          f"{where}", code)
    if not os.path.exists(job["result"]):
        where = progress(job, at)
        return dict(died=f"stopped: your file ended the grader's run ({describe_status(child.returncode)}) "
                         f"{where}; a practice file must not end its own process")
    with open(job["result"], "rb") as f:
        return pickle.load(f)


def describe_status(code):
    if code is not None and code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def locate(child, job, at):
    """Where the child is: its traceback (faulthandler, on SIGUSR1) at the innermost line of the
    learner's file, else the progress mark. The child is then ended."""
    where = ""
    try:
        os.kill(child.pid, signal.SIGUSR1)
        for _ in range(20):
            time.sleep(0.05)
            with open(job["dump"]) as f:
                dump = f.read()
            if "File" in dump:
                break
        lines = [ln for ln in dump.splitlines() if f'File "{job["path"]}"' in ln]
        if lines:
            line = int(lines[0].split("line ")[1].split()[0])
            text = job["source"].splitlines()[line - 1].strip()
            where = f"at {at(line)}: {text}"
    except (OSError, ValueError, IndexError):
        pass
    stage = progress(job, at, raw=True)
    if stage.startswith("training"):
        where = f"{stage}" + (f", {where}" if where else "")
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
    child.wait()
    return where or progress(job, at)


def progress(job, at, raw=False):
    try:
        with open(job["progress"]) as f:
            mark = f.read().strip()
    except OSError:
        mark = ""
    if raw:
        return mark
    if mark.startswith("line "):
        line = int(mark.split()[1])
        return f"at {at(line)}: {job['source'].splitlines()[line - 1].strip()}"
    return f"during {mark}" if mark else "before its first line"


def report_training(training, batch_size, n_hidden, seed, data, steps, lr, out, rows, ok):
    """Exercise 4: the project's run on the same batches from the same parameters, both curves
    plotted; True when the learner's run went the whole way."""
    from lib.data import load_splits, minibatches
    from lib.model import init_params, mlp_backward, mlp_forward
    from lib.plotting import binned, plt, save
    import json
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


# a new practice file

def template(exercise, values):
    """The text of a new practice file: a header, a set-up cell, the learner's cells in the
    lecture's groups (blanks to fill in), a grading cell. values: the forward, for the sizes."""
    ex, sym = grader.EXERCISES[exercise], grader.shapes()
    n, H = values["hprebn"].shape
    V, E = values["C"].shape
    T = values["Xb"].shape[1]
    given = [f"#   {k:<15} {sym[k]:<10} parameter" for k in PARAMS]
    given += ["#   Xb              (n, T)     the batch's contexts (integers)", "#   Yb              (n,)       the targets",
              "#   n               an int     the batch size (also batch_size; block_size, vocab_size, n_embd and",
              "#                              n_hidden are T, V, E and H; parameters lists C ... b2)",
              "#   EPS             1e-5       added to the batch variance"]
    if exercise in ("ex3", "ex4"):
        given += ["#   bnmean          (1, H)     the batch mean, exercise 4's name for bnmeani"]
    given += [f"#   {g:<15} {sym[g[1:]]:<10} given: the gradient arriving from above" for g in ex["given_grads"]]
    sections = [(title, [g for g in gs if g in ex["graded"]]) for title, gs in grader.backward_sections()]
    merged = []
    for title, gs in sections:
        if title == "embedding" and merged and gs:
            merged[-1] = (merged[-1][0] + " and the embedding", merged[-1][1] + gs)
        elif gs:
            merged.append((title, gs))
    cells = []
    for title, gs in merged:
        cells += ["", f"# %% {title}", *[f"{g} = None  # {sym[g[1:]]}" for g in gs]]
    return "\n".join([
        f"# {ex['title']}.",
        "#",
        *[f"# {ln}" for ln in ex["task"].splitlines()],
        "#",
        f"# Run it:  python practice/{exercise}.py   prints what your lines print, then grades them (exit 0 when all",
        "#          are right). Or run it cell by cell (# %% marks the cells) in VS Code, Spyder, PyCharm or Jupyter",
        "#          (jupytext): every tensor stays in the workspace to print, plot or step through in a debugger.",
        f"# A hint:  python scripts/practice.py hint {exercise} {ex['graded'][0]}   (--answer: the project's line)",
        "",
        "# %% set-up: the lecture's forward pass on one batch (run this cell first)",
        "import os, sys; sys.path[:0] = [p for p in (os.path.abspath('.'), os.path.abspath('..'))"
        "  # lib/, from practice/ or the repository",
        "                                if os.path.isfile(os.path.join(p, 'lib', 'learner.py'))]",
        "import numpy as np",
        "from lib.learner import grade, workspace",
        f'globals().update(workspace("{exercise}"))  # the tensors of lib/lecture.py\'s forward, by name (below)',
        "",
        f"# These now exist as float64 numpy arrays; here n = {n} examples, T = {T} characters of context,",
        f"# E = {E}, H = {H}, V = {V}:",
        *given,
        "# and every intermediate of the forward pass (lib/lecture.py), one plain statement each,",
        "# with its shape at the end of the line:",
        "#",
        *[f"#   {ln}" if ln.strip() else "#" for ln in grader.forward_lines()],
        "#",
        '# cmp("logprobs", dlogprobs) prints how close a gradient is to the project\'s, as the lecture\'s cmp does.',
        *cells,
        "",
        "# %% grade: every gradient above against the project's backward",
        f'grade("{exercise}", globals())',
        "",
    ])
