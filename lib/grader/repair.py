"""The repair search: the one small edit of the learner's own lines that makes a wrong gradient right.

A catalogue of whole wrong expressions cannot keep up with learners: every one writes a new one. What
they share is that one small edit of the learner's own line makes it right, and that edit is the
diagnosis. For a gradient whose lines are wrong on right inputs, the search takes its statements (from
its last fresh assignment on, with the helper lines they read) and tries the edits of lib/grader/edits.py,
kind by kind (KINDS, cheap and common first). The first edit that is a fix wins.

A fix counts only when the gradient is then right three times: in the true run, with the random
upstream gradients of the third run, and on a second batch of another shape (another n, H and seed).
An edit that matches by accident (a per-row constant in a shift-invariant softmax, a factor that is 1
on this batch, a term times a gradient that is about zero) fails one of them. Two edits at once are not
tried: their number is the square of one's.

The budget is counted, not timed: at most BUDGET distinct candidates for one gradient, so a file gets the same
table on any machine. A wall-clock net (SAFETY_SECONDS) only catches what counting cannot (a machine stalled for
tens of seconds); when it fires, the row says the search stopped early. Only arithmetic is searched: a gradient
whose lines call anything but numpy, a few of Python's builtins and the file's own such functions is run as
written and never searched (confined()).

Runs in the grader's child (it runs learner code); the judge reads its Repair (lib/grader/result.py).
"""
import ast
import builtins
import contextlib
import copy
import functools
import signal
import time
import warnings

import numpy as np

from lib.grader import edits, mistakes
from lib.grader.result import Repair
from lib.grader.workspace import names, prepare

BUDGET = 3000            # distinct candidates at most, for one gradient: the same on every machine
SAFETY_SECONDS = 30.0    # a net for a stalled machine, not a budget: the row then says the search stopped early
CANDIDATE_SECONDS = 1.0  # one candidate's run at most, where the platform has an alarm (SIGALRM)
SECOND_SHAPE = dict(batch_size=7, n_hidden=9)  # the second batch: another n and H (and the next seed)
STOPPED = "the search for the edit that fixes it stopped early (the machine was too slow)"
UNSEARCHED = "its lines call {} (not numpy's arithmetic): the grader runs them as written, never edited or repeated"

SAFE_BUILTINS = {"range", "len", "sum", "abs", "min", "max", "float", "int", "zip", "enumerate", "list", "tuple",
                 "reversed", "round", "pow", "slice", "isinstance", "sorted", "bool", "map", "filter", "any", "all"}
UNSAFE_NUMPY = {"save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile",
                "memmap", "seterr", "seterrcall", "set_printoptions", "tofile", "dump", "dumps", "info",
                "show_config", "frompyfunc", "vectorize", "apply_along_axis", "apply_over_axes", "fromfunction",
                "piecewise", "setbufsize", "random", "testing", "lib", "ctypeslib", "f2py"}
TORCH_NAMES = {"torch", "F", "nn"}  # torch's modules, as the lecture imports them
ARRAY_UNSAFE = {"tofile", "dump", "dumps", "setflags", "ctypes", "base", "data"}
ARRAY_METHODS = (set(dir(np.ndarray)) - {"tofile", "dump", "dumps", "setflags"}) | {"append", "extend", "insert"}


