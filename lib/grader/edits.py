"""The edits the repair search tries: a grammar over the learner's own statements, one generator per kind.

A kind is a function of a Site (the gradient's statements and what they may use) that yields Edits: the
candidate statements after one small change, where it is, and the words for it (what changed, in the learner's
own terms, and why, in the lecture's). KINDS lists them in the order the search tries them: cheap and common
first. A new kind of edit is a function here, with `@kind`, and its place in KINDS (mutation testers keep their
mutations the same way, one function per kind of node).

The grammar covers every node class of Python's `ast` or passes over it for a reason (COVERED, PASSED_OVER; a test
walks `ast` and fails on a class in neither). What is passed over is never edited: a comparison, a condition or a
`while` decides what runs, and an edit of it could run what the learner guarded. Only arithmetic is edited: names,
operators, calls of numpy's functions and methods, constants, axes, indices, the grouping of array expressions.

A row names the edit, never the corrected line: the wrong piece and the piece that belongs ("`*` where `**`
belongs, in `bndiff * 2`"); the corrected statement itself is in the Repair (`after`), for `hint --answer`.
"""
import ast
import copy
import io
import tokenize
from dataclasses import dataclass

import numpy as np

from lib import source
from lib.grader.catalogue import FUSED, KNOWLEDGE
from lib.lecture import PARAMS, STEPS

SIZES = ("n", "T", "E", "H", "V")  # the header's size letters, for a loop's range and a hard-coded number


@dataclass
class Edit:
    """One candidate: every statement of the gradient's lines, one of them (or two, for an order) changed."""
    trees: list        # the candidate statements
    line: int          # the file's line of the change
    what: str          # the change, in the learner's own terms: "`+` where `*` belongs"
    why: str           # why, in the lecture's terms ('' when there is nothing to add)


class Site:
    """What every kind sees: the gradient g, its statements (lib/grader/runs.py's Statement: node, line, text,
    writes, reads), the names of the true run (ns), the workspace tensors a line may use (nearest first), the
    learner's own arrays, and the exercise."""

    def __init__(self, g, stmts, ns, upstream, exercise, kept=(), made=None, focus=None):
        self.g, self.stmts, self.ns, self.exercise = g, stmts, ns, exercise
        self.focus = focus  # the indices of the only statements edited (a shared helper's first pass), or None
        self.answer = None  # the gradient's right value (its shape tells what a missing factor may be)
        self.kept = set(kept)  # the indices of helper statements a right gradient reads too: never edited
        self.made = made or {}  # a graded gradient -> the index of its last statement: a line may read it after
        tensors = [k for k, v in ns.items() if isinstance(v, np.ndarray) and v.ndim >= 1 and k != g
                   and (k in STEPS or k in PARAMS or k in ("Xb", "Yb") or k in upstream)]
        self.near = near_names(g)
        self.tensors = sorted(tensors, key=lambda k: (k not in self.near, k))
        written = set().union(*(st.writes for st in stmts))
        self.own = sorted(k for k in written if isinstance(ns.get(k), np.ndarray) and k not in self.tensors
                          and k != g)
        self.order = sorted(range(len(stmts)), key=lambda k: (g not in stmts[k].writes, -k))

    def usable(self, k):
        """The workspace tensors statement k may read: a gradient only when the file made it above that line."""
        at = self.stmts[k].index
        return [t for t in self.tensors if self.made.get(t, -1) < at]

    def own_above(self, k):
        """The learner's own arrays made by the statements above statement k (exercise 3's dbnvar_inv, a tmp)."""
        made = set().union(set(), *(st.writes for st in self.stmts[:k]))
        return [name for name in self.own if name in made]

    def statements(self):
        """(index, statement) in the order edits are tried: g's own lines first, the last first."""
        for k in self.order:
            if self.stmts[k].index not in self.kept and (self.focus is None or self.stmts[k].index in self.focus):
                yield k, self.stmts[k]

    def edit(self, k, new, what, why=""):
        """The Edit that puts `new` in place of statement k, with the lecture's words for the line's gradient."""
        trees = [st.node for st in self.stmts]
        trees[k] = new
        st = self.stmts[k]
        words = "; ".join(w for w in (why, local(st, self.g, self.exercise)) if w)
        made, line = AT.pop(id(new), (None, None))
        return Edit(trees=trees, line=line if made is new and line else st.line, what=what, why=words)

    def shape(self, node):
        """The shape of a name in the true run, or None."""
        v = self.ns.get(node.id) if isinstance(node, ast.Name) else None
        return np.shape(v) if isinstance(v, np.ndarray) else None


def fresh_assignment(st, g):
    """Does the statement give g a new value, not built on its old one (g = ..., not reading g)?"""
    return isinstance(st.node, ast.Assign) and g not in st.reads and any(
        isinstance(t, ast.Name) and t.id == g or isinstance(t, ast.Tuple) and any(
            isinstance(e, ast.Name) and e.id == g for e in t.elts) for t in st.node.targets)


KINDS = []


def kind(fn):
    KINDS.append(fn)
    return fn


# the grammar: what is edited, and what is passed over, for every node class of ast

