"""The grammar of edits: every node class of Python's ast is edited by a kind or passed over for a reason; every
kind runs on every syntax a learner's line may hold, and each candidate is still Python; what is passed over (a
condition, a comparison, a while) is never changed."""
import ast

import numpy as np
import pytest

from lib.grader import edits
from lib.grader.runs import Statement


def every_node_class():
    found, todo = set(), [ast.AST]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ in ("ast", "_ast") and sub.__name__ not in found:
                found.add(sub.__name__)
                todo.append(sub)
    return found


def test_every_node_class_of_ast_is_edited_or_passed_over_for_a_reason():
    classes = every_node_class()
    assert len(classes) > 100
    unknown = sorted(classes - set(edits.COVERED) - set(edits.PASSED_OVER))
    assert not unknown, unknown
    assert not set(edits.COVERED) & set(edits.PASSED_OVER)
    assert all(isinstance(why, str) and why for why in {**edits.COVERED, **edits.PASSED_OVER}.values())
    operators = {c.__name__ for c in ast.operator.__subclasses__()}
    assert operators <= set(edits.COVERED) and {getattr(ast, o) for o in operators} <= set(edits.SYMBOL)


# a learner's lines in every syntax the grammar must walk (they need not make sense, only parse and be walked)
EVERY_SYNTAX = '''
dx = (a * b + c - d / e // 2 % 3) ** 2 @ W.T
dx //= n
dx %= 2
dx **= 2
dx @= W
dx <<= 1
dx = ~a | b & c ^ d >> 1 << 2
dx = -a + +b
dx[range(n), Yb] -= 1
dx[:, None] = a[Yb] + a[:, Yb] + a[1:3, ::2]
dx = np.zeros_like(a) + np.ones((n, 3)) * a.sum(0, keepdims=True) + a.mean(axis=1) + np.max(a, 1)
dx = a if n > 3 and b is not None or not c else b
dx = [v * 2 for v in a if v > 0] + list(v for v in a) + [v for v in {1, 2}]
dx = {k: v * 2 for k, v in zip(a, b)}
dx = {1: a, 2: b}
dx = (y := a * 2) + y
f = lambda x, y=2: x * y + 1
dx: float = a * 2.0
a * 2
print(f"{a!r:>10}")
for i in range(n):
    for j in range(T):
        dC[Xb[i, j]] += demb[i, j] * 2
while n > 0:
    n -= 1
if a > 0:
    dx = a * 2
else:
    dx = a / 2
with open("f") as fh:
    dx = a * 2
try:
    dx = a * 2
except ValueError as e:
    raise
finally:
    pass
def helper(x, *args, y=1, **kw):
    global dx
    z = x * y
    return z ** 2
class K:
    pass
async def g():
    async for v in a:
        await v
    async with a as b:
        yield b
def gen():
    yield from a
match a:
    case [1, *rest]:
        pass
    case {"k": v, **others}:
        pass
    case K(x=1) | None:
        pass
    case str() as s:
        pass
assert a > 0, "positive"
del a
import os
from os import path as p
dx = (*a, *b)
dx = probs * counts
dx = a[:]
dx = np.asarray(b)
dx = np.log(a) + np.tanh(b) * np.einsum("ij,ij->i", a, b)
dx = (np.arange(4) == Yb) * 1.0 + np.where(a > 0, a, b)
'''


def site_for(code, g="dx"):
    tree = ast.parse(code)
    lines = code.splitlines()
    stmts = [Statement(node, "f.py", lines, k) for k, node in enumerate(tree.body)]
    rng = np.random.default_rng(0)
    ns = {"np": np, "n": 4, "T": 3, "a": rng.standard_normal((4, 4)), "b": rng.standard_normal((4, 4)),
          "W": rng.standard_normal((4, 4)), "Yb": np.arange(4), "probs": rng.standard_normal((4, 4)),
          "counts": rng.standard_normal((4, 4)), "dx": rng.standard_normal((4, 4))}
    return edits.Site(g, stmts, ns, set(), "ex1"), stmts


def conditions(tree):
    """The text of every part the grammar passes over: conditions (of an if, a conditional value, a comprehension,
    an assert), and/or, while loops, and the comparison of every comparison (a value's comparison, a one-hot's
    `np.arange(V) == Yb`, may have its operands edited, never its operator)."""
    out = []
    for n in ast.walk(ast.Module(body=list(tree), type_ignores=[])):
        if isinstance(n, (ast.If, ast.IfExp, ast.Assert)):
            out.append(ast.unparse(n.test))
        elif isinstance(n, ast.comprehension):
            out += [ast.unparse(c) for c in n.ifs]
        elif isinstance(n, (ast.BoolOp, ast.While)):
            out.append(ast.unparse(n))
        elif isinstance(n, ast.Compare):
            out.append(" ".join(type(op).__name__ for op in n.ops))
    return sorted(out)


@pytest.mark.parametrize("kind", edits.KINDS, ids=[k.__name__ for k in edits.KINDS])
def test_every_kind_walks_every_syntax_and_never_touches_a_condition(kind):
    site, stmts = site_for(EVERY_SYNTAX)
    before = conditions(st.node for st in stmts)
    made = 0
    for edit in kind(site):
        made += 1
        module = ast.fix_missing_locations(ast.Module(body=list(edit.trees), type_ignores=[]))
        compile(module, "f.py", "exec")  # still Python
        assert conditions(edit.trees) == before, edit.what
        assert edit.what and isinstance(edit.line, int)
    assert made > 0


def test_every_operator_gets_an_edit_to_every_arithmetic_one():
    for op, sym in edits.SYMBOL.items():
        site, _ = site_for(f"dx = a {sym} b\n")
        words = [e.what for e in edits.operator(site)]
        assert "`" + sym + "` where `/` belongs, in `a " + sym + " b`" in words or op is ast.Div, (sym, words)
        site, _ = site_for(f"dx {sym}= b\n") if op in (ast.Add, ast.Sub, ast.Mult, ast.Div) else (None, None)
        if site:
            assert any("where `=` belongs" in e.what for e in edits.assignment(site))
