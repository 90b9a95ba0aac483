"""The repair search: the one small edit of the learner's own lines that makes a wrong gradient right.

A catalogue of whole wrong expressions cannot keep up with learners: every one writes a new one. What
they share is that one small edit of the learner's own line makes it right, and that edit is the
diagnosis. For a gradient whose lines are wrong on right inputs, the search takes its statements (from
its last fresh assignment on, with the helper lines they read) and tries one edit at a time, kind by
kind, in the order learners err (KINDS). Within a kind, names from the gradient's own forward lines
come first. The first kind that yields a fix wins.

A fix counts only when the gradient is then right three times: in the true run, with the random
upstream gradients of the third run, and on a second batch of another shape (another n, H and seed).
An edit that matches by accident (a per-row constant in a shift-invariant softmax, a factor that is 1
on this batch) fails one of them. Two edits at once are not tried: their number is the square of one's.

Runs in the grader's child (it runs learner code); the judge reads its Repair (lib/grader/result.py).
"""
import ast
import contextlib
import copy
import functools
import signal
import time
import warnings

import numpy as np

from lib import source
from lib.grader import mistakes
from lib.grader.catalogue import FUSED, KNOWLEDGE
from lib.grader.result import Repair
from lib.grader.workspace import names, prepare
from lib.lecture import PARAMS, STEPS

KINDS = ("order", "operator", "tensor", "axis", "constant", "grouping", "term", "subexpression")
BUDGET = 4000      # candidates at most, for one gradient
SECONDS = 3.0      # and at most this long
CANDIDATE_SECONDS = 0.5  # one candidate's run at most (an edited loop may never end)
SECOND_SHAPE = dict(batch_size=7, n_hidden=9)  # the second batch: another n and H (and the next seed)

OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}
SWAPS = {ast.Add: (ast.Mult, ast.Sub), ast.Sub: (ast.Add, ast.Mult), ast.Mult: (ast.Add, ast.Div, ast.MatMult),
         ast.Div: (ast.Mult, ast.Sub), ast.Pow: (ast.Mult,), ast.MatMult: (ast.Mult,)}
METHODS = {"sum": ("mean",), "mean": ("sum",), "max": ("min",), "min": ("max",), "argmax": ("argmin",),
           "argmin": ("argmax",), "exp": ("log",), "log": ("exp",)}
REDUCERS = {"sum", "mean", "max", "min", "argmax", "argmin"}
CONSTANTS = (1, -1, 2, 0.5, -0.5, 1.5, -1.5, 0)