COVERED = {
    "Assign": "assignment", "AugAssign": "assignment", "AnnAssign": "assignment", "Expr": "assignment",
    "Return": "its value, like any expression", "For": "loop (what it runs over), name (its variable), its body",
    "If": "its body (the condition is passed over)", "With": "its body (the context is passed over)",
    "FunctionDef": "its body's statements (a helper of the learner's)", "Lambda": "its body",
    "NamedExpr": "its value", "BinOp": "operator, grouping, term, product", "UnaryOp": "operator (a minus)",
    "IfExp": "its two values (the condition is passed over)",
    "Compare": "its operands where it makes a value (a one-hot: `np.arange(V) == Yb[:, None]`); never the comparison, "
               "never one in a condition", "Call": "call, axis, copy, term",
    "Attribute": "axis (.T), call", "Subscript": "index", "Slice": "index, constant", "Name": "tensor, name",
    "Constant": "constant (numbers)", "List": "its items", "Tuple": "its items", "Starred": "its value",
    "keyword": "axis (axis=, keepdims=)", "comprehension": "what it runs over (its conditions are passed over)",
    "ListComp": "its item", "GeneratorExp": "its item", "SetComp": "its item", "DictComp": "its items",
    "Dict": "its values", "Set": "its items", "Module": "its statements",
    "Add": "operator", "Sub": "operator", "Mult": "operator", "Div": "operator", "FloorDiv": "operator",
    "Mod": "operator", "Pow": "operator", "MatMult": "operator", "LShift": "operator", "RShift": "operator",
    "BitOr": "operator", "BitXor": "operator", "BitAnd": "operator", "UAdd": "operator", "USub": "operator",
}
CONDITION = "a condition decides what runs: an edit of it could run what the learner guarded"
PASSED_OVER = {
    "BoolOp": CONDITION, "And": CONDITION, "Or": CONDITION, "Not": CONDITION,
    "Eq": CONDITION, "NotEq": CONDITION, "Lt": CONDITION, "LtE": CONDITION, "Gt": CONDITION, "GtE": CONDITION,
    "Is": CONDITION, "IsNot": CONDITION, "In": CONDITION, "NotIn": CONDITION, "Assert": CONDITION,
    "While": "a loop whose end depends on its body: an edited one may never end",
    "Invert": "bitwise not: no gradient's arithmetic",
    "Try": "what it catches could hide a candidate's error", "TryStar": "as Try",
    "ExceptHandler": "as Try", "Raise": "an error is the learner's to raise", "Match": CONDITION,
    "match_case": CONDITION, "MatchValue": CONDITION, "MatchSingleton": CONDITION, "MatchSequence": CONDITION,
    "MatchMapping": CONDITION, "MatchClass": CONDITION, "MatchStar": CONDITION, "MatchAs": CONDITION,
    "MatchOr": CONDITION, "pattern": CONDITION,
    "Delete": "removes a name: no arithmetic", "Import": "no arithmetic", "ImportFrom": "no arithmetic",
    "alias": "no arithmetic", "Global": "no arithmetic", "Nonlocal": "no arithmetic", "Pass": "no arithmetic",
    "Break": "ends a loop: a condition's business", "Continue": "a condition's business",
    "ClassDef": "a class is not a gradient's arithmetic", "AsyncFunctionDef": "asynchronous code: not arithmetic",
    "AsyncFor": "asynchronous code", "AsyncWith": "asynchronous code", "Await": "asynchronous code",
    "Yield": "a generator's hand-over, not arithmetic", "YieldFrom": "as Yield",
    "JoinedStr": "text, not arithmetic", "FormattedValue": "text, not arithmetic",
    "arguments": "a function's parameters are its names, not arithmetic", "arg": "as arguments",
    "withitem": "the context of a with", "Load": "a name's role", "Store": "a name's role", "Del": "a name's role",
    "Interactive": "not a file's statements", "Expression": "not a file's statements",
    "FunctionType": "not a file's statements", "TypeIgnore": "a comment", "type_ignore": "a comment",
    "mod": "an abstract class", "stmt": "an abstract class", "expr": "an abstract class",
    "expr_context": "an abstract class", "boolop": "an abstract class", "operator": "an abstract class",
    "unaryop": "an abstract class", "cmpop": "an abstract class", "excepthandler": "an abstract class",
    **dict.fromkeys(("Num", "Str", "Bytes", "NameConstant", "Ellipsis", "Index", "ExtSlice", "Suite", "Param",
                     "AugLoad", "AugStore", "slice"), "an old name the parser no longer makes (a Constant, a Slice)"),
}
CONDITIONAL = (ast.If, ast.IfExp, ast.While, ast.Assert, ast.BoolOp, ast.UnaryOp, ast.comprehension)
NOT_EDITED = (ast.Compare, ast.BoolOp, ast.While, ast.Try, ast.Raise, ast.Match, ast.Assert, ast.Delete,
              ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef, ast.AsyncFunctionDef,
              ast.AsyncFor, ast.AsyncWith, ast.Await, ast.Yield, ast.YieldFrom, ast.JoinedStr, ast.arguments,
              ast.withitem, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
CONDITIONS = {ast.If: ("test",), ast.IfExp: ("test",), ast.comprehension: ("ifs", "target"), ast.For: ("target",),
              ast.With: ("items",), ast.FunctionDef: ("args", "decorator_list", "returns", "name"),
              ast.Lambda: ("args",), ast.keyword: ("arg",), ast.NamedExpr: ("target",)}


def walk(tree):
    """Every node an edit may change, with its parent and field: (node, parent, field, index). Targets of an
    assignment are not edited (an index in one is: dlogits[range(n), Yb]); nor anything PASSED_OVER, nor a node
    that holds a condition (replacing it whole would drop the guard). Walked once per statement (cached)."""
    return walked(tree)[0]


WALKED = {}  # id(statement) -> (statement, its walk, each node's path from the statement): the search asks often


def walked(tree):
    hit = WALKED.get(id(tree))
    if hit is not None and hit[0] is tree:
        return hit[1], hit[2]
    held = guards(tree)
    out, paths, todo = [], {}, [(tree, None, None, None, ())]
    while todo:
        node, parent, fieldname, index, path = todo.pop()
        if isinstance(node, ast.Compare) and parent is not None and not isinstance(parent, CONDITIONAL):
            paths[id(node)] = path  # not an edit's node, but a factor may be added to it (a one-hot's factor)
            for i, operand in enumerate([node.left] + node.comparators):  # a value's comparison: its operands
                where = ("left", None) if i == 0 else ("comparators", i - 1)
                todo.append((operand, node, where[0], where[1], path + (where,)))
            continue
        if isinstance(node, NOT_EDITED) or getattr(node, "ctx", None).__class__ in (ast.Store, ast.Del):
            if isinstance(node, ast.Subscript) and not isinstance(node.value, NOT_EDITED):
                todo.append((node.slice, node, "slice", None, path + (("slice", None),)))  # its index is edited
            continue
        if parent is not None and id(node) not in held and not isinstance(node, ast.stmt):
            out.append((node, parent, fieldname, index))
            paths[id(node)] = path
        skip = CONDITIONS.get(type(node), ())
        for name, child in ast.iter_fields(node):
            if name in skip:
                continue
            if isinstance(child, ast.AST):
                todo.append((child, node, name, None, path + ((name, None),)))
            elif isinstance(child, list):
                for i, c in enumerate(child):
                    if isinstance(c, ast.AST):
                        todo.append((c, node, name, i, path + ((name, i),)))
    if len(WALKED) > 512:
        WALKED.clear()
    WALKED[id(tree)] = (tree, out, paths)
    return out, paths


def guards(tree):
    """The ids of the nodes that hold a condition (a comparison, and/or, a while, a conditional's test)."""
    held = set()

    def visit(node):
        inside = isinstance(node, (ast.Compare, ast.BoolOp, ast.While, ast.IfExp, ast.If)) or (
            isinstance(node, ast.comprehension) and bool(node.ifs))
        for child in ast.iter_child_nodes(node):
            inside = visit(child) or inside
        if inside:
            held.add(id(node))
        return inside
    visit(tree)
    return held


def replaced(tree, target, new):
    """The statement with the node `target` (found by identity) replaced by `new`: the nodes on the way down are
    copied, the rest shared with the learner's statement (never changed: a candidate is compiled, not edited)."""
    path = walked(tree)[1][id(target)]
    root = node = copy.copy(tree)
    for k, (fieldname, index) in enumerate(path):
        last = k == len(path) - 1
        if index is None:
            child = new if last else copy.copy(getattr(node, fieldname))
            setattr(node, fieldname, child)
        else:
            items = list(getattr(node, fieldname))
            child = items[index] = new if last else copy.copy(items[index])
            setattr(node, fieldname, items)
        node = child
    AT[id(root)] = (root, getattr(target, "lineno", None))  # the line of the change, in a statement of many lines
    if len(AT) > 4096:
        AT.clear()
    return root


AT = {}  # id(edited statement) -> (it, the line of the node replaced): a loop's body, not its first line


def replaced_all(tree, target, new):
    """The statement with every occurrence of the subexpression `target` (the same text) replaced by `new`."""
    text, out = src(target), tree
    for _ in range(20):
        same = [n for n, *_ in walk(out) if type(n) is type(target) and src(n) == text]
        if not same:
            break
        out = replaced(out, same[0], copy.deepcopy(new))
    return out


def src(node):
    return ast.unparse(node)


def expr(text):
    return ast.parse(text, mode="eval").body


def number(node):
    """The value of a number written as a constant, with its sign (-1.5 is a minus and 1.5), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def binops(tree):
    return [n for n, *_ in walk(tree) if isinstance(n, ast.BinOp)]


def calls(tree):
    return [n for n, *_ in walk(tree) if isinstance(n, ast.Call)]


def method(node):
    """'sum' for x.sum(...) and np.sum(...), else None."""
    return node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None


def on_numpy(node):
    return isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and \
        node.func.value.id == "np"


# the words: each operator, and what one of a pair means where the other belongs

SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
          ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)  # what an operator may become: `%` and
# `//` are only ever edited away (p % 3 is p for probabilities: an edit to them would be right by accident)
MEANS = {
    ast.Pow: "`**` is a power, `*` a product",
    ast.FloorDiv: "`//` rounds down to a whole number, and a gradient's fractions are lost",
    ast.Mod: "`%` is the remainder of a division, not a division",
    ast.MatMult: "`@` is the matrix product; `*` multiplies element by element (the forward's `@` goes back as a "
                 "`@` with a transpose)",
    ast.BitXor: "`^` is bitwise exclusive or in Python, not a power (`**`)",
    ast.BitAnd: "`&` is bitwise and", ast.BitOr: "`|` is bitwise or",
    ast.LShift: "`<<` shifts bits", ast.RShift: "`>>` shifts bits",
}


def operator_why(old, new, node):
    sides = (getattr(node, "left", None), getattr(node, "right", getattr(node, "value", None)))
    if old is ast.Add and new is ast.Mult and all(number(side) is None for side in sides):
        return "the chain rule multiplies the local derivative by the gradient arriving from above"
    if {old, new} == {ast.Add, ast.Sub}:
        return "the sign of one term is flipped"
    if {old, new} == {ast.Mult, ast.Div}:
        return "one factor is upside down"
    return MEANS.get(old) or MEANS.get(new) or ""


def neutral(op, left, right):
    """Would `left op right` leave one side as it is (times or over 1, plus or minus 0, a power of 1)?"""
    one = number(right) == 1 or (op is ast.Mult and number(left) == 1)
    zero = number(right) == 0 or (op is ast.Add and number(left) == 0)
    return one if op in (ast.Mult, ast.Div, ast.Pow, ast.FloorDiv) else zero if op in (ast.Add, ast.Sub) else False


# the kinds, in the order the search tries them

@kind
def order(site):
    """Two neighbouring statements, one reading or changing what the other writes, the other way round."""
    stmts = site.stmts
    for k in range(len(stmts) - 1):
        a, b = stmts[k], stmts[k + 1]
        if site.focus is not None and not {a.index, b.index} & site.focus:
            continue
        if a.index in site.kept or b.index in site.kept or a.writes & b.writes and all(
                fresh_assignment(st, w) for st in (a, b) for w in a.writes & b.writes):
            continue  # two fresh values of one name: the first is thrown away whichever runs first
        if not (a.writes & b.reads or b.writes & a.reads or a.writes & b.writes):
            continue
        trees = [st.node for st in stmts]
        trees[k], trees[k + 1] = trees[k + 1], trees[k]
        why = f"`{src(b.node)}` must run first: written before it, `{src(a.node)}` changes what it then works on"
        if isinstance(a.node, ast.AugAssign) and isinstance(a.node.op, (ast.Div, ast.Mult)):
            why = (f"`{src(a.node)}` scales what is there when it runs, and the next line's change comes after it "
                   f"unscaled: the change first, then `{src(a.node)}` scales it too")
        where = f"lines {a.line} and {b.line}" if a.line != b.line else f"`{src(a.node)}` and `{src(b.node)}`"
        yield Edit(trees=trees, line=a.line, what=f"{where} in the other order", why=why)


@kind
def assignment(site):
    """`=`, `+=`, `-=`, `*=`, `/=` for one another, and a value that goes nowhere stored."""
    for k, st in site.statements():
        tree = st.node
        if isinstance(tree, ast.AugAssign):
            old = SYMBOL.get(type(tree.op), "?")
            for op in (ast.Add, ast.Sub, ast.Mult, ast.Div):
                if op is not type(tree.op):
                    new = copy.deepcopy(tree)
                    new.op = op()
                    yield site.edit(k, new, f"`{old}=` where `{SYMBOL[op]}=` belongs", operator_why(type(tree.op),
                                                                                                  op, tree))
            new = ast.copy_location(ast.Assign(targets=[copy.deepcopy(tree.target)],
                                               value=copy.deepcopy(tree.value)), tree)
            yield site.edit(k, new, f"`{old}=` where `=` belongs", "the gradient starts fresh on this line")
        elif isinstance(tree, ast.Assign) and len(tree.targets) == 1 and isinstance(tree.targets[0],
                                                                                   (ast.Name, ast.Subscript)):
            target = tree.targets[0]
            name = target.id if isinstance(target, ast.Name) else None
            v = number(tree.value)
            if v is not None and v < 0:  # `= -1` where `-= 1` belongs (the one-hot's -1 taken from probs)
                new = ast.copy_location(ast.AugAssign(target=copy.deepcopy(target), op=ast.Sub(),
                                                      value=ast.Constant(value=-v)), tree)
                yield site.edit(k, new, f"`= {src(tree.value)}` where `-= {fmt(-v)}` belongs",
                                "`=` puts the number in place of what is there; `-=` takes it away from it")
            if name is None or name in site.ns or any(name in s.writes for s in site.stmts[:k]):
                for op in (ast.Add, ast.Sub, ast.Mult, ast.Div):
                    new = ast.copy_location(ast.AugAssign(target=copy.deepcopy(target), op=op(),
                                                          value=copy.deepcopy(tree.value)), tree)
                    why = ("a tensor used twice gets the gradient of both uses: the second adds to the first, and "
                           "`=` throws the first away") if op is ast.Add else ""
                    yield site.edit(k, new, f"`=` where `{SYMBOL[op]}=` belongs", why)
        elif isinstance(tree, ast.Expr) and isinstance(tree.value, ast.BinOp) and isinstance(
                tree.value.left, (ast.Name, ast.Subscript)) and isinstance(tree.value.op, (ast.Add, ast.Sub, ast.Mult,
                                                                                         ast.Div)):
            value = tree.value
            target = copy.deepcopy(value.left)
            for n in ast.walk(target):
                if hasattr(n, "ctx") and n is target:
                    n.ctx = ast.Store()
            new = ast.copy_location(ast.AugAssign(target=target, op=copy.deepcopy(value.op),
                                                  value=copy.deepcopy(value.right)), tree)
            sym = SYMBOL[type(value.op)]
            yield site.edit(k, new, f"`{src(value)}` computes a value and drops it: `{sym}=` where `{sym}` belongs",
                            "a line whose result is not stored changes nothing")


# siblings: a function or method a learner writes where another of its family belongs, with what tells them apart
FAMILIES = [
    (("zeros_like", "ones_like", "empty_like", "full_like"),
     "`np.zeros_like` starts from 0, `np.ones_like` from 1, `np.empty_like` from whatever memory held"),
    (("zeros", "ones", "empty"),
     "`np.zeros` starts from 0, `np.ones` from 1, `np.empty` from whatever memory held"),
    (("max", "argmax", "maximum", "amax"),
     "`max` gives the largest value, `argmax` its index, `np.maximum` the larger of two arrays, element by element"),
    (("min", "argmin", "minimum", "amin"),
     "`min` gives the smallest value, `argmin` its index, `np.minimum` the smaller of two arrays"),
    (("outer", "dot", "matmul", "multiply"),
     "`np.outer` makes a matrix of two vectors, `np.dot`/`np.matmul` is the matrix product (`@`), `np.multiply` "
     "multiplies element by element (`*`)"),
    (("add", "subtract", "multiply", "divide", "power"),
     "`np.add`, `np.subtract`, `np.multiply`, `np.divide` and `np.power` are `+`, `-`, `*`, `/` and `**` as functions"),
    (("exp", "log"), "`exp` and `log` undo each other: d log(x)/dx = 1/x, d exp(x)/dx = exp(x)"),
    (("sum", "mean"), "a broadcast's gradient is the sum of its copies; a mean divides it by their number again"),
    (("tanh", "arctanh"), "h = tanh(hpreact): d tanh(x)/dx = 1 - tanh(x)**2 = 1 - h**2"),
    (("sqrt", "square"), "`np.sqrt` is the power 1/2, `np.square` the power 2"),
    (("copy", "view"), "`.view()` shares the array's memory; `.copy()` makes a new one"),
    (("reshape", "view", "flatten", "ravel"), "numpy's reshape is `.reshape(...)`"),
    (("arange", "ones", "zeros"), "`np.arange(n)` counts 0 to n-1: one index per row"),
    (("transpose", "swapaxes"), "a gradient has the shape of its tensor"),
]
PRODUCTS = next(why for family, why in FAMILIES if "outer" in family)
ZEROS = {"zeros_like", "zeros", "empty_like", "empty"}
TORCH = {"clone": "copy", "view": "reshape", "t": "transpose", "dim": "axis", "keepdim": "keepdims",
         "transpose": "T"}


@kind
def call(site):
    """One function or method for its sibling (np.zeros_like for np.ones_like, max for argmax, np.sum for Python's
    sum), a torch spelling for numpy's, a keyword for its numpy spelling."""
    for k, st in site.statements():
        for node, *_ in walk(st.node):  # torch's x.max(1).indices / .values: numpy's x.argmax(1) / x.max(1)
            if isinstance(node, ast.Attribute) and node.attr in ("indices", "values") and isinstance(
                    node.value, ast.Call) and method(node.value) in ("max", "min"):
                new = copy.deepcopy(node.value)
                if node.attr == "indices":
                    new.func.attr = "arg" + new.func.attr
                new.keywords = [ast.keyword(arg="axis" if kw.arg == "dim" else kw.arg, value=kw.value)
                                for kw in new.keywords if kw.arg not in ("keepdim", "keepdims")] + [
                    kw for kw in new.keywords if kw.arg == "keepdims" and node.attr == "values"]
                yield site.edit(k, replaced(st.node, node, new), f"torch's `.{node.value.func.attr}(...).{node.attr}` "
                                f"where numpy's `.{new.func.attr}(...)` belongs",
                                "numpy's max gives the values, argmax the indices: no .values, .indices")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not on_numpy(node) and \
                    node.func.attr in ("exp", "log", "tanh", "sqrt") and not node.args and not node.keywords:
                new = ast.Call(func=ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=node.func.attr,
                                                  ctx=ast.Load()), args=[copy.deepcopy(node.func.value)], keywords=[])
                yield site.edit(k, replaced(st.node, node, new), f"torch's `.{node.func.attr}()` where numpy's "
                                f"`np.{node.func.attr}(...)` belongs", "an array has no such method: numpy's is a "
                                "function")
        factors = {id(n) for b in binops(st.node) if isinstance(b.op, (ast.Mult, ast.MatMult))
                   for n in (b.left, b.right)}
        for node in calls(st.node):
            name = method(node) or (node.func.id if isinstance(node.func, ast.Name) else None)
            if name is None:
                continue
            for family, why in FAMILIES:
                if name in family:
                    for other in family:
                        if other == name or other in ZEROS and id(node) in factors:
                            continue  # a factor of zeros drops its term: the term kind says so
                        new = copy.deepcopy(node)
                        if isinstance(new.func, ast.Attribute):
                            new.func.attr = other
                        else:
                            new.func = ast.Name(id=other, ctx=ast.Load())
                        old_text = f"np.{name}" if on_numpy(node) else f".{name}(" if isinstance(
                            node.func, ast.Attribute) else f"{name}("
                        new_text = f"np.{other}" if on_numpy(node) else f".{other}(" if isinstance(
                            node.func, ast.Attribute) else f"{other}("
                        yield site.edit(k, replaced(st.node, node, new), f"`{old_text}` where `{new_text}` belongs",
                                        why)
            if name in ("outer", "dot", "matmul", "multiply") and on_numpy(node) and len(node.args) == 2:
                for op in (ast.MatMult, ast.Mult):
                    new = ast.BinOp(left=copy.deepcopy(node.args[0]), op=op(), right=copy.deepcopy(node.args[1]))
                    yield site.edit(k, replaced(st.node, node, new), f"`np.{name}` where `{SYMBOL[op]}` belongs, in "
                                    f"`{src(node)}`", PRODUCTS)
            if isinstance(node.func, ast.Name) and name in ("sum", "max", "min", "abs") and node.args:
                new = ast.Call(func=ast.Attribute(value=ast.Name(id="np", ctx=ast.Load()), attr=name,
                                                  ctx=ast.Load()), args=copy.deepcopy(node.args),
                               keywords=copy.deepcopy(node.keywords))
                yield site.edit(k, replaced(st.node, node, new), f"Python's `{name}(` where `np.{name}(` belongs",
                                f"Python's {name} runs over the first axis only, one row at a time; np.{name} "
                                f"takes the whole array (and axis=, keepdims=)")
            if isinstance(node.func, ast.Attribute) and node.func.attr in TORCH and not node.args:
                spelled = TORCH[node.func.attr]
                new = (ast.Attribute(value=copy.deepcopy(node.func.value), attr="T", ctx=ast.Load())
                       if spelled in ("transpose", "T") else ast.Call(
                           func=ast.Attribute(value=copy.deepcopy(node.func.value), attr=spelled, ctx=ast.Load()),
                           args=[], keywords=[]))
                yield site.edit(k, replaced(st.node, node, new), f"torch's `.{node.func.attr}()` where numpy's "
                                f"`{'.T' if spelled in ('transpose', 'T') else '.' + spelled + '()'}` belongs", "")
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and \
                    node.func.value.id in ("torch", "F") and node.func.value.id not in site.ns and \
                    hasattr(np, node.func.attr):
                new = copy.deepcopy(node)
                new.func.value = ast.Name(id="np", ctx=ast.Load())
                yield site.edit(k, replaced(st.node, node, new), f"torch's `{src(node.func)}` where numpy's "
                                f"`np.{node.func.attr}` belongs", "the practice file is numpy's: no torch here")
            for j, kw in enumerate(node.keywords):
                if kw.arg in TORCH:
                    new = copy.deepcopy(node)
                    new.keywords[j].arg = TORCH[kw.arg]
                    yield site.edit(k, replaced(st.node, node, new), f"torch's `{kw.arg}=` where numpy's "
                                    f"`{TORCH[kw.arg]}=` belongs", "")
            if name in ("var", "std"):  # Bessel's n-1 in numpy's spelling
                kw = {k.arg: k for k in node.keywords}
                ddof = number(kw["ddof"].value) if "ddof" in kw else 0
                new = copy.deepcopy(node)
                new.keywords = [k for k in new.keywords if k.arg != "ddof"] + (
                    [ast.keyword(arg="ddof", value=ast.Constant(value=1))] if ddof != 1 else [])
                yield site.edit(k, replaced(st.node, node, new), f"`{src(node)}` divides by "
                                f"{'n' if ddof != 1 else 'n-1'} where the forward's batch variance divides by "
                                f"{'n-1 (ddof=1)' if ddof != 1 else 'n (ddof=0)'}",
                                "Bessel's correction: the forward's bnvar divides by n-1")
            for j, kw in enumerate(node.keywords):
                new = copy.deepcopy(node)
                del new.keywords[j]
                yield site.edit(k, replaced(st.node, node, new), f"`{kw.arg}={src(kw.value)}` does not belong in "
                                f"`{src(node)}`", "")


