"""The child's side: a learner's file as statements, run in the grader's child process three times
over (as written; 'isolated', every graded gradient a line reads replaced by the right one once its
own lines are done; isolated with random upstream gradients), then the repair search for each line
that is wrong, and exercise 4's training (lib/grader/ex4.py). A line that rebinds or changes the
forward's tensors is named once and undone. lib/grader/judge.py judges what the runs give.

Only what the exercise grades or hands in is ever replaced: a learner's own helper gradient
(exercise 2's dlogprobs, exercise 4's dbnvar) is the learner's, and is run as written."""
import ast
import contextlib
import difflib
import functools
import os
import sys
import warnings

import numpy as np

from lib import source
from lib.cli import UsageError
from lib.grader import catalogue, ex4, mistakes, repair
from lib.grader.edits import fresh_assignment
from lib.grader.result import SEARCHING, GradientRun, LineRow, RunResult
from lib.grader.workspace import names, prepare
from lib.lecture import EPS, GRADIENTS, PARAMS, STEPS

LETTERS = ("V", "T", "E", "H")  # the header's size letters: a learner's own E = np.exp(...) is theirs
STRICT = set(PARAMS) | {"Xb", "Yb", "n", "EPS", "np"} | set(catalogue.NOTEBOOK_NAMES)  # never rebound or changed


class Exit(BaseException):
    """os._exit called by the learner's file: ends its statement, not the grader."""


class Statement:
    """One top-level statement of the file: its code, what it writes and reads, and whether it is the
    practice file's own set-up or grading cell ('setup', never run by the grader) or the learner's ('code')."""

    def __init__(self, node, path, lines, index):
        self.index = index  # its place in the file: statements on one line (a; b; c) are ordered by it
        self.line, self.end = node.lineno, node.end_lineno
        self.node = node
        self.code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        self.writes = source.targets(node)
        self.reads = source.reads([node])
        self.text = "\n".join(lines[self.line - 1:self.end])
        calls = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
        lib = any(isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "lib" for n in ast.walk(node))
        self.kind = "setup" if lib or calls & {"workspace", "grade"} else "code"
        self.cell = ""  # "set-up" for the practice file's set-up cell


@contextlib.contextmanager
def filled_empty():
    """np.empty and np.empty_like hand out whatever memory held, so a file that reads an entry it never wrote could
    get another table on each run. While the grader runs a file they hand out NaN (0 for integers): the same table
    every time, and the search's `np.zeros_like` where `np.empty_like` belongs says why."""
    real = np.empty, np.empty_like

    def filled(make):
        @functools.wraps(make)
        def made(*args, **kwargs):
            out = make(*args, **kwargs)
            if isinstance(out, np.ndarray) and out.dtype.kind in "fciu":
                out.fill(np.nan if out.dtype.kind in "fc" else 0)
            return out
        return made
    np.empty, np.empty_like = filled(real[0]), filled(real[1])
    try:
        yield
    finally:
        np.empty, np.empty_like = real


def shared(x, y):
    """Do two values share memory (one array, or a view of it: x[:], np.asarray(x), x.reshape(...))?"""
    return x is y or (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and np.shares_memory(x, y))


def snapshot(x):
    return x.copy() if isinstance(x, np.ndarray) else list(x) if isinstance(x, list) else x


def unchanged(x, y):
    """The same entries, bit for bit (a NaN is itself: a value gone wrong upstream is not a change)."""
    try:
        return bool(np.array_equal(x, y, equal_nan=True))
    except TypeError:  # not numbers (an object array)
        return bool(np.array_equal(x, y))


def same(x, y):
    """Unchanged, to round-off (a NaN or an inf is the same as itself: a value gone wrong upstream is not a change)."""
    if isinstance(y, np.ndarray):
        if not (isinstance(x, np.ndarray) and x.shape == y.shape):
            return False
        try:
            with np.errstate(all="ignore"):
                scale = float(np.abs(y[np.isfinite(y)]).max(initial=0))
                return bool(np.allclose(x, y, rtol=1e-12, atol=1e-12 * scale, equal_nan=True))
        except TypeError:  # not numbers (an object array): element by element
            return bool(np.array_equal(x, y))
    try:
        return bool(x == y) if not isinstance(x, np.ndarray) else False
    except Exception:
        return False