def search(child, g, r, owners, final):
    """The Repair for gradient g (a wrong row; r its GradientRun), or None; sets r.search_note when the search
    was not run or stopped early, and r.second (the lines as written at the second shape) when they may be rerun.
    final: the isolated run's names. What the candidates print or warn goes nowhere; a candidate that raises, exits
    or runs too long is no fix."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(child.devnull), \
            contextlib.redirect_stderr(child.devnull), time_limited():
        warnings.simplefilter("ignore")
        return searched(child, g, r, owners, final)


class TooLong(BaseException):
    """A candidate ran past CANDIDATE_SECONDS."""


ALARM = hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")  # not on Windows: confinement holds alone


@contextlib.contextmanager
def time_limited():
    """Each candidate's run may take CANDIDATE_SECONDS (SIGALRM, in the child's main thread), then it is no fix.
    Without an alarm (Windows, a thread) the budget holds all the same: a `while` is counted (LOOP_STEPS), not timed,
    and a `for` runs over what is finite."""
    def alarm(signum, frame):
        raise TooLong()
    if not ALARM:
        yield
        return
    try:
        previous = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread (a tool grading in a thread)
        yield
        return
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def gradient_lines(child, g, owners):
    """(g's statements from its last fresh assignment on, with the helper lines they read, in file order; the graded
    gradients they read; those made above them, which an edit may read in place of another; the indices of helper
    lines a right gradient reads too, never edited). The fresh assignment before the last one comes too: `=` where
    `+=` belongs overwrote it."""
    lines = owners.get(g, [])
    own = child.current(lines, g)
    upstream, helpers = child.upstream(g, own)
    if 0 < len(own) < len(lines):
        before = child.current(lines[:len(lines) - len(own)], g)
        more, their = child.upstream(g, before)
        own, upstream, helpers = before + own, upstream | more, sorted(set(helpers) | set(their), key=lambda s: s.index)
    start = min((st.index for st in own), default=0)
    dropped = [st for st in child.runnable() if isinstance(st.node, ast.Expr) and isinstance(st.node.value, ast.BinOp)
               and g in st.reads and st.index > start]  # `dlogits / n` alone: a value that goes nowhere
    stmts = sorted(set(own) | set(helpers) | set(dropped), key=lambda s: s.index)
    first, last = min(st.index for st in stmts), max((st.index for st in own), default=max(st.index for st in stmts))
    runnable = child.runnable()
    read_later = {name: max((st.index for st in runnable if name in st.reads), default=-1)
                  for st in runnable if first < st.index < last for name in st.writes}
    dead = [st for st in runnable if first < st.index < last and st not in stmts and st.kind == "code" and not st.cell
            and st.writes and not st.writes & child.fillable and all(read_later[w] <= st.index for w in st.writes)]
    for st in dead:  # a line whose value nobody reads any more, with the lines it reads: the factor it made may be
        stmts = sorted(set(stmts) | {st} | set(child.upstream(g, [st])[1]), key=lambda s: s.index)  # the one
    # a line dropped (dbnvar_inv's, when `* dbnvar_inv` is missing)
    earlier = {u for u in sorted(child.fillable) if u != g and owners.get(u)
               and max(st.index for st in owners[u]) < last}  # made before g's last line: an edit below may read it
    earlier |= {u for u in child.fillable if u != g and not owners.get(u) and u not in child.graded
                and u in child.base}  # what the exercise hands in (exercise 3's dhpreact): any line may read it
    right = [st for u in getattr(child, "right_now", ()) if u != g for st in owners.get(u, []) if st not in own]
    read = set().union(*(child.all_reads[st] for st in right))
    kept = {st.index for st in helpers if st not in own and st.writes & read}  # a right gradient reads it: not edited
    theirs = set()  # the lines of the other wrong gradients, with the helper lines they read
    for u in child.graded:
        if u != g and u not in getattr(child, "right_now", ()) and owners.get(u):
            mine = child.current(owners[u], u)
            theirs |= set(mine) | set(child.upstream(u, mine)[1])
    shared = {st.index for st in helpers if st not in own and st.index not in kept and st in theirs}
    return stmts, upstream, earlier, kept, shared


def searched(child, g, r, owners, final):
    stmts, upstream, earlier, kept, shared = gradient_lines(child, g, owners)
    calls = confined(stmts, child, final)
    if calls:
        r.search_note = UNSEARCHED.format(", ".join(f"`{c}`" for c in calls))
        return None
    probe = Probe(child, g, stmts, upstream | earlier, final, r.rnd_ref, r.reads)
    r.second = probe.at_second_shape()  # the learner's lines at the second shape: a catalogue form must hold there too
    if probe.right(probe.original, every=True):  # the replay is right: nothing here to repair
        return None
    made = {u: max(st.index for st in owners[u]) for u in earlier if owners.get(u)}
    started, seen = time.perf_counter(), set()
    # a helper line other wrong gradients read too is searched first: one wrong line, not a fix in each reader
    sites = [edits.Site(g, stmts, probe.true, upstream | earlier, child.job.exercise, kept, made, focus)
             for focus in ([shared] if shared else []) + [None]]
    for site in sites:
        site.answer = child.answers[g]
    for site, kind in ((site, kind) for site in sites for kind in edits.KINDS):
        for edit in candidates(kind, site):
            key = tuple(ast.dump(t) if t is not st.node else k for k, (t, st) in enumerate(zip(edit.trees, stmts)))
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > BUDGET:
                return None
            if time.perf_counter() - started > SAFETY_SECONDS:
                r.search_note = STOPPED
                return None
            if probe.right(edit.trees, every=True):
                changed = [k for k, t in enumerate(edit.trees) if t is not stmts[k].node]
                before = "\n".join(stmts[k].text for k in changed)
                after = "\n".join(ast.unparse(edit.trees[k]) for k in changed)
                return Repair(line=edit.line, kind=kind.__name__, before=before, after=after, what=edit.what,
                              why=edit.why)
    return None


def candidates(kind, site):
    """The edits of one kind; a kind that fails on a syntax it does not know yields what it made so far (a test
    walks every kind over every node class, so this is a net, not a habit)."""
    try:
        yield from kind(site)
    except Exception:
        return


def confined(stmts, child, ns):
    """The calls in the statements (and in the file's functions they call) that are not numpy's arithmetic, a safe
    builtin or an array's method: [] when the search may run them again and again."""
    functions = {st.node.name: st.node for st in child.stmts if isinstance(st.node, ast.FunctionDef)}
    functions.update({t.id: st.node.value for st in child.stmts if isinstance(st.node, ast.Assign)
                      and isinstance(st.node.value, ast.Lambda) for t in st.node.targets if isinstance(t, ast.Name)})
    found, seen = [], set()

    def visit(tree):
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and all(
                    (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0] in ("numpy", "math")
                    for a in node.names):
                continue  # import numpy as np, again: harmless
            if isinstance(node, (ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom, ast.Delete,
                                 ast.Try, ast.With, ast.ClassDef, ast.AsyncFunctionDef, ast.Yield, ast.Await)):
                found.append(type(node).__name__.lower())
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store) and \
                    root(node) in ("np", "builtins", "__builtins__"):
                found.append(ast.unparse(node))
            elif isinstance(node, ast.Call):
                bad = unsafe(node, functions, ns)
                if bad == "function":
                    fn = node.func.id
                    if fn not in seen:
                        seen.add(fn)
                        visit(functions[fn])
                elif bad:
                    found.append(bad)
    for st in stmts:
        visit(st.node)
    return sorted(set(found))