DERIVATIVES = {"log": ("1 / {x}", "d log(x)/dx = 1/x"), "tanh": ("(1 - np.tanh({x}) ** 2)",
                                                                  "d tanh(x)/dx = 1 - tanh(x)**2"),
               "sqrt": ("0.5 / np.sqrt({x})", "d sqrt(x)/dx = 1/(2 sqrt(x))"), "exp": ("np.exp({x})", "")}


@kind
def derivative(site):
    """The forward's function where its derivative belongs: `np.log(probs)` for `1 / probs`, `np.tanh(x)` for
    `1 - np.tanh(x)**2`."""
    for k, st in site.statements():
        for node in calls(st.node):
            name = method(node)
            if on_numpy(node) and name in DERIVATIVES and name != "exp" and len(node.args) == 1 and not node.keywords:
                form, rule = DERIVATIVES[name]
                new = expr(form.format(x=f"({src(node.args[0])})"))
                yield site.edit(k, replaced(st.node, node, new), f"`{src(node)}` is the forward's own function: "
                                f"its derivative belongs there", rule)


@kind
def power(site):
    """A power's number: its sign, one more or one less, twice or half it (`std**-1.5` where `std**-3` belongs,
    `bnvar_inv**-1.5` where `bnvar_inv**3` belongs)."""
    for k, st in site.statements():
        for node in binops(st.node):
            p = number(node.right) if isinstance(node.op, ast.Pow) else None
            if p is None:
                continue
            for q in dict.fromkeys((-p, p + 1, p - 1, 2 * p, p / 2, -2 * p, -p / 2, 3, -3, 2, -2, 1.5, -1.5, 0.5, -0.5,
                                    1, -1)):
                if q == p:
                    continue
                q = int(q) if float(q).is_integer() and isinstance(p, int) or float(q).is_integer() and abs(q) > 1 \
                    else q
                new = ast.BinOp(left=copy.deepcopy(node.left), op=ast.Pow(), right=ast.Constant(value=q))
                base = node.left.id if isinstance(node.left, ast.Name) else None
                made = made_by(base) if base in STEPS else ""
                why = made if "**" in made else "d x^p = p x^(p-1)"  # bnvar_inv is a power already
                yield site.edit(k, replaced(st.node, node, new), f"the power `{fmt(p)}` where `{fmt(q)}` belongs, in "
                                f"`{src(node)}`", why)