def search(child, g, r, owners, final):
    """The Repair for gradient g (a wrong row; r its GradientRun), or None. final: the isolated run's names. What the
    candidates print or warn goes nowhere, and a candidate that runs too long (an edited loop) is no fix."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(child.devnull), \
            contextlib.redirect_stderr(child.devnull), time_limited():
        warnings.simplefilter("ignore")
        return searched(child, g, r, owners, final)


class TooLong(BaseException):
    """A candidate ran past CANDIDATE_SECONDS."""


@contextlib.contextmanager
def time_limited():
    """Each candidate's run may take CANDIDATE_SECONDS (SIGALRM, in the child's main thread), then it is no fix."""
    def alarm(signum, frame):
        raise TooLong()
    try:
        previous = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread (a tool grading in a thread): no alarm, the search's own budget holds
        yield
        return
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def searched(child, g, r, owners, final):
    own = child.current(owners.get(g, []), g)
    upstream, helpers = child.upstream(g, own)
    stmts = sorted(set(own) | set(helpers), key=lambda s: s.line)
    first = min(st.line for st in stmts)  # the graded gradients made above g's lines may stand in for another
    earlier = {u for u in child.fillable if u != g and owners.get(u) and max(st.line for st in owners[u]) < first}
    probe = Probe(child, g, stmts, upstream | earlier, final, r.rnd_ref, upstream)
    if probe.right(probe.original, every=True):  # the replay is right: nothing here to repair
        return None
    started, tried = time.perf_counter(), 0
    for kind in KINDS:
        if kind == "order":
            found = order_repair(stmts, probe)
            if found:
                return found
            continue
        for k, new, what, why in edits(kind, stmts, g, probe):
            tried += 1
            if tried > BUDGET or time.perf_counter() - started > SECONDS:
                return None
            trees = [st.node for st in stmts]
            trees[k] = new
            if probe.right(trees, every=True):
                return Repair(line=stmts[k].line, kind=kind, before=stmts[k].text, after=ast.unparse(new),
                              what=what, why=why)
    return None


class Probe:
    """Runs a candidate list of statements in the three settings a fix must pass."""

    def __init__(self, child, g, stmts, upstream, final, rnd_ref, reads):
        """upstream: the graded gradients a candidate may read (right in the true run); reads: those the line as
        written reads, the only ones the random reference knows (a candidate reading others skips that check)."""
        self.child, self.g, self.path, self.rnd_ref, self.read_upstream = child, g, child.path, rnd_ref, reads
        self.original = [st.node for st in stmts]
        self.reads = set().union(*(child.all_reads[st] for st in stmts)) | {g}
        base = {k: v for k, v in final.items() if not k.startswith("__")}
        self.true = {**base, **{u: child.answers[u] for u in upstream}}
        self.random = {**base, **{u: child.noise[u] for u in upstream}} if rnd_ref is not None else None
        self.upstream = upstream
        self.base = base
        self.second = None

    def run(self, trees, ns0):
        touched = source.reads(trees) | self.reads  # only the arrays a candidate reads are copied: none is changed
        ns = {k: (v.copy() if isinstance(v, np.ndarray) and k in touched else v) for k, v in ns0.items()}
        try:
            code = compile(ast.fix_missing_locations(ast.Module(body=list(trees), type_ignores=[])), self.path, "exec")
            with np.errstate(all="ignore"):
                signal.setitimer(signal.ITIMER_REAL, CANDIDATE_SECONDS)
                try:
                    exec(code, ns)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException:  # a candidate that raises, exits or runs too long is no fix
            return None
        return ns.get(self.g)

    def right(self, trees, every=False):
        """Right in the true run; with every=True also with random upstream gradients and at the second shape."""
        if not same(self.run(trees, self.true), self.child.answers[self.g]):
            return False
        if not every:
            return True
        comparable = source.reads(trees) & self.child.fillable <= self.read_upstream | {self.g}
        if self.random is not None and comparable and not same(self.run(trees, self.random), self.rnd_ref):
            return False
        ns2, answer2 = self.second_shape()
        return ns2 is None or same(self.run(trees, ns2), answer2)

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
    return x is not None and (mistakes.close(np.asarray(x) if isinstance(x, (int, float)) else x, a)
                              or mistakes.broadcast_equal(x, a))


# the edits, kind by kind

def edits(kind, stmts, g, probe):
    """(index of the statement, its edited tree, what changed, why) for every edit of one kind."""
    ns = probe.true
    tensors = [k for k, v in ns.items() if isinstance(v, np.ndarray) and v.ndim >= 1 and k != g
               and (k in STEPS or k in PARAMS or k in ("Xb", "Yb") or k in probe.upstream)]
    near = near_names(g)
    tensors.sort(key=lambda k: (k not in near, k))
    order = sorted(range(len(stmts)), key=lambda k: (g not in stmts[k].writes, -stmts[k].line))
    for k in order:
        st = stmts[k]
        for new, what, why in node_edits(kind, st.node, tensors, ns, g):
            yield k, new, what, "; ".join(w for w in (why, local(st, g, probe.child.job.exercise)) if w)


def order_repair(stmts, probe):
    """Two neighbouring statements, one reading or changing what the other writes, the other way round."""
    for k in range(len(stmts) - 1):
        a, b = stmts[k], stmts[k + 1]
        if not (a.writes & b.reads or b.writes & a.reads or a.writes & b.writes):
            continue
        swapped = [st.node for st in stmts]
        swapped[k], swapped[k + 1] = swapped[k + 1], swapped[k]
        if probe.right(swapped, every=True):
            why = (f"`{ast.unparse(b.node)}` must run first: written before it, `{ast.unparse(a.node)}` changes what "
                   f"it then works on")
            if isinstance(a.node, ast.AugAssign) and isinstance(a.node.op, (ast.Div, ast.Mult)):
                why = (f"`{ast.unparse(a.node)}` scales what is there when it runs, and the next line's change "
                       f"comes after it unscaled: the change first, then `{ast.unparse(a.node)}` scales it too")
            return Repair(line=a.line, kind="order", before=a.text + "\n" + b.text, after=b.text + "\n" + a.text,
                          what=f"lines {a.line} and {b.line} in the other order", why=why)
    return None


def local(st, g, exercise):
    """What the lecture says of the edited line's gradient: its local derivative (the hint), never the answer."""
    target = min(st.writes & set(KNOWLEDGE), default=g)
    if exercise != "ex1" and target in FUSED:
        return FUSED[target][0]
    return KNOWLEDGE.get(target, {}).get("hint", "")