def root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def unsafe(node, functions, ns):
    """'' for a call the search may repeat; 'function' for the file's own function (its body decides); else the
    call's name. ns: the names of the file's run (what a name is decides what its method may be)."""
    f = node.func
    if isinstance(f, ast.Name):
        if f.id in functions:
            return "function"
        return "" if f.id in SAFE_BUILTINS and f.id not in ns else f.id
    if not isinstance(f, ast.Attribute):
        return ast.unparse(f)
    base, chain = root(f), ast.unparse(f)
    if base is not None and base not in ns and not hasattr(builtins, base) and base in TORCH_NAMES:
        return ""  # torch.zeros_like, F.one_hot where the file has no torch: a NameError, nothing runs
    if base == "np" and ns.get("np") is np:
        return chain if set(chain.split(".")[1:]) & UNSAFE_NUMPY else ""
    if base is not None and base in ns and not isinstance(ns[base], (np.ndarray, np.generic, list, tuple, int,
                                                                     float)):
        return chain  # a module's function or another object's method (os.remove, shutil.rmtree, logging.info)
    if base is not None and isinstance(ns.get(base), np.ndarray) and not set(chain.split(".")) & ARRAY_UNSAFE:
        return ""  # an array's method, or none (torch's x.tanh(): an AttributeError, nothing runs)
    return "" if f.attr in ARRAY_METHODS else chain