def fmt(x):
    return str(int(x)) if float(x).is_integer() else str(x)


@kind
def operator(site):
    """Any arithmetic operator for any other, and a minus dropped or added."""
    for k, st in site.statements():
        for node in binops(st.node):
            old = type(node.op)
            for op in ARITHMETIC:
                if op is old or neutral(op, node.left, node.right):  # `x * 1` for `x + 1` drops a term: term says so
                    continue
                new = ast.BinOp(left=copy.deepcopy(node.left), op=op(), right=copy.deepcopy(node.right))
                what = f"`{SYMBOL.get(old, '?')}` where `{SYMBOL[op]}` belongs, in `{src(node)}`"
                yield site.edit(k, replaced(st.node, node, new), what, operator_why(old, op, node))
                if op is ast.Pow and isinstance(node.left, ast.UnaryOp) and isinstance(node.left.op, ast.USub):
                    power = ast.BinOp(left=copy.deepcopy(node.left.operand), op=ast.Pow(), right=copy.deepcopy(
                        node.right))  # -x ** p is -(x ** p): `**` binds before the minus
                    yield site.edit(k, replaced(st.node, node, ast.UnaryOp(op=ast.USub(), operand=power)), what,
                                    operator_why(old, op, node))
        for node, *_ in walk(st.node):
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                yield site.edit(k, replaced(st.node, node, copy.deepcopy(node.operand)),
                                f"the minus of `{src(node)}`", "the sign is flipped")
        for root in roots(st.node):  # as typed: `x * -2` where `x ** -2` belongs, whatever binds first then
            toks = tokens(src(root))
            for x, t in enumerate(toks or ()):
                old_op = TYPED.get(t)
                if old_op is None or not x or not ends_operand(toks[x - 1]):
                    continue
                sides = [ast.Constant(value=float(t)) if t[:1].isdigit() and t.replace(".", "", 1).isdigit() else
                         ast.Name(id="x") for t in (toks[x - 1], toks[x + 1] if x + 1 < len(toks) else "x")]
                for op in ARITHMETIC:
                    if op is not old_op and not neutral(op, *sides):  # `n * 1` for `n - 1` drops a term
                        new = reparsed(toks[:x] + [SYMBOL[op]] + toks[x + 1:], root)
                        if new is not None:
                            context = spoken(toks[operand_start(toks, x):operand_end(toks, x) + 1])
                            yield site.edit(k, replaced(st.node, root, new), f"`{t}` where `{SYMBOL[op]}` belongs, "
                                            f"in `{context}`", MEANS.get(old_op) or MEANS.get(op) or "")


TYPED = {SYMBOL[op]: op for op in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)}


def ends_operand(t):
    """Does a token end an operand (so the operator after it is binary, not a sign)?"""
    return t in (")", "]") or (t.isidentifier() and t not in BINARY) or t[:1].isdigit() or t[:1] in "\"'."


def operand_start(toks, x):
    """The first token of the operand that ends just before token x (with its sign)."""
    y = x - 1
    while y > 0:
        if toks[y] in (")", "]"):
            depth = 0
            while y > 0:
                depth += toks[y] in (")", "]")
                depth -= toks[y] in ("(", "[")
                if depth == 0:
                    break
                y -= 1
            if y > 0 and ends_operand(toks[y - 1]):
                y -= 1
                continue
        elif y > 1 and toks[y - 1] == ".":
            y -= 2
            continue
        break
    if y > 0 and toks[y - 1] in ("-", "+") and (y == 1 or not ends_operand(toks[y - 2])):
        y -= 1
    return max(y, 0)


def operand_end(toks, x):
    """The last token of the operand that starts just after token x (a sign, a name, its calls and indices)."""
    y, depth = x + 1, 0
    while y < len(toks) and toks[y] in ("-", "+") and depth == 0:
        y += 1
    while y < len(toks):
        t = toks[y]
        if t in ("(", "["):
            depth += 1
        elif t in (")", "]"):
            depth -= 1
            if depth < 0:
                return y - 1
        if depth == 0:
            after = toks[y + 1] if y + 1 < len(toks) else ""
            if after in (".", "(", "[") or t == ".":
                y += 1
                continue
            return y
        y += 1
    return len(toks) - 1


