"""The child's side: a learner's file as statements, run three times over in the grader's child
process (as written, isolated, isolated with random upstream gradients), and exercise 4's training.
A line that rebinds or changes the forward's tensors is named once and undone. lib/grader/judge.py
judges what the runs give."""
import ast
import os
import pickle
import signal
import sys
import warnings

import numpy as np

from lib import source
from lib.cli import UsageError
from lib.grader import catalogue, mistakes
from lib.grader.workspace import names, prepare
from lib.lecture import EPS, GRADIENTS, PARAMS, STEPS, forward

STRICT = set(PARAMS) | {"Xb", "Yb", "n", "EPS", "np"} | set(catalogue.NOTEBOOK_NAMES)  # never rebound or changed


class Exit(BaseException):
    """os._exit called by the learner's file: ends its statement, not the grader."""


class Statement:
    def __init__(self, node, path, lines):
        self.line, self.end = node.lineno, node.end_lineno
        self.node = node
        self.code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        self.writes = source.targets(node)
        self.reads = source.reads([node])
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
        self.ex = catalogue.EXERCISES[job["exercise"]]
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
        tracked = set(self.graded) | {g for st in self.stmts for g in st.writes if g in catalogue.ALL_GRADIENTS}
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
                  for g in set(self.graded) | {g for st in self.stmts for g in st.writes if g in catalogue.ALL_GRADIENTS}}
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
                hint = mistakes.raise_hint(err + "\n" + st.text)
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
                            self.soft and e["name"] in source.reads([st.node for st in own])]
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
                if st.line < last and st.kind == "code" and name in st.writes and name not in catalogue.ALL_GRADIENTS:
                    names |= self.reads_of(st)
                    helpers.append(st)
        return (names & catalogue.ALL_GRADIENTS) - {g}, helpers

    def random_references(self, grads, owners):
        """For each gradient, the project's chain run with the random upstream gradients that its
        lines read: what a right line gives with them. None where a line reads a gradient that the
        project's line does not depend on (dbngain in exercise 4's dhprebn): no such comparison."""
        chain = [s for s in source.backward_source()[1] if not isinstance(s, ast.Return)]
        codes = [(compile(ast.Module(body=[s], type_ignores=[]), "<backward>", "exec"), source.targets(s))
                 for s in chain]
        last = {}
        for k, (_, writes) in enumerate(codes):
            for w in writes:
                last[w] = k
        for g, r in grads.items():
            wanted = r["reads"] | (set(self.ex["given_grads"]) & r["reads"])
            if r["rnd"] is None or not wanted <= source.ancestors().get(g, set()):
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
            if not mistakes.broadcast_equal(x, self.answers[g]):
                continue
            readers = [u for u in self.graded if u != g and any(g in st.reads for st in owners.get(u, []))]
            if not readers:
                continue
            values, errors = self.isolated(self.answers, owners, keep={g: x})
            bad = [u for u in readers if (u in errors and u not in iso_err) or not (
                   mistakes.close(values.get(u), iso.get(u)) or mistakes.broadcast_equal(values.get(u), iso.get(u)))]
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
                    if d is not None and d.shape != p.shape and mistakes.squeezed(d.shape) == mistakes.squeezed(p.shape):
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