class Probe:
    """Runs a candidate list of statements in the three settings a fix must pass."""

    def __init__(self, child, g, stmts, upstream, final, rnd_ref, reads):
        """upstream: the graded gradients a candidate may read (right in the true run); reads: those the line as
        written reads, the only ones the random reference knows (a candidate reading others skips that check)."""
        self.child, self.g, self.path, self.rnd_ref, self.read_upstream = child, g, child.path, rnd_ref, reads
        self.original = [st.node for st in stmts]
        self.reads = set().union(*(child.all_reads[st] for st in stmts)) | {g}
        base = {k: v for k, v in final.items() if not k.startswith("__")}
        if any(edits.fresh_assignment(st, g) for st in stmts):  # g's lines make it anew: no final value leaks in
            base.pop(g, None)
        self.true = {**base, **{u: child.answers[u] for u in upstream}}
        self.random = {**base, **{u: child.noise[u] for u in upstream}} if rnd_ref is not None else None
        self.upstream = upstream
        self.base = base
        right = getattr(child, "right_now", set())
        self.also = sorted({u for st in stmts for u in st.writes if u in right and u != g and u in child.answers})
        self.second = None

    def run(self, trees, ns0):
        ns = self.namespace(trees, ns0)
        return None if ns is None else ns.get(self.g)

    def namespace(self, trees, ns0):
        """The names after the candidate ran, or None when it raised, exited or ran too long."""
        touched = source_reads(trees) | self.reads  # only the arrays a candidate reads are copied: none is changed
        ns = {k: (v.copy() if isinstance(v, np.ndarray) and k in touched else v) for k, v in ns0.items()}
        ns[TICK] = ticks(LOOP_STEPS)
        try:
            code = compile(ast.fix_missing_locations(ast.Module(body=[looped(t) for t in trees], type_ignores=[])),
                           self.path, "exec")
            with np.errstate(all="ignore"):
                if ALARM:
                    signal.setitimer(signal.ITIMER_REAL, CANDIDATE_SECONDS)
                try:
                    exec(code, ns)
                finally:
                    if ALARM:
                        signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException:  # a candidate that raises, exits or runs too long is no fix
            return None
        return ns

    def right(self, trees, every=False):
        """Right in the true run; with every=True also with random upstream gradients and at the second shape."""
        ns = self.namespace(trees, self.true)
        if ns is None or not same(ns.get(self.g), self.child.answers[self.g]):
            return False
        if any(not same(ns.get(u), self.child.answers[u]) for u in self.also):
            return False  # a statement that makes a right gradient too (a tuple from a function) keeps it right
        if not every:
            return True
        reads = source_reads(trees) & self.child.fillable - {self.g}
        reference = self.rnd_ref if reads <= self.read_upstream else None
        if reference is None and self.random is not None and reads - self.read_upstream:
            found = self.child.random_reference(self.g, reads)  # a candidate that reads another gradient
            reference = found[0] if found is not None else None
        if self.random is not None and reference is not None and not same(self.run(trees, self.random), reference):
            return False
        ns2, answer2 = self.second_shape()
        return ns2 is None or same(self.run(trees, ns2), answer2)

    def at_second_shape(self):
        """The learner's lines as written at the second shape: (their value, the answer), or None."""
        ns2, answer2 = self.second_shape()
        if ns2 is None:
            return None
        return self.run(self.original, ns2), answer2

    def second_shape(self):
        if self.second is None:
            job = self.child.job
            batch = second_batch(job.exercise, job.seed + 1, job.data)
            if batch is None:  # a word list too short for it: the first two settings decide
                self.second = (None, None)
                return self.second
            values, answers = batch
            ns = {**self.base, **names(values, job.exercise, answers)}
            ns.update({u: answers[u] for u in self.upstream})
            self.second = (ns, answers[self.g])
        return self.second


LOOP_STEPS = 100_000  # the steps of a `while` in one candidate's run: counted, so a loop that never ends is no fix
TICK = "__grader_tick__"  # (the same on every machine, with or without an alarm)


def ticks(limit):
    """A function that a candidate's `while` calls at every step: past `limit` steps it ends the candidate."""
    count = [0]

    def tick():
        count[0] += 1
        if count[0] > limit:
            raise TooLong()
    return tick


LOOPED = {}  # id(statement) -> (it, it with every while counted): a statement with no while is itself


def looped(tree):
    """The statement with a step count at the top of every `while` body (the learner's tree is never changed)."""
    hit = LOOPED.get(id(tree))
    if hit is not None and hit[0] is tree:
        return hit[1]
    out = tree
    if any(isinstance(n, ast.While) for n in ast.walk(tree)):
        class Count(ast.NodeTransformer):
            def visit_While(self, node):
                node = self.generic_visit(copy.copy(node))
                step = ast.Expr(value=ast.Call(func=ast.Name(id=TICK, ctx=ast.Load()), args=[], keywords=[]))
                node.body = [step] + list(node.body)
                return node
        out = Count().visit(copy.deepcopy(tree))
    if len(LOOPED) > 512:
        LOOPED.clear()
    LOOPED[id(tree)] = (tree, out)
    return out


def source_reads(trees):
    return {node.id for s in trees for node in ast.walk(s) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)}


@functools.cache
def second_batch(exercise, seed, data):
    """(values, answers) of the second batch (SECOND_SHAPE), made once for every gradient a file gets wrong; None
    when the word list is too short for it."""
    try:
        values, answers, _ = prepare(exercise, SECOND_SHAPE["batch_size"], SECOND_SHAPE["n_hidden"], seed, data)
    except Exception:
        return None
    return values, answers


def same(x, a):
    return x is not None and mistakes.right(x, a)