@kind
def tensor(site):
    """One workspace tensor for another of as many axes (counts for probs)."""
    for k, st in site.statements():
        found = [(n, parent) for n, parent, *_ in walk(st.node) if isinstance(n, ast.Name) and isinstance(n.ctx,
                                                                                                      ast.Load)]
        nodes = [n for n, _ in found]
        sized = {id(n.value.value) for n, *_ in walk(st.node) if isinstance(n, ast.Subscript) and isinstance(
            n.value, ast.Attribute) and n.value.attr == "shape"}
        for node, parent in found:
            if node.id not in site.tensors + [site.g] or id(node) in sized:
                continue  # `logits.shape[0]` for `logits.shape[1]` is the axis kind's: another tensor's size is luck
            ndim = len(site.shape(node) or ())
            many = sum(n.id == node.id for n in nodes) > 1
            for name in site.usable(k):
                if name == node.id or np.ndim(site.ns[name]) != ndim and name not in site.near:
                    continue  # a tensor of another shape only when it is the gradient's neighbour (embcat for emb)
                new = ast.Name(id=name, ctx=ast.Load())
                shaped = method(parent) in ("zeros_like", "ones_like", "empty_like", "full_like")
                if shaped:
                    yield site.edit(k, replaced(st.node, node, new), f"`{node.id}` where `{name}` belongs, in "
                                    f"`{src(parent)}`: {site.g} takes the shape of {name}, "
                                    f"{tuple(np.shape(site.ns[name]))}", "a gradient has the shape of its tensor")
                    continue
                yield site.edit(k, replaced(st.node, node, new), f"`{node.id}` where `{name}` belongs")
                if many:
                    yield site.edit(k, replaced_all(st.node, node, new), f"`{node.id}` where `{name}` belongs "
                                    "(each time)")