def near_names(g):
    """The names on the forward lines that make g's tensor or use it: the first candidates."""
    t = g[1:]
    found = set()
    for line in source.forward_lines():
        code = line.split("#")[0]
        if f"{t} =" in code or f" {t}" in code or f"({t}" in code:
            try:
                found |= {n.id for n in ast.walk(ast.parse(code.strip())) if isinstance(n, ast.Name)}
            except SyntaxError:
                continue
    return found - {"np", "n"}


def walk(tree):
    """Every node of the statement's value side, with its parent and field (target names are not edited)."""
    out = []
    value = tree.value if isinstance(tree, (ast.Assign, ast.AugAssign)) else tree
    todo = [(value, tree, "value" if value is not tree else None, None)]
    targets = tree.targets if isinstance(tree, ast.Assign) else [tree.target] if isinstance(tree, ast.AugAssign) else []
    todo += [(t.slice, t, "slice", None) for t in targets if isinstance(t, ast.Subscript)]  # dlogits[range(n), Yb]
    while todo:
        node, parent, fieldname, index = todo.pop()
        out.append((node, parent, fieldname, index))
        for name, child in ast.iter_fields(node):
            if isinstance(child, ast.AST) and not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop)):
                todo.append((child, node, name, None))
            elif isinstance(child, list):
                for i, c in enumerate(child):
                    if isinstance(c, ast.AST):
                        todo.append((c, node, name, i))
    return out


def replaced(tree, target, new):
    """A deep copy of the statement tree with the node `target` replaced by `new`."""
    nodes = [n for n, *_ in walk(tree)]
    i = nodes.index(target)
    copy_tree = copy.deepcopy(tree)
    node, parent, fieldname, index = walk(copy_tree)[i]
    if parent is None or fieldname is None:
        return ast.Expr(value=new) if not isinstance(copy_tree, (ast.Assign, ast.AugAssign)) else copy_tree
    if index is None:
        setattr(parent, fieldname, new)
    else:
        getattr(parent, fieldname)[index] = new
    return copy_tree


def replaced_all(tree, target, new):
    """The statement with every occurrence of the subexpression `target` (the same text) replaced by `new`."""
    text = ast.unparse(target)
    out = tree
    while True:
        same_nodes = [n for n, *_ in walk(out) if ast.unparse(n) == text and type(n) is type(target)]
        if not same_nodes:
            return out
        out = replaced(out, same_nodes[0], copy.deepcopy(new))