class Child:
    """The runs of one file in the child process. self.skip: the statements not run again after the
    plain run (a line that ended the run; exercise 4's update lines)."""

    def __init__(self, job):
        self.job = job
        self.ex = catalogue.EXERCISES[job.exercise]
        self.path = job.path
        self.values, self.answers, self.noise = prepare(job.exercise, job.batch_size, job.n_hidden,
                                                        job.seed, job.data)
        self.base = names(self.values, job.exercise, self.answers)
        self.cmp = self.base.pop("cmp")  # a function: shared, never copied
        lines = job.source.splitlines()
        self.stmts = [Statement(node, self.path, lines, k)
                      for k, node in enumerate(ast.parse(job.source, self.path).body)]
        setup = [st.index for st in self.stmts if st.kind == "setup" and "workspace" in st.reads]
        for st in self.stmts[:setup[0]] if setup else []:  # the set-up cell, above its workspace(...): run as
            st.cell = "set-up"  # written, never a helper of a gradient's lines (its `p`, `e`, `here` are not theirs)
        self.all_reads = {st: self.reads_through_calls(st) for st in self.stmts}
        self.soft = (set(STEPS) | {"bnmean"} | set(LETTERS)) - STRICT  # a learner may make these their own
        self.strict = STRICT | set(self.ex["given_grads"])
        self.graded = list(self.ex["graded"])
        self.fillable = set(self.graded) | set(self.ex["given_grads"])  # the gradients a run may replace
        self.skip = set()
        self.stdout, self.stderr, self.cwd = sys.stdout, sys.stderr, os.getcwd()
        self.devnull = open(os.devnull, "w")
        self.progress = os.open(job.progress, os.O_WRONLY | os.O_CREAT, 0o644) if job.progress else None

    def mark(self, text):
        """The progress mark, where the parent reads it (lseek and write: Windows has no pwrite)."""
        if self.progress is not None:
            os.lseek(self.progress, 0, os.SEEK_SET)
            os.write(self.progress, text.encode().ljust(64))

    def fresh(self):
        ns = {k: snapshot(v) for k, v in self.base.items()}
        ns["parameters"] = [ns[k] for k in PARAMS]
        ns["cmp"] = self.cmp
        return ns

    def runnable(self):
        return [st for st in self.stmts if st.kind == "code" and st not in self.skip]

    def execute(self, st, ns, quiet=False):
        """Run one statement; None, or (kind, line, message) for an exit or an error. quiet: what it
        prints goes nowhere (every run after the first)."""
        old_err = np.geterr()
        sys.stdout = self.devnull if quiet else self.stdout
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
                if not isinstance(copy, np.ndarray) or unchanged(cur, copy):
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
                alias = [h for h in st.writes if shared(ns.get(h), obj) and h != name]
                events.append(dict(kind=kind, name=name, line=st.line, alias=alias,
                                   made=self.assignment(alias[0], name, st) if alias else None))
            ns[name] = snapshot(copy)
            originals[name] = (ns[name], copy)
            if name in PARAMS:
                ns["parameters"] = [ns[k] for k in PARAMS]

    def originals(self, ns):
        keep = self.strict | self.soft
        return {k: (ns[k], snapshot(ns[k])) for k in keep if k in ns and k != "parameters"}

    def plain(self):
        """The file as written: what it prints, warns, exits; every gradient's final value; which
        statements write which gradient (also the ones no syntax shows: a function's global).
        Returns (namespace, events, errors, exits, warnings, dynamic writers, aliases)."""
        ns = self.fresh()
        originals, events, errors, exits = self.originals(ns), [], {}, []
        tracked = set(self.graded) | {g for st in self.stmts for g in st.writes if g in source.ALL_GRADIENTS}
        prev = {g: (ns.get(g), snapshot(ns.get(g))) for g in tracked}
        dynamic, aliases = {}, []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for st in self.runnable():
                self.mark(f"line {st.line}")
                result = self.execute(st, ns)
                if result and result[0] == "exit":
                    exits.append(result[1:])
                    self.skip.add(st)
                elif result:
                    errors[st] = result[1:]
                self.guard(ns, originals, st, events)
                for g in tracked:
                    cur = ns.get(g)
                    obj, copy = prev[g]
                    changed = cur is not obj or (isinstance(cur, np.ndarray) and not unchanged(cur, copy))
                    if changed and g not in st.writes:
                        culprit = [h for h in st.writes if h in tracked and shared(ns.get(h), cur)]
                        if culprit and cur is obj:
                            aliases.append((culprit[0], g, self.assignment(culprit[0], g, st)))
                        else:
                            dynamic.setdefault(g, []).append(st)
                    prev[g] = (cur, snapshot(cur))
            recorded = [(w.category.__name__, str(w.message), w.lineno if w.filename == self.path else None)
                        for w in caught]
        self.figures = self.save_figures()
        return ns, events, errors, exits, recorded, dynamic, aliases

    def assignment(self, culprit, victim, before):
        """(line, text) of the last assignment above the statement `before` that made culprit share victim's array:
        `culprit = victim`, `= victim[:]`, `= np.asarray(victim)`, `= victim.view()`, `= victim.reshape(...)`."""
        found = (before.line, f"{culprit} = {victim}")
        for st in self.stmts:
            if st is before:
                break
            node = st.node
            if isinstance(node, ast.Assign) and victim in source.reads([node]) and \
                    any(isinstance(t, ast.Name) and t.id == culprit for t in node.targets):
                found = (st.line, f"{culprit} = {ast.unparse(node.value)}")
        return found

    def save_figures(self):
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None or not self.job.out:
            return []
        saved = []
        for k, num in enumerate(plt.get_fignums(), 1):
            path = os.path.join(self.job.out, f"practice_{self.job.exercise}_figure{k}.png")
            try:
                plt.figure(num).savefig(path, dpi=100)
                saved.append(path)
            except Exception:  # a figure the learner left half made: not ours to fix
                pass
        plt.close("all")
        return saved

    def isolated(self, fill, owners, keep=None, namespace=None):
        """Every statement in order, each graded gradient it reads (directly, or in a function of the file
        it calls) replaced by fill's, so that each line meets right inputs. keep: {g: value} to hand on
        instead of fill's; namespace: a dict that receives the run's final names. Returns
        ({g: its value after its last line}, {g: (line, error)})."""
        ns = self.fresh()
        for g in self.ex["given_grads"]:
            ns[g] = fill[g].copy()
        originals = self.originals(ns)
        last = {}
        for g, sts in owners.items():
            if sts:
                last.setdefault(max(sts, key=lambda s: s.index), []).append(g)
        values, errors = {}, {}

        def in_progress(g, st):  # g's next line after st adds to the value it has now (+=, d[...] =, d = d + ...)
            nxt = next((o for o in owners.get(g, []) if o.index > st.index), None)
            return nxt is not None and not fresh_assignment(nxt, g) and any(o.index < st.index for o in owners[g])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for st in self.runnable():
                for g in (self.all_reads[st] & self.fillable) - st.writes - set(self.ex["given_grads"]):
                    if not in_progress(g, st):
                        ns[g] = snapshot(keep[g]) if keep and g in keep else fill[g].copy()
                result = self.execute(st, ns, quiet=True)
                if result and result[0] == "error":
                    for g in (g for g, sts in owners.items() if st in sts):
                        errors.setdefault(g, result[1:])
                self.guard(ns, originals)
                for g in last.get(st, []):
                    values[g] = snapshot(ns.get(g))
        if namespace is not None:
            namespace.update(ns)
        return values, errors

    def reads_through_calls(self, st):
        """The names a statement reads, with those read inside the file's functions it calls."""
        found, todo = set(st.reads), list(st.reads)
        defs = {d.node.name: d for d in self.stmts if isinstance(d.node, (ast.FunctionDef, ast.Lambda))
                and d.index < st.index}
        while todo:
            name = todo.pop()
            if name in defs and defs[name] is not st:
                new = defs[name].reads - found
                found |= new
                todo.extend(new)
        return found

    def run(self):
        ns, events, errors, exits, caught, dynamic, aliases = self.plain()
        owners = {g: sorted({st for st in self.stmts if g in st.writes and st.kind != "setup"} |
                            set(dynamic.get(g, [])), key=lambda s: s.index)
                  for g in set(self.graded) | {g for st in self.stmts for g in st.writes if g in source.ALL_GRADIENTS}}
        line_rows, notes = [], []
        updates = ex4.updates(self, events, owners) if self.ex["trains"] else []
        self.skip.update(updates)
        spoiled = {}  # a graded gradient made as a view of a forward tensor, then changed in place: its row says so
        for e in events:
            if e["name"] in PARAMS and self.ex["trains"] or e["kind"] == "rebinds" and e["name"] in self.soft:
                continue
            if e["kind"] == "changes" and e["alias"] and e["alias"][0] in self.graded:
                spoiled.setdefault(e["alias"][0], (e["line"], self.event_why(e)))
                continue
            line_rows.append(LineRow(line=e["line"], why=self.event_why(e), writes=frozenset([e["name"]])))
        made_by_failed = set().union(*(st.writes for st in errors if any(st in sts for sts in owners.values())))
        for st in self.stmts:  # a line that fails only for a gradient a raising line did not make: that line's row
            if st in self.runnable() and st in errors and not any(st in sts for sts in owners.values()):
                line, err = errors[st]
                missing = err.split("'")[1] if err.startswith("NameError") and "'" in err else None
                if missing in made_by_failed or (st.reads & made_by_failed and not missing):
                    made_by_failed |= st.writes
                    continue
                made_by_failed |= st.writes
                hint = mistakes.raise_hint(err + "\n" + st.text)
                line_rows.append(LineRow(line=line, why=f"raises {err}" + (f"; {hint}" if hint else ""),
                                         writes=frozenset(st.writes)))
        lines = self.job.source.splitlines()
        for line, what in exits:
            line_rows.append(LineRow(line=line, why=f"ends the run ({lines[line - 1].strip()}: {what}): a practice "
                                                    "file runs to its end, and the grader ran the rest of it; take it "
                                                    "out",
                                     writes=frozenset()))
        line_rows.sort(key=lambda r: r.line)
        line_rows = [r for k, r in enumerate(line_rows) if k == 0 or r.line != line_rows[k - 1].line]  # one row a line
        if updates:
            notes.append(ex4.updates_note(updates, events, self.job.lr))
        final = {}
        iso, iso_err = self.isolated(self.answers, owners, namespace=final)
        rnd, _ = self.isolated(self.noise, owners)
        grads = {}
        failed = {row.line for row in line_rows}
        for g in self.graded:
            own = owners.get(g, [])
            upstream, helpers = self.upstream(g, own)
            r = GradientRun(lines=[st.line for st in own], plain=snapshot(ns.get(g)), iso=iso.get(g), rnd=rnd.get(g),
                            source="\n".join(st.text for st in own), reads=upstream,
                            needs=sorted({st.line for st in helpers if st.line in failed
                                          or errors.get(st, (0,))[0] in failed}))
            if g in iso_err:
                line, err = iso_err[g]
                missing = err.split("'")[1] if err.startswith("NameError") and "'" in err else None
                needs = [row.line for row in line_rows if missing and missing in row.writes]
                r.error = (line, err, needs)
            plain_err = [errors[st] for st in own if st in errors]
            if plain_err:
                r.plain_error = plain_err[0]
            if not own:
                r.near_miss = self.near_miss(g, ns)
            r.rebound = [(e["name"], e["line"]) for e in events if e["kind"] == "rebinds" and e["name"] in
                         self.soft and e["name"] in source.reads([st.node for st in own])]
            grads[g] = r
        for culprit, victim, (line, text) in aliases:
            if culprit in grads:
                grads[culprit].alias = (victim, text)
            if victim in grads:
                grads[victim].victim_of = (culprit, line, text)
        for g, (line, why) in spoiled.items():
            grads[g].spoils = (line, why)
        self.random_references(grads)
        self.harm(grads, owners, iso, iso_err)
        second = None
        self.mark(SEARCHING)  # the learner's runs are done: the parent's time limit stops here (lib/grader/sandbox.py)
        fixed = set()  # helper lines that raised, made right by the search of the gradient they feed
        raised = {st.line for st in errors} - {row.line for row in line_rows if not row.why.startswith("raises ")}
        self.right_now = {g for g, r in grads.items() if r.lines and not self.wrong(g, r)}  # a helper they read stays
        for g, r in grads.items():
            needed = set(r.needs) | set(r.error[2] if r.error else [])
            if needed - raised:  # a line that rebinds, deletes or exits: its own row says so, this line inherits
                continue
            helper_failed = bool(needed)
            if r.lines and (helper_failed or self.wrong(g, r)):
                r.repair = repair.search(self, g, r, owners, final)
                if helper_failed and not (r.repair and r.repair.line in needed):
                    r.repair = None  # the helper line is the cause: its row says so, and this line inherits
                    continue
                if helper_failed:  # the edit of the learner's helper line names this gradient's mistake
                    line = r.repair.line
                    said = [row.why.removeprefix("raises ") for row in line_rows if row.line == line]
                    r.error = (line, said[0] if said else (r.error[1] if r.error else "it raises"), [])
                    r.needs = []
                    fixed.add(line)
                second = second or repair.second_batch(self.job.exercise, self.job.seed + 1, self.job.data)
        line_rows[:] = [row for row in line_rows if row.line not in fixed]
        first = {}  # one wrong helper line read by several gradients: the first one's row, the others inherit
        for g in self.graded:
            r = grads.get(g)
            if r is not None and r.repair and r.repair.line not in r.lines:
                key = (r.repair.line, r.repair.after)
                if key in first:
                    r.shares, r.repair = (r.repair.line, first[key]), None
                else:
                    first[key] = g
        summary = {}
        for kind, message, line in caught:
            key = (kind, message)
            summary.setdefault(key, [0, line])[0] += 1
        warned = [f"warning: {kind} at line {line}: {message} ({count} time{'s' if count > 1 else ''})"
                  if line else f"warning: {kind}: {message}" for (kind, message), (count, line) in summary.items()]
        return RunResult(grads=grads, line_rows=line_rows, notes=notes + warned, figures=self.figures,
                         training=None, values=self.values, answers=self.answers, noise=self.noise, second=second)

    def trains(self):
        """Does this job train after its runs (exercise 4, with steps)?"""
        return bool(self.ex["trains"] and self.job.steps)

    def near_miss(self, g, ns):
        """A name the file assigns that is one typo away from g (dbhprebn for dhprebn): (name, line, right?)."""
        written = {w: st for st in reversed(self.runnable()) for w in st.writes}
        known = source.ALL_GRADIENTS | set(self.base) | set(PARAMS)
        found = difflib.get_close_matches(g, [w for w in written if w not in known], n=1, cutoff=0.75)
        if not found:
            return None
        x, a = ns.get(found[0]), self.answers[g]
        return found[0], written[found[0]].line, mistakes.right(x, a)

    def wrong(self, g, r):
        """Is g's own line wrong, on right inputs (it raises, or gives other numbers, in the true or the random
        run)? Then the repair search looks for the edit that makes it right."""
        if r.error:
            return True
        a = self.answers[g]
        if not isinstance(r.iso, (np.ndarray, np.generic, int, float)) or isinstance(r.iso, bool) or r.victim_of:
            return False  # no number at all (None, a list): its row says what it is
        if not mistakes.right(r.iso, a):
            return True
        return r.rnd_ref is not None and not mistakes.right(r.rnd, r.rnd_ref)

    def event_why(self, e):
        name, kind = e["name"], e["kind"]
        what = ("the batch size the forward used" if name in ("n", "batch_size") else
                "numpy" if name == "np" else "1e-5, added to the batch variance" if name == "EPS" else
                "a parameter" if name in PARAMS else "the forward's tensor")
        if kind == "changes" and e["alias"]:
            h, (line, text) = e["alias"][0], e["made"]
            where = f" (line {line})" if line != e["line"] else ""
            return (f"changes {name} in place: `{text}`{where} made no copy, so changing {h} changed {name} too; "
                    f"make {h} a copy ({name}.copy(), the lecture's .clone())")
        fix = {"deletes": "the lines after it need it", "rebinds": "give your own value another name",
               "changes": "work on a copy (.copy())"}[kind]
        return f"{kind} {name} ({what}): {fix}; the grader graded every other line against the untouched forward"

    @staticmethod
    def current(own, g):
        """g's statements from its last fresh assignment on: what came before it is overwritten."""
        full = [k for k, st in enumerate(own) if fresh_assignment(st, g)]
        return own[full[-1]:] if full else own

    def upstream(self, g, own):
        """(the graded or given gradients g's lines read, directly or through the helper lines and functions
        above them, from its last fresh assignment on (what came before it is overwritten); those helper
        lines, in the file's order). A helper is any line that writes a name the exercise does not grade."""
        if not own:
            return set(), []
        own = self.current(own, g)
        wanted, seen, helpers = set().union(*(self.all_reads[st] for st in own)), set(), []
        last = max(st.index for st in own)
        while wanted - seen:
            name = (wanted - seen).pop()
            seen.add(name)
            for st in self.runnable():
                if st.index < last and name in st.writes and name not in self.fillable and st not in helpers \
                        and not st.cell:
                    wanted |= self.all_reads[st]
                    helpers.append(st)
        return (wanted & self.fillable) - {g}, sorted(helpers, key=lambda s: s.index)

    def random_references(self, grads):
        """For each gradient, the project's chain run with the random upstream gradients that its
        lines read: what a right line gives with them. None where a line reads a gradient that the
        project's line does not depend on (dbngain in exercise 4's dhprebn): no such comparison."""
        for g, r in grads.items():
            if r.rnd is None:
                continue
            found = self.random_reference(g, r.reads)
            if found is not None:
                r.rnd_ref, r.rnd_ctx = found

    def random_reference(self, g, reads):
        """(g's right value with the random upstream gradients `reads` in place of the true ones, every gradient of
        that run), or None when g does not depend on all of them; made once for each set of reads (the search asks
        for a candidate that reads other gradients than the learner's line)."""
        key = (g, frozenset(reads))
        cache = self.__dict__.setdefault("references", {})
        if key in cache:
            return cache[key]
        if not reads <= source.ancestors().get(g, set()):
            cache[key] = None
            return None
        if not hasattr(self, "chain"):
            chain = [s for s in source.backward_source()[1] if not isinstance(s, ast.Return)]
            self.chain = [(compile(ast.Module(body=[s], type_ignores=[]), "<backward>", "exec"), source.targets(s))
                          for s in chain]
            self.last = {w: k for k, (_, writes) in enumerate(self.chain) for w in writes}
        ns = {**self.values, "np": np, "EPS": EPS}
        for k, (code, writes) in enumerate(self.chain):
            exec(code, ns)
            for u in reads:
                if self.last.get(u) == k:
                    ns[u] = self.noise[u].copy()
        cache[key] = (np.asarray(ns[g]), {u: ns[u] for u in GRADIENTS if u in ns})
        return cache[key]

    def harm(self, grads, owners, iso, iso_err):
        """A gradient whose numbers are right in a shape that is not its tensor's: do the lines
        that read it still come out right with it?"""
        for g, r in grads.items():
            x = r.iso
            if not mistakes.broadcast_equal(x, self.answers[g]):
                continue
            readers = [u for u in self.graded if u != g and any(g in st.reads for st in owners.get(u, []))]
            if not readers:
                continue
            values, errors = self.isolated(self.answers, owners, keep={g: x})
            bad = [u for u in readers if (u in errors and u not in iso_err) or not (
                   mistakes.right(values.get(u), iso.get(u)))]
            if bad:
                r.harm = bad[0]