@kind
def name(site):
    """A name where another name of the same statement was meant (a loop's i for its j)."""
    for k, st in site.statements():
        nodes = [n for n, *_ in walk(st.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        names = sorted({n.id for n in nodes if n.id != "np" and not callable(site.ns.get(n.id))
                        and not isinstance(site.ns.get(n.id), np.ndarray)} | loop_names(st.node))
        for node in nodes:
            for other in names:
                if other != node.id and node.id in names:
                    yield site.edit(k, replaced(st.node, node, ast.Name(id=other, ctx=ast.Load())),
                                    f"`{node.id}` where `{other}` belongs, in `{inner(st.node, node)}`"[:160],
                                    "")
        for node in nodes:  # one size for another: `/ V` where `/ n` belongs
            if node.id in SIZE_NAMES:
                for other in SIZES:
                    if other != SIZE_NAMES[node.id] and other in site.ns:
                        yield site.edit(k, replaced(st.node, node, ast.Name(id=other, ctx=ast.Load())),
                                        f"`{node.id}` where `{other}` belongs ({SIZE_MEANS[other]})")


def inner(tree, node):
    """The first line of the innermost simple statement of tree that holds node (a helper's line, not its def)."""
    best = tree
    for st in ast.walk(tree):
        if isinstance(st, ast.stmt) and not isinstance(st, (ast.FunctionDef, ast.For, ast.If, ast.While, ast.With)) \
                and any(n is node for n in ast.walk(st)):
            best = st
    return src(best).splitlines()[0]


def loop_names(tree):
    return {t.id for n in ast.walk(tree) if isinstance(n, (ast.For, ast.comprehension))
            for t in ast.walk(n.target) if isinstance(t, ast.Name)}


@kind
def axis(site):
    """An axis, keepdims, or a transpose: the reduction over the other axis, with or without its kept axis; a `.T`
    dropped or added; a tensor broadcast in the forward summed."""
    for k, st in site.statements():
        for node, *_ in walk(st.node):
            if isinstance(node, ast.Call) and method(node) in REDUCERS:
                for new, what, why in axis_edits(node):
                    yield site.edit(k, replaced(st.node, node, new), what, why)
            if isinstance(node, ast.Call) and method(node) == "einsum" and node.args and isinstance(
                    node.args[0], ast.Constant) and "->" in str(node.args[0].value):
                for spec, what in einsum_outputs(node.args[0].value):
                    new = copy.deepcopy(node)
                    new.args[0] = ast.Constant(value=spec)
                    yield site.edit(k, replaced(st.node, node, new), what, "the letters after `->` are the axes "
                                    "kept; every other letter is summed over")
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and \
                    node.value.attr == "shape" and number(node.slice) is not None:
                for ax in (0, 1, 2, -1):
                    v = site.shape(node.value.value)
                    if ax != number(node.slice) and v is not None and -len(v) <= ax < len(v):
                        new = ast.Subscript(value=copy.deepcopy(node.value), slice=ast.Constant(value=ax),
                                            ctx=ast.Load())
                        yield site.edit(k, replaced(st.node, node, new), f"`{src(node)}` ({v[number(node.slice)]}) "
                                        f"where `{src(new)}` ({v[ax]}) belongs", "")
            if isinstance(node, ast.Attribute) and node.attr == "T":
                yield site.edit(k, replaced(st.node, node, copy.deepcopy(node.value)),
                                f"`{src(node)}` where `{src(node.value)}` belongs (no transpose)",
                                "a gradient has the shape of its tensor")
            shape = site.shape(node)
            if shape is not None and len(shape) == 2 and isinstance(node.ctx, ast.Load):
                t = ast.Attribute(value=ast.Name(id=node.id, ctx=ast.Load()), attr="T", ctx=ast.Load())
                yield site.edit(k, replaced(st.node, node, t), f"`{node.id}` where `{node.id}.T` belongs",
                                "a gradient has the shape of its tensor: line the matmul up so the shapes chain")
                for ax, keep in ((0, True), (1, True), (0, False)):
                    summed = expr(f"{node.id}.sum({ax}{', keepdims=True' if keep else ''})")
                    yield site.edit(k, replaced(st.node, node, summed),
                                    f"`{node.id}` where its sum `{src(summed)}` belongs",
                                    "a tensor broadcast in the forward pass gets the sum of its copies' gradients")


def einsum_outputs(spec):
    """(another spec, what) for an einsum's output letters: each one or two of its input letters, or none."""
    inputs, out = spec.replace(" ", "").split("->", 1)
    letters = sorted(set(inputs) - {","})
    outs = [""] + letters + [a + b for a in letters for b in letters if a != b]
    for new in outs:
        if new != out:
            yield f"{inputs}->{new}", f"einsum's `->{out}` where `->{new}` belongs, in `'{spec}'`"


REDUCERS = {"sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "var", "std"}


def axis_edits(node):
    """(new call, what, why) for the reduction `node`: another axis, keepdims added or dropped."""
    pos = 1 if on_numpy(node) else 0
    kw = {k.arg: k for k in node.keywords}
    current = None
    if len(node.args) > pos and (number(node.args[pos]) is not None or isinstance(node.args[pos], ast.Constant)):
        current = ("pos", number(node.args[pos]) if number(node.args[pos]) is not None else node.args[pos].value)
    elif "axis" in kw and (number(kw["axis"].value) is not None or isinstance(kw["axis"].value, ast.Constant)):
        v = kw["axis"].value
        current = ("kw", number(v) if number(v) is not None else v.value)
    for ax, keep in ((0, False), (1, False), (None, False), (0, True), (1, True)):
        if current and ax == current[1] or (not current and ax is None) or keep and "keepdims" in kw:
            continue
        new = copy.deepcopy(node)
        if keep:
            new.keywords = new.keywords + [ast.keyword(arg="keepdims", value=ast.Constant(value=True))]
        if current and current[0] == "pos":
            if ax is None:
                del new.args[pos]
            else:
                new.args[pos] = ast.Constant(value=ax)
        elif current:
            if ax is None:
                new.keywords = [k for k in new.keywords if k.arg != "axis"]
            else:
                next(k for k in new.keywords if k.arg == "axis").value = ast.Constant(value=ax)
        else:
            new.args.insert(pos, ast.Constant(value=ax))
        what = "the batch (axis 0)" if ax == 0 else "each row (axis 1)" if ax == 1 else "the whole array"
        was = "the whole array" if not current or current[1] is None else f"axis {current[1]}"
        kept = ", keeping that axis (keepdims=True)" if keep else ""
        yield new, f"`{src(node)}` reduces over {was} where it must reduce over {what}{kept}", ""
    new = copy.deepcopy(node)
    if "keepdims" in kw:
        new.keywords = [k for k in new.keywords if k.arg != "keepdims"]
        yield new, f"`keepdims=True` does not belong in `{src(node)}`", ""
    else:
        new.keywords = new.keywords + [ast.keyword(arg="keepdims", value=ast.Constant(value=True))]
        yield new, f"`{src(node)}` drops the axis it reduces: keepdims=True belongs", \
            "keepdims=True keeps the reduced axis, so the result broadcasts along it"


@kind
def index(site):
    """An index's structure: [Yb] for [range(n), Yb], [:, Yb] for one entry per row, a missing [:, None], and a
    `.T` on the wrong operand of a matrix product."""
    for k, st in site.statements():
        paths = walked(st.node)[1]
        for node in ast.walk(st.node):  # the slices of targets too: dlogits[Yb] -= 1
            if not isinstance(node, ast.Subscript) or id(node.slice) not in paths:
                continue
            sl, name = node.slice, src(node.value)
            if not isinstance(sl, (ast.Tuple, ast.Slice)):
                for rows in ("range(n)", "np.arange(n)"):
                    new = ast.Tuple(elts=[expr(rows), copy.deepcopy(sl)], ctx=ast.Load())
                    yield site.edit(k, replaced(st.node, sl, new),
                                    f"`{name}[{src(sl)}]` picks whole rows, one per entry of `{src(sl)}`: one entry "
                                    f"per row is `[{rows}, {src(sl)}]`")
            loops = sorted(loop_names(site.stmts[k].node))
            if isinstance(sl, ast.Name) and sl.id in loops:
                for other in loops:
                    if other != sl.id:
                        for pair in ((sl.id, other), (other, sl.id)):
                            new = ast.Tuple(elts=[ast.Name(id=v, ctx=ast.Load()) for v in pair], ctx=ast.Load())
                            yield site.edit(k, replaced(st.node, sl, new), f"`{name}[{sl.id}]` takes a whole row "
                                            f"where one entry belongs: `{name}[{', '.join(pair)}]`")
            if isinstance(sl, ast.Tuple) and len(sl.elts) >= 2:
                for i in range(len(sl.elts)):
                    for j in range(i + 1, len(sl.elts)):
                        new = copy.deepcopy(sl)
                        new.elts[i], new.elts[j] = new.elts[j], new.elts[i]
                        yield site.edit(k, replaced(st.node, sl, new), f"the indices of `{name}[{items(sl)}]` the "
                                        f"other way round: `[{items(new)}]`")
            if isinstance(sl, ast.Tuple) and len(sl.elts) == 2 and isinstance(sl.elts[0], ast.Slice) and \
                    sl.elts[0].lower is None and sl.elts[0].upper is None and \
                    not isinstance(sl.elts[1], (ast.Slice, ast.Constant)):
                new = ast.Tuple(elts=[expr("range(n)"), copy.deepcopy(sl.elts[1])], ctx=ast.Load())
                yield site.edit(k, replaced(st.node, sl, new),
                                f"`{name}[:, {src(sl.elts[1])}]` takes every row at every one of its columns (n x n "
                                f"entries): one entry per row is `[range(n), {src(sl.elts[1])}]`")
            if isinstance(sl, ast.Tuple) and len(sl.elts) == 2 and isinstance(sl.elts[0], ast.Slice) and \
                    isinstance(sl.elts[1], ast.Constant) and sl.elts[1].value is None and id(node) in paths:
                yield site.edit(k, replaced(st.node, node, copy.deepcopy(node.value)),
                                f"`[:, None]` does not belong on `{name}`")
        for node, parent, *_ in walk(st.node):  # a one-hot's comparison: np.arange(V) == Yb[:, None]
            if isinstance(parent, ast.Compare) and isinstance(node, (ast.Name, ast.Call, ast.BinOp)) and \
                    is_vector(site, node):
                col = ast.Subscript(value=copy.deepcopy(node), ctx=ast.Load(),
                                    slice=ast.Tuple(elts=[ast.Slice(), ast.Constant(value=None)], ctx=ast.Load()))
                yield site.edit(k, replaced(st.node, node, col),
                                f"`{src(node)}` is a row of n numbers where a column belongs (`[:, None]`)",
                                "compared with a row of V numbers, a column (n, 1) gives one row of the one-hot "
                                "per example")
        for node in binops(st.node):
            if not isinstance(node.op, ast.MatMult):
                for side in ("left", "right"):
                    operand = getattr(node, side)
                    if isinstance(operand, (ast.Name, ast.Call, ast.BinOp)) and is_vector(site, operand):
                        col = ast.Subscript(value=copy.deepcopy(operand), ctx=ast.Load(),
                                            slice=ast.Tuple(elts=[ast.Slice(), ast.Constant(value=None)],
                                                            ctx=ast.Load()))
                        new = copy.deepcopy(node)
                        setattr(new, side, col)
                        yield site.edit(k, replaced(st.node, node, new),
                                        f"`{src(operand)}` is a row of n numbers where a column belongs (`[:, None]`)",
                                        "an (n,) vector broadcasts along the rows as a row; one number per row is a "
                                        "column, (n, 1)")
                continue
            left, right = node.left, node.right
            for a, b, flip in ((left, right, False), (right, left, True)):
                if isinstance(a, ast.Attribute) and a.attr == "T":
                    moved_b = ast.Attribute(value=copy.deepcopy(b), attr="T", ctx=ast.Load())
                    parts = (moved_b, copy.deepcopy(a.value)) if flip else (copy.deepcopy(a.value), moved_b)
                    new = ast.BinOp(left=parts[0], op=ast.MatMult(), right=parts[1])
                    yield site.edit(k, replaced(st.node, node, new),
                                    f"`.T` on `{src(a.value)}` where it belongs on `{src(b)}`, in `{src(node)}`",
                                    "a gradient has the shape of its tensor: line the matmul up so the shapes chain")
            swapped = ast.BinOp(left=copy.deepcopy(right), op=ast.MatMult(), right=copy.deepcopy(left))
            yield site.edit(k, replaced(st.node, node, swapped),
                            f"`{src(left)}` and `{src(right)}` the other way round in `{src(node)}`",
                            "a matrix product does not commute: line the shapes up")


def value_shape(site, node):
    """The shape of an expression's value in the true run, or None when it cannot be told here (a function's local
    name, a loop's variable)."""
    try:
        with np.errstate(all="ignore"):
            value = eval(compile(ast.fix_missing_locations(ast.Expression(body=copy.deepcopy(node))), "<value>",
                                 "eval"), dict(site.ns))
    except Exception:
        return None
    return np.shape(value) if isinstance(value, (np.ndarray, np.generic, int, float)) else None


def keeps_shape(shape, factor, target):
    """Does a factor of this shape leave a value of `shape` its shape, or make the gradient's (target): n for
    `n * dhpreact`, dbnraw for `bnvar_inv * dbnraw`?"""
    if shape is None:
        return True
    try:
        return np.broadcast_shapes(shape, factor) in (shape, target)
    except ValueError:
        return False


def items(tup):
    return ", ".join(src(e) for e in tup.elts)


def is_vector(site, node):
    """Is the expression (a name, or a small expression of names) a 1-D array of n numbers in the true run?"""
    try:
        with np.errstate(all="ignore"):
            value = eval(compile(ast.Expression(body=copy.deepcopy(node)), "<index>", "eval"), dict(site.ns))
    except Exception:
        return False
    return isinstance(value, np.ndarray) and value.ndim == 1 and len(value) == site.ns.get("n", -1)


@kind
def grouping(site):
    """A parenthesis moved inside the learner's own expression: `p - y / n` where `(p - y) / n` belongs, named as
    the move."""
    for k, st in site.statements():
        for node in binops(st.node):
            if isinstance(node.right, ast.BinOp):
                r = node.right
                inner = ast.BinOp(left=copy.deepcopy(node.left), op=copy.deepcopy(node.op), right=copy.deepcopy(r.left))
                new = ast.BinOp(left=inner, op=copy.deepcopy(r.op), right=copy.deepcopy(r.right))
                yield site.edit(k, replaced(st.node, node, new), moved(node, r, inner), "")
            if isinstance(node.left, ast.BinOp):
                left = node.left
                inner = ast.BinOp(left=copy.deepcopy(left.right), op=copy.deepcopy(node.op),
                                  right=copy.deepcopy(node.right))
                new = ast.BinOp(left=copy.deepcopy(left.left), op=copy.deepcopy(left.op), right=inner)
                yield site.edit(k, replaced(st.node, node, new), moved(node, left, inner), "")


def moved(node, applied, inner):
    """The words for a moved parenthesis: what the operator now applies to, and what it must apply to."""
    sym = SYMBOL.get(type(applied.op), "?")
    binding = " (`*`, `/` and `@` bind before `+` and `-`)" if type(applied.op) in (
        ast.Mult, ast.Div, ast.MatMult) and type(node.op) in (ast.Add, ast.Sub) else ""
    return (f"in `{src(node)}` the `{sym}` applies to `{src(applied)}`: parentheses around `{src(inner)}` "
            f"belong{binding}")


@kind
def parentheses(site):
    """A pair of parentheses added, dropped or moved in the learner's text, the way it was typed: `1.0/n-1` where
    `1.0/(n-1)` belongs, a bracket around three terms, `np.tanh(x**2)` where `np.tanh(x)**2` belongs."""
    for k, st in site.statements():
        for root in roots(st.node):
            toks = tokens(src(root))
            if toks is None:
                continue
            pairs = matched(toks)
            for i in range(len(toks)):
                for j in range(i, len(toks)):
                    if spans(toks, i, j) and not (i == 0 and j == len(toks) - 1):
                        new = reparsed(toks[:i] + ["("] + toks[i:j + 1] + [")"] + toks[j + 1:], root)
                        if new is not None:
                            yield site.edit(k, replaced(st.node, root, new),
                                            f"parentheses around `{spoken(toks[i:j + 1])}` belong", BINDING)
            for a, b in pairs:
                call = a > 0 and opens_call(toks[a - 1])
                if not call:
                    new = reparsed(toks[:a] + toks[a + 1:b] + toks[b + 1:], root)
                    if new is not None:
                        yield site.edit(k, replaced(st.node, root, new),
                                        f"the parentheses around `{spoken(toks[a + 1:b])}` do not belong", BINDING)
                start = a - 1 if call and toks[a - 1].isidentifier() else a  # a call: from its name, np.tanh(...)
                while start < a and start >= 2 and toks[start - 1] == "." and toks[start - 2].isidentifier():
                    start -= 2
                whole = spoken(toks[start:b + 1])
                for out, na, nb in moves(toks, a, b, call):
                    new = reparsed(out, root)
                    bare = reparsed(out[:na] + out[na + 1:nb] + out[nb + 1:], root) if not call else None
                    if new is not None and (bare is None or ast.dump(bare) != ast.dump(new)):  # else: dropped
                        yield site.edit(k, replaced(st.node, root, new), f"in `{whole}` the parentheses belong "
                                        f"around `{spoken(out[na + 1:nb])}`", BINDING)


BINDING = "Python applies `**` first, then `*`, `/` and `@`, then `+` and `-`: parentheses decide what goes with what"


def roots(tree):
    """The whole expressions of a statement (the value of an assignment, of a return, of an expression line) that
    hold no comparison or condition: a change of their text cannot regroup a condition."""
    return [node for node, parent, fieldname, _ in walk(tree) if isinstance(parent, ast.stmt) and fieldname == "value"
            and not any(isinstance(n, UNTYPED) for n in ast.walk(node))]


UNTYPED = (ast.Compare, ast.BoolOp, ast.IfExp, ast.comprehension, ast.Lambda, ast.NamedExpr, ast.JoinedStr,
           ast.Starred, ast.Dict, ast.Set, ast.Await, ast.Yield, ast.YieldFrom)


def tokens(text):
    """The expression's tokens as strings, or None when it does not tokenize (it always should: it is unparsed)."""
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError):
        return None


def balanced(toks):
    depth = 0
    for t in toks:
        depth += t in ("(", "[", "{")
        depth -= t in (")", "]", "}")
        if depth < 0:
            return False
    return depth == 0 and bool(toks) and toks[0] not in (",", ":", ")", "]") and toks[-1] not in (",", ":", "(", "[")


def spans(toks, i, j):
    """May tokens i to j be put in parentheses: a whole operand or run of operands, not a call's name, an
    attribute's half or an operator's end?"""
    if not balanced(toks[i:j + 1]) or toks[i] in BINARY or toks[j] in BINARY or toks[j] in ("-", "+", "~"):
        return False
    before = toks[i - 1] if i else ""
    after = toks[j + 1] if j + 1 < len(toks) else ""
    return not (before == "." or opens_call(before) or after in (".", "(", "["))


BINARY = {"*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "=", ".", "and", "or", "if", "else", "for",
          "in", "is", "not", "lambda"}


def opens_call(before):
    """Would a '(' after this token be a call (a name, a number, a closing bracket)?"""
    return before in (")", "]") or before.isidentifier() and before not in BINARY or before[:1].isdigit()


def matched(toks):
    """The (open, close) indices of every pair of round parentheses."""
    stack, pairs = [], []
    for x, t in enumerate(toks):
        if t == "(":
            stack.append(x)
        elif t == ")" and stack:
            pairs.append((stack.pop(), x))
    return pairs


def moves(toks, a, b, call):
    """The tokens with one end of the pair (a, b) moved by up to three tokens (a call's opening stays with its
    name), and where the pair then is."""
    for end in ((b,) if call else (a, b)):
        rest = toks[:end] + toks[end + 1:]
        for d in (1, -1, 2, -2, 3, -3):
            at = end + d
            if not 0 <= at <= len(rest):
                continue
            na, nb = (at, b) if end == a else (a, at)
            if end == a and at > b - 1 or end == b and at <= a:
                continue
            out = rest[:at] + [toks[end]] + rest[at:]
            if nb > na + 1 and balanced(out[na + 1:nb]) and (end == b or not (na and opens_call(out[na - 1]))) and \
                    spans(out, na + 1, nb - 1):
                yield out, na, nb


def reparsed(toks, root):
    """The expression the edited tokens make, or None when they do not parse or change nothing."""
    try:
        new = ast.parse(" ".join(toks), mode="eval").body
    except SyntaxError:
        return None
    return None if ast.dump(new) == ast.dump(root) else new


def spoken(toks):
    """Tokens as a reader writes them: `np.tanh(x ** 2)`, not `np . tanh ( x ** 2 )`."""
    text = " ".join(toks)
    try:
        return src(ast.parse(text, mode="eval").body)
    except SyntaxError:
        for a, b in ((" . ", "."), (" ( ", "("), ("( ", "("), (" )", ")"), (" [ ", "["), (" ]", "]"), (" ,", ",")):
            text = text.replace(a, b)
        return text


@kind
def arguments(site):
    """Two arguments of one call the other way round: `reshape(n, E, T)` where `reshape(n, T, E)` belongs,
    `np.dot(W2, dlogits)`."""
    for k, st in site.statements():
        for node in calls(st.node):
            args = node.args
            if len(args) == 1 and isinstance(args[0], ast.Tuple):
                args, holder = args[0].elts, "tuple"
            else:
                holder = "call"
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    if src(args[i]) == src(args[j]) or isinstance(args[i], ast.Starred) or isinstance(
                            args[j], ast.Starred):
                        continue
                    new = copy.deepcopy(node)
                    items = new.args[0].elts if holder == "tuple" else new.args
                    items[i], items[j] = items[j], items[i]
                    why = "a reshape's sizes go in the order of the tensor's axes" if method(node) == "reshape" else ""
                    yield site.edit(k, replaced(st.node, node, new), f"`{src(args[i])}` and `{src(args[j])}` the "
                                    f"other way round in `{src(node)}`", why)


CONSTANTS = (1, -1, 2, 0.5, -0.5, 1.5, -1.5, 0)


@kind
def constant(site):
    """A number or a sign: another of the classic constants, n for n - 1 (Bessel's correction) and back, a minus."""
    for k, st in site.statements():
        for node, parent, *_ in walk(st.node):
            value = number(node)
            if value is not None and number(parent) is None:
                for c in CONSTANTS + (-value,):
                    dropping = isinstance(parent, ast.BinOp) and (
                        neutral(type(parent.op), parent.left, ast.Constant(c)) if node is parent.right else
                        neutral(type(parent.op), ast.Constant(c), parent.right))
                    if c != value and not dropping:  # a constant made neutral drops a term: the term kind says so
                        start = isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and \
                            parent.func.id == "sum" and len(parent.args) == 2 and node is parent.args[1]
                        yield site.edit(k, replaced(st.node, node, ast.Constant(value=c)),
                                        f"`{src(node)}` where `{c}` belongs" + (
                                            f" in `{src(parent)}`: Python's sum adds its second argument to the sum "
                                            "(a start value, not an axis)" if start else ""))
            if value is not None and number(parent) is None and value not in (0, site.ns.get("n")) and "n" in site.ns:
                yield site.edit(k, replaced(st.node, node, ast.Name(id="n", ctx=ast.Load())),
                                f"`{src(node)}` where `n` belongs (the batch size)")
            if value is not None and number(parent) is None and value != 0 and "n" in site.ns:
                over = ast.BinOp(left=copy.deepcopy(node), op=ast.Div(), right=ast.Name(id="n", ctx=ast.Load()))
                yield site.edit(k, replaced(st.node, node, over), f"`{src(node)}` where `{src(over)}` belongs",
                                "every entry of the batch's mean carries its 1/n, this one too")
            if isinstance(node, ast.Name) and node.id in ("n", "batch_size"):
                yield site.edit(k, replaced(st.node, node, expr(f"({node.id} - 1)")),
                                f"`{node.id}` where `{node.id} - 1` belongs",
                                "Bessel's correction: the batch variance divides by n-1")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and isinstance(node.left, ast.Name) \
                    and node.left.id in ("n", "batch_size") and isinstance(node.right, ast.Constant):
                counts = isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and \
                    parent.func.id == "range"
                yield site.edit(k, replaced(st.node, node, ast.Name(id=node.left.id, ctx=ast.Load())),
                                f"`{src(node)}` where `{node.left.id}` belongs" + (" in the loop's range" if counts
                                                                                  else ""),
                                "one step per example of the batch: range(n) runs 0 to n-1 already" if counts else
                                "only the variance has Bessel's n-1; the mean divides by n")
        tree = st.node
        if isinstance(tree, (ast.Assign, ast.AugAssign)) and not isinstance(tree.value, ast.UnaryOp):
            new = copy.deepcopy(tree)
            new.value = ast.UnaryOp(op=ast.USub(), operand=new.value)
            yield site.edit(k, new, "the sign of the whole line", "the sign is flipped")


@kind
def term(site):
    """A factor or a term left out, or one that does not belong."""
    for k, st in site.statements():
        for node in binops(st.node):
            for keep, drop in ((node.left, node.right), (node.right, node.left)):
                part = "factor" if isinstance(node.op, (ast.Mult, ast.Div, ast.MatMult)) else "term"
                yield site.edit(k, replaced(st.node, node, copy.deepcopy(keep)),
                                f"the {part} `{src(drop)}` does not belong in `{src(node)}`", "")
        paths = walked(st.node)[1]
        compares = [n for n in ast.walk(st.node) if isinstance(n, ast.Compare) and id(n) in paths]
        for node in [n for n, *_ in walk(st.node)] + compares:
            if isinstance(node, (ast.BinOp, ast.Call, ast.Compare)) or (
                    isinstance(node, ast.Name) and (isinstance(site.ns.get(node.id), np.ndarray) or node.id in (
                        "n", "batch_size"))) or (
                    isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(
                        node.value, (ast.Call, ast.Name)) and not isinstance(node.slice, ast.Constant)):
                shape = value_shape(site, node)
                target = np.shape(site.answer) if site.answer is not None else None
                for name in site.usable(k) + site.own_above(k) + (["n"] if "n" in site.ns else []):
                    if not keeps_shape(shape, np.shape(site.ns.get(name, 0)), target):
                        continue  # a factor that changes the shape of what it multiplies is not the one missing
                    new = ast.BinOp(left=copy.deepcopy(node), op=ast.Mult(), right=ast.Name(id=name, ctx=ast.Load()))
                    yield site.edit(k, replaced(st.node, node, new), f"a factor `{name}` is missing from `{src(node)}`",
                                    "")
        for node in calls(st.node) + binops(st.node):  # eps left out of a square root: sqrt(var) for sqrt(var + eps)
            root = node.args[0] if method(node) == "sqrt" and node.args else node.left if isinstance(
                node, ast.BinOp) and isinstance(node.op, ast.Pow) and number(node.right) in (0.5, -0.5, -1.5) else None
            if root is not None and "eps" not in src(root).lower():
                for eps in ("EPS", "eps"):
                    new = ast.BinOp(left=copy.deepcopy(root), op=ast.Add(), right=ast.Name(id=eps, ctx=ast.Load()))
                    yield site.edit(k, replaced(st.node, root, new), f"a term `{eps}` is missing from `{src(root)}`",
                                    "the forward adds eps (1e-5) to the variance before its square root")
        tree = st.node
        if isinstance(tree, (ast.Assign, ast.AugAssign)) and isinstance(tree.value, ast.Compare):
            for name in site.usable(k):  # a one-hot as the whole value: `dlogits += (logits == logit_maxes)`
                new = copy.copy(tree)
                new.value = ast.BinOp(left=tree.value, op=ast.Mult(), right=ast.Name(id=name, ctx=ast.Load()))
                yield site.edit(k, new, f"a factor `{name}` is missing from `{src(tree.value)}`", "")


@kind
def product(site):
    """A product of sums where the sum of products belongs: (a * b).sum(0), not a.sum(0) * b.sum(0)."""
    for k, st in site.statements():
        for node in binops(st.node):
            if isinstance(node.op, ast.MatMult) and isinstance(node.left, ast.Attribute) and node.left.attr == "T":
                both = ast.BinOp(left=copy.deepcopy(node.left.value), op=ast.Mult(), right=copy.deepcopy(node.right))
                for keep in ("True", None):
                    new = expr(f"x.sum(0{', keepdims=True' if keep else ''})")
                    new.func.value = both
                    yield site.edit(k, replaced(st.node, node, new),
                                    f"`{src(node)}` is a matrix product (every column with every column) where "
                                    f"`*` belongs, then a sum over the batch (axis 0)",
                                    "what was broadcast over the batch and multiplied element by element gets back "
                                    "the element-by-element product, summed over the rows")
            if not isinstance(node.op, ast.Mult):
                continue
            sides = [node.left, node.right]
            summed = [s for s in sides if method(s) in ("sum", "mean") and (not on_numpy(s) or s.args)]
            if not summed:
                continue
            template = summed[0]
            inner = [(s.args[0] if on_numpy(s) else s.func.value) if s in summed else s for s in sides]
            new = copy.deepcopy(template)
            both = ast.BinOp(left=copy.deepcopy(inner[0]), op=ast.Mult(), right=copy.deepcopy(inner[1]))
            if on_numpy(template):
                new.args[0] = both
            else:
                new.func.value = both
            yield site.edit(k, replaced(st.node, node, new),
                            f"`{src(node)}` multiplies sums where the sum of the products belongs: "
                            f"multiply `{src(inner[0])}` and `{src(inner[1])}` first, then `.{method(template)}(...)`",
                            "the chain rule multiplies row by row; the broadcast's sum adds the products up")


@kind
def copying(site):
    """A view where a copy belongs: `a = b`, `a = b[:]`, np.asarray(b), then a changed in place."""
    for k, st in site.statements():
        tree = st.node
        if not isinstance(tree, ast.Assign):
            continue
        value = tree.value
        if isinstance(value, ast.Name) or (isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice)) \
                or (isinstance(value, ast.Call) and method(value) in ("asarray", "view", "reshape")):
            base = value.args[0] if isinstance(value, ast.Call) and on_numpy(value) and value.args else value
            new = copy.deepcopy(tree)
            new.value = ast.Call(func=ast.Attribute(value=copy.deepcopy(base), attr="copy", ctx=ast.Load()),
                                 args=[], keywords=[])
            yield site.edit(k, new, f"`{src(value)}` shares its array where a copy belongs (`.copy()`)",
                            "a later in-place change of the new name changes the old one too (numpy's .copy() is "
                            "the lecture's .clone())")


@kind
def subexpression(site):
    """A subexpression for the forward's tensor (`h @ W2` for logits, `dlogits.argmax(1)` for Yb): the smallest
    first, the most specific edit."""
    for k, st in site.statements():
        nodes = sorted(walk(st.node), key=lambda item: len(src(item[0])))
        for node, parent, *_ in nodes:
            if isinstance(node, (ast.Call, ast.BinOp, ast.Subscript, ast.Attribute)) and not (
                    isinstance(parent, ast.Call) and node is parent.func):
                shape = value_shape(site, node)
                for tname in site.usable(k):
                    if tname != "Xb" and (shape is None or np.shape(site.ns[tname]) == shape or
                                          np.size(site.ns[tname]) == np.prod(shape)):  # the same numbers' shape
                        yield site.edit(k, replaced_all(st.node, node, ast.Name(id=tname, ctx=ast.Load())),
                                        f"`{src(node)}` where `{tname}` belongs", made_by(tname))


@kind
def own(site):
    """The learner's own array where the forward's tensor belongs (tried after every edit of the learner's own lines
    that make it: a fix there says more)."""
    for k, st in site.statements():
        nodes = [n for n, *_ in walk(st.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        for node in nodes:
            if node.id not in site.own:
                continue
            for name in site.usable(k):
                if np.shape(site.ns[name]) == site.shape(node):
                    whose = "" if name in source.ALL_GRADIENTS else "the forward's "
                    yield site.edit(k, replaced_all(st.node, node, ast.Name(id=name, ctx=ast.Load())),
                                    f"your `{node.id}` where {whose}`{name}` belongs: they differ", made_by(name))


@kind
def loop(site):
    """What a loop runs over: range(T) for range(n) and the like."""
    for k, st in site.statements():
        for node in ast.walk(st.node):
            if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name) \
                    and node.iter.func.id == "range" and len(node.iter.args) == 1:
                for size in SIZES:
                    if src(node.iter.args[0]) != size:
                        new_iter = expr(f"range({size})")
                        new = copy.deepcopy(st.node)
                        target = next(n for n in ast.walk(new) if isinstance(n, ast.For) and src(n) == src(node))
                        target.iter = new_iter
                        yield site.edit(k, new, f"the loop runs over `{src(node.iter)}` where `range({size})` belongs",
                                        SIZE_WORDS[size])


SIZE_NAMES = {"n": "n", "batch_size": "n", "T": "T", "block_size": "T", "E": "E", "n_embd": "E", "H": "H",
              "n_hidden": "H", "V": "V", "vocab_size": "V"}  # the header's sizes, by either of their names
SIZE_MEANS = {"n": "the batch size", "T": "the context length", "E": "the embedding size", "H": "the hidden size",
              "V": "the vocabulary size"}
SIZE_WORDS = {"n": "one step per example of the batch", "T": "one step per character of the context",
              "E": "one step per number of an embedding", "H": "one step per hidden neuron",
              "V": "one step per character of the vocabulary"}


# words in the lecture's terms

def local(st, g, exercise):
    """What the lecture says of the edited line's gradient: its local derivative (the hint), never the answer."""
    target = min(st.writes & set(KNOWLEDGE), default=g)
    if exercise != "ex1" and target in FUSED:
        return FUSED[target][0]
    return KNOWLEDGE.get(target, {}).get("hint", "")


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