def number(node):
    """The value of a number written as a constant, with its sign (-1.5 is a minus and 1.5), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def src(node):
    return ast.unparse(node)


def node_edits(kind, tree, tensors, ns, g):
    """(new tree, what, why) for one kind of edit of one statement."""
    nodes = walk(tree)
    if kind == "operator":
        if isinstance(tree, ast.AugAssign):
            for op in SWAPS.get(type(tree.op), ()):
                if op in (ast.Add, ast.Sub, ast.Mult, ast.Div):
                    new = copy.deepcopy(tree)
                    new.op = op()
                    yield new, f"`{OPS[type(tree.op)]}=` where `{OPS[op]}=` belongs", ""
            new = ast.Assign(targets=[copy.deepcopy(tree.target)], value=copy.deepcopy(tree.value), lineno=tree.lineno)
            yield new, f"`{OPS[type(tree.op)]}=` where `=` belongs", "the gradient starts fresh on this line"
        if isinstance(tree, ast.Assign) and len(tree.targets) == 1 and isinstance(tree.targets[0], ast.Name):
            name = tree.targets[0].id
            if name in ns:
                new = ast.AugAssign(target=ast.Name(id=name, ctx=ast.Store()), op=ast.Add(),
                                    value=copy.deepcopy(tree.value), lineno=tree.lineno)
                yield new, "`=` where `+=` belongs", ("a tensor used twice gets the gradient of both uses: the second "
                                                      "adds to the first, and `=` throws the first away")
        for node, *_ in nodes:
            if isinstance(node, ast.BinOp):
                for op in SWAPS.get(type(node.op), ()):
                    if neutral(op, node.left, node.right):  # `x * 1` for `x + 1` drops a term: the term kind says so
                        continue
                    new = ast.BinOp(left=copy.deepcopy(node.left), op=op(), right=copy.deepcopy(node.right))
                    why = ""
                    if isinstance(node.op, ast.Add) and op is ast.Mult and grads_in(node.left) != grads_in(node.right) \
                            and not (number(node.left) is not None or number(node.right) is not None):
                        why = "the chain rule multiplies the local derivative by the gradient arriving from above"
                    yield (replaced(tree, node, new), f"`{OPS[type(node.op)]}` where `{OPS[op]}` belongs, in "
                           f"`{src(node)}`", why)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
                for other in METHODS[node.func.attr]:
                    new = copy.deepcopy(node)
                    new.func.attr = other
                    why = ("a broadcast's gradient is the sum of its copies" if (node.func.attr, other) == ("mean",
                                                                                                            "sum")
                           else "")
                    yield replaced(tree, node, new), f"`.{node.func.attr}(` where `.{other}(` belongs", why
    elif kind == "tensor":
        for node, *_ in nodes:
            if isinstance(node, ast.Name) and node.id in tensors + [g]:
                shape = np.shape(ns[node.id])
                many = sum(isinstance(n, ast.Name) and n.id == node.id for n, *_ in nodes) > 1
                for name in tensors:
                    if name != node.id and np.ndim(ns[name]) == len(shape):
                        new = ast.Name(id=name, ctx=ast.Load())
                        yield replaced(tree, node, new), f"`{node.id}` where `{name}` belongs", ""
                        if many:
                            yield replaced_all(tree, node, new), f"`{node.id}` where `{name}` belongs", ""
    elif kind == "axis":
        for node, *_ in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REDUCERS:
                yield from axis_edits(tree, node)
            if isinstance(node, ast.Attribute) and node.attr == "T":
                yield replaced(tree, node, copy.deepcopy(node.value)), f"`{src(node)}` where `{src(node.value)}` " \
                    "belongs (no transpose)", "a gradient has the shape of its tensor"
            if isinstance(node, ast.Name) and isinstance(ns.get(node.id), np.ndarray) and np.ndim(ns[node.id]) == 2:
                t = ast.Attribute(value=ast.Name(id=node.id, ctx=ast.Load()), attr="T", ctx=ast.Load())
                yield replaced(tree, node, t), f"`{node.id}` where `{node.id}.T` belongs", \
                    "a gradient has the shape of its tensor: line the matmul up so the shapes chain"
                for axis, keep in ((0, True), (1, True), (0, False)):
                    call = ast.parse(f"{node.id}.sum({axis}{', keepdims=True' if keep else ''})", mode="eval").body
                    yield replaced(tree, node, call), f"`{node.id}` where its sum `{src(call)}` belongs", \
                        "a tensor broadcast in the forward pass gets the sum of the gradients of its copies"
    elif kind == "constant":
        for node, parent, *_ in nodes:
            value = number(node)
            if value is not None and number(parent) is None:
                for c in CONSTANTS + (-value,):
                    dropping = isinstance(parent, ast.BinOp) and (
                        neutral(type(parent.op), parent.left, ast.Constant(c)) if node is parent.right else
                        neutral(type(parent.op), ast.Constant(c), parent.right))
                    if c != value and not dropping:  # a constant made neutral drops a term: the term kind says so
                        yield (replaced(tree, node, ast.Constant(value=c)), f"`{src(node)}` where `{c}` belongs", "")
            if isinstance(node, ast.Name) and node.id in ("n", "batch_size"):
                new = ast.parse(f"({node.id} - 1)", mode="eval").body
                yield replaced(tree, node, new), f"`{node.id}` where `{node.id} - 1` belongs", \
                    "Bessel's correction: the batch variance divides by n-1"
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and isinstance(node.left, ast.Name) \
                    and node.left.id in ("n", "batch_size") and isinstance(node.right, ast.Constant):
                yield replaced(tree, node, ast.Name(id=node.left.id, ctx=ast.Load())), \
                    f"`{src(node)}` where `{node.left.id}` belongs", "only the variance has Bessel's n-1; the mean divides by n"  # noqa: E501
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                yield replaced(tree, node, copy.deepcopy(node.operand)), f"the minus of `{src(node)}`", \
                    "the sign is flipped"
        value = tree.value if isinstance(tree, (ast.Assign, ast.AugAssign)) else None
        if value is not None and not isinstance(value, ast.UnaryOp):
            new = copy.deepcopy(tree)
            new.value = ast.UnaryOp(op=ast.USub(), operand=new.value)
            yield new, "the sign of the whole line", "the sign is flipped"
    elif kind == "grouping":
        for node, *_ in nodes:
            if isinstance(node, ast.BinOp) and isinstance(node.right, ast.BinOp):
                r = node.right
                new = ast.BinOp(left=ast.BinOp(left=copy.deepcopy(node.left), op=copy.deepcopy(node.op),
                                               right=copy.deepcopy(r.left)), op=copy.deepcopy(r.op),
                                right=copy.deepcopy(r.right))
                yield replaced(tree, node, new), grouping_words(node, new), ""
            if isinstance(node, ast.BinOp) and isinstance(node.left, ast.BinOp):
                left = node.left
                new = ast.BinOp(left=copy.deepcopy(left.left), op=copy.deepcopy(left.op),
                                right=ast.BinOp(left=copy.deepcopy(left.right), op=copy.deepcopy(node.op),
                                                right=copy.deepcopy(node.right)))
                yield replaced(tree, node, new), grouping_words(node, new), ""
    elif kind == "term":
        for node, *_ in nodes:
            if isinstance(node, ast.BinOp):
                for keep, drop in ((node.left, node.right), (node.right, node.left)):
                    part = "factor" if isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult)) else "term"
                    yield (replaced(tree, node, copy.deepcopy(keep)), f"the {part} `{src(drop)}` does not belong in "
                           f"`{src(node)}`", "")
        for node, *_ in nodes:
            if isinstance(node, (ast.Name, ast.BinOp, ast.Call)) and not isinstance(node, ast.Name) or (
                    isinstance(node, ast.Name) and isinstance(ns.get(node.id), np.ndarray)):
                for name in tensors:
                    new = ast.BinOp(left=copy.deepcopy(node), op=ast.Mult(), right=ast.Name(id=name, ctx=ast.Load()))
                    yield replaced(tree, node, new), f"a factor `{name}` is missing from `{src(node)}`", ""
    elif kind == "subexpression":  # the smallest subexpression first: the most specific edit
        for node, parent, *_ in sorted(nodes, key=lambda item: len(src(item[0]))):
            if isinstance(node, (ast.Call, ast.BinOp, ast.Subscript, ast.Attribute)) and not (
                    isinstance(parent, ast.Call) and node is parent.func):
                for name in tensors:
                    if name in ("Xb",):
                        continue
                    yield (replaced_all(tree, node, ast.Name(id=name, ctx=ast.Load())),
                           f"`{src(node)}` where `{name}` belongs", made_by(name))


def made_by(name):
    """What a workspace tensor is, in the forward's own words."""
    if name in source.ALL_GRADIENTS:
        return f"{name} is the gradient of {name[1:]}"
    if name == "Yb":
        return "Yb holds each row's target, the index the one-hot's -1 goes to"
    for line in source.forward_lines():
        code = line.split("#")[0].strip()
        if code.startswith(f"{name} ="):
            return f"the forward made it: {code}"
    return f"{name} is the forward's {source.shapes().get(name, 'tensor')}"


