"""What the grader and the checker read from lib/lecture.py's source, parsed once: the forward's
lines as written and the shape on each, the backward's statements and sections, what a statement
reads and writes, and which gradients each gradient is computed from."""
import ast
import functools
import inspect
import re
import textwrap

from lib import lecture

ALL_GRADIENTS = set(lecture.GRADIENTS)
PARAM_SHAPES = dict(C="(V, E)", W1="(T*E, H)", b1="(H,)", bngain="(1, H)", bnbias="(1, H)",
                    W2="(H, V)", b2="(V,)")


@functools.cache
def shapes():
    """Symbolic shape of every tensor, from the comment on its forward line:
    {'emb': '(n, T, E)', ...}."""
    found = dict(PARAM_SHAPES, loss="scalar")
    for line in forward_lines():  # parsed once (cached): every row and diagnosis asks
        m = re.match(r"(\w+) = .*#\s*(\([^)]*\))", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


@functools.cache
def function_source(fn):
    """A function's source, dedented, and its body's statements: parsed once (the checker and the grader both ask)."""
    src = textwrap.dedent(inspect.getsource(fn))
    return src, tuple(ast.parse(src).body[0].body)


@functools.cache
def forward_lines():
    """lib/lecture.py's forward, its body as written (comments kept, docstring and return dropped),
    found through its syntax tree."""
    src, statements = function_source(lecture.forward)
    body = [s for s in statements if not isinstance(s, ast.Return)
            and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    lines = src.splitlines()[body[0].lineno - 1:body[-1].end_lineno]
    return tuple(textwrap.dedent("\n".join(lines)).splitlines())


def backward_source():
    """lib/lecture.py's backward: its source, dedented, and its body's statements, parsed once."""
    return function_source(lecture.backward)


def backward_sections():
    """lib/lecture.py's backward as its sections:
    [(comment, [gradients it assigns, in order]), ...]."""
    src, body = backward_source()
    lines = src.splitlines()
    sections, seen = [], set()
    for s in body:
        above = lines[s.lineno - 2].strip()
        if above.startswith("#"):
            sections.append((above.lstrip("# "), []))
        for g in sorted(targets(s) & ALL_GRADIENTS - seen, key=lecture.GRADIENTS.index):
            sections[-1][1].append(g)
            seen.add(g)
    return sections



IN_PLACE = {"copyto",
            "put_along_axis", "put", "place", "putmask", "fill_diagonal"}  # np.f(target, ...)
IN_PLACE_METHODS = {"fill",
                    "put", "itemset", "sort", "resize"}                       # target.f(...)


def targets(stmt):
    """The names a statement writes: assigned (plainly, augmented, through an index or an
    attribute), deleted, the first argument of ufunc.at and numpy's in-place functions, an out=
    argument, and the array of an in-place method (dC.fill(0))."""
    out = set()

    def base(node):
        while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(stmt):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif (isinstance(node, (ast.Subscript, ast.Attribute))
              and isinstance(node.ctx, (ast.Store, ast.Del))):
            out.add(base(node))
        elif isinstance(node, ast.Call):
            f = node.func
            name = (f.attr if isinstance(f, ast.Attribute) else
                    f.id if isinstance(f, ast.Name) else "")
            if node.args and (name == "at" or name in IN_PLACE):
                out.add(base(node.args[0]))
            if isinstance(f, ast.Attribute) and name in IN_PLACE_METHODS:
                out.add(base(f.value))
            for kw in node.keywords:
                if kw.arg == "out":
                    out.add(base(kw.value.elts[0] if isinstance(kw.value, ast.Tuple) else kw.value))
    out.discard(None)
    return out


def reads(stmts):
    return {node.id for s in stmts for node in ast.walk(s)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}



@functools.cache
def ancestors():
    """For each gradient, every gradient the project's backward computes it from."""
    deps = {}
    for s in backward_source()[1]:
        for t in targets(s) & ALL_GRADIENTS:
            deps.setdefault(t, set()).update((reads([s]) & ALL_GRADIENTS) - {t})
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