def axis_edits(tree, node):
    args = node.args
    axis_pos = 1 if isinstance(node.func.value, ast.Name) and node.func.value.id == "np" else 0
    kw = {k.arg: k for k in node.keywords}
    current = None
    if len(args) > axis_pos and isinstance(args[axis_pos], ast.Constant):
        current = ("pos", args[axis_pos].value)
    elif "axis" in kw and isinstance(kw["axis"].value, ast.Constant):
        current = ("kw", kw["axis"].value.value)
    for axis in (0, 1, None):
        if current and axis == current[1]:
            continue
        new = copy.deepcopy(node)
        if current and current[0] == "pos":
            if axis is None:
                del new.args[axis_pos]
            else:
                new.args[axis_pos] = ast.Constant(value=axis)
        elif current:
            if axis is None:
                new.keywords = [k for k in new.keywords if k.arg != "axis"]
            else:
                next(k for k in new.keywords if k.arg == "axis").value = ast.Constant(value=axis)
        elif axis is not None:
            new.args.insert(axis_pos, ast.Constant(value=axis))
        else:
            continue
        what = "the batch (axis 0)" if axis == 0 else "each row (axis 1)" if axis == 1 else "the whole array"
        yield (replaced(tree, node, new), f"`{src(node)}` where `{src(new)}` belongs",
               f"it must reduce over {what}")
    new = copy.deepcopy(node)
    if "keepdims" in kw:
        new.keywords = [k for k in new.keywords if k.arg != "keepdims"]
        yield replaced(tree, node, new), f"`{src(node)}` where `{src(new)}` belongs (no keepdims)", ""
    else:
        new.keywords = new.keywords + [ast.keyword(arg="keepdims", value=ast.Constant(value=True))]
        yield replaced(tree, node, new), f"`{src(node)}` where `{src(new)}` belongs", \
            "keepdims=True keeps the reduced axis, so the result broadcasts along it"


def grouping_words(old, new):
    return (f"`{src(old)}` is read as `{src_grouped(old)}`: the grouping `{src(new)}` belongs "
            f"(`*`, `/` and `@` bind before `+` and `-`)")


def src_grouped(node):
    if isinstance(node, ast.BinOp):
        left = src_grouped(node.left) if isinstance(node.left, ast.BinOp) else src(node.left)
        right = src_grouped(node.right) if isinstance(node.right, ast.BinOp) else src(node.right)
        return f"({left} {OPS.get(type(node.op), '?')} {right})"
    return src(node)


def neutral(op, left, right):
    """Would `left op right` leave one side as it is (times or over 1, plus or minus 0)?"""
    one = number(right) == 1 or (op is ast.Mult and number(left) == 1)
    zero = number(right) == 0 or (op is ast.Add and number(left) == 0)
    return one if op in (ast.Mult, ast.Div) else zero if op in (ast.Add, ast.Sub) else False


def grads_in(node):
    return any(isinstance(n, ast.Name) and n.id.startswith("d") for n in ast.walk(node))
