"""The mistakes: why a learner's value is not the answer, in one line. It runs no learner code; it
judges the values the child's runs produced (lib/grader/runs.py).

Each detector is a function of a Case (the gradient, the learner's value with right inputs, the
answer, the names a wrong form may use) that returns the words naming its mistake, or None. It
declares its kind with @mistake: 'type' (tried first, whatever the shape), 'shape' (tried when the
shape is not the answer's) or 'value' (tried when it is). MISTAKES lists them in the order they are
tried; the first that explains the value names the row. Then the repair search's edit, where it
found one (lib/grader/repair.py), then the largest difference.

A new wrong form of one gradient is data: lib/grader/catalogue.py's KNOWLEDGE. A new kind of
mistake is a function here, in MISTAKES, and a planted case in tests/grader/test_mistakes.py.
"""
import ast
import functools
import re
import textwrap

import numpy as np

from lib import lecture
from lib.grader.catalogue import ALL_GRADIENTS, FUSED, KNOWLEDGE, RAISES
from lib.source import backward_source, reads, shapes, targets


# judging one gradient

def mistake(kind):
    """Declare a detector's kind: 'type', 'shape' or 'value'."""
    assert kind in ("type", "shape", "value")

    def declare(detector):
        detector.kind = kind
        return detector
    return declare

def context(values, grads):
    """The names a wrong form or a branch may use: the forward, the gradients (true or random),
    the sizes and a few one-hot matrices."""
    n, V = values["logits"].shape
    T, E = values["emb"].shape[1:]
    logits, Yb, C = values["logits"], values["Yb"], values["C"]
    eye = np.eye(V)
    colhot, colhot_max = np.zeros((n, V)), np.zeros((n, V))
    colhot[:, Yb] = 1
    colhot_max[:, logits.argmax(1)] = 1
    globalhot = np.zeros((n, V))
    globalhot.flat[logits.argmax()] = 1
    e = np.exp(logits)

    def add_at(index, vals):
        out = np.zeros_like(C)
        np.add.at(out, index, vals)
        return out
    return {**values, **grads, "np": np, "n": n, "V": V, "H": values["hprebn"].shape[1], "T": T,
            "E": E, "EPS": lecture.EPS, "onehot": eye[Yb], "maxhot": eye[logits.argmax(1)],
            "minhot": eye[logits.argmin(1)],
            "colhot": colhot, "colhot_max": colhot_max, "globalhot": globalhot, "add_at": add_at,
            "softmax_over_batch": e / e.sum(0), "softmax_over_all": e / e.sum()}


def evaluate(expr, ctx):
    """The value of a wrong form in this context, or None when it cannot be computed."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(eval(expr, ctx), dtype=np.float64)
    except Exception:  # a form that does not apply to this batch (shapes that do not meet)
        return None


def close(x, a):
    """Same shape and the same numbers, to round-off (relative to the tensor's scale: a tensor of
    round-off, like dlogit_maxes, compares by its scale, not element by element)."""
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)
            and x.shape == np.shape(a)):
        return False
    with np.errstate(all="ignore"):
        scale = float(np.abs(a).max(initial=0))
        return bool(np.allclose(x, a, rtol=1e-7, atol=1e-9 * scale + 1e-13))


def broadcast_equal(x, a):
    """x differs from a only in its shape, and not in a way that changes a number: size-1 axes
    dropped or added (the lecture's (-dbndiff).sum(0)), or a row that broadcasts over the batch."""
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)) or x.shape == a.shape:
        return False
    if x.size == a.size and [s for s in x.shape if s != 1] == [s for s in a.shape if s != 1]:
        return close(x.reshape(a.shape), a)
    try:
        return close(np.broadcast_to(x, a.shape).copy(), a) and x.ndim <= a.ndim
    except ValueError:
        return False


def right(x, a):
    """Is the value x right for the answer a: the same numbers, in a.shape or in a shape that broadcasts to it
    without changing a number? The one test of "is this value right" the grader uses everywhere."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        x = np.asarray(x, dtype=np.float64)
    return close(x, a) or broadcast_equal(x, a)


class Case:
    """One gradient whose value is not the answer: what a diagnosis may look at."""

    def __init__(self, g, x, a, ctx, exercise):
        self.g, self.x, self.a, self.ctx, self.exercise = g, x, a, ctx, exercise
        self.n = ctx["n"]
        self.sym = shapes().get(g[1:], "")
        self.know = KNOWLEDGE.get(g, {})
        self.due = f"{a.shape} = {self.sym}" if self.sym else str(a.shape)
        self.hollow = False  # a match of a form that is about zero (see same)

    def matches(self, expr):
        return self.same(evaluate(expr, self.ctx))

    def same(self, form):
        """Is the learner's value the form's? A form about zero where the answer is not matches any value about
        zero: such a match is hollow (self.hollow), and counts only beside a setting where it is not (dlogits
        sums to zero over each row at every batch; bnraw.sum(0) is zero whatever the upstream gradient)."""
        if form is None or not close(self.x, form):
            return False
        scale = float(np.abs(self.a).max(initial=0))
        if scale > 0 and float(np.abs(form).max(initial=0)) <= 1e-6 * scale:
            self.hollow = True
        return True


@mistake("type")
def not_an_array(c):
    if isinstance(c.x, np.ndarray) and np.issubdtype(c.x.dtype, np.number):
        return None
    if isinstance(c.x, (list, tuple)):
        try:
            right = close(np.asarray(c.x, dtype=np.float64), c.a)
        except (TypeError, ValueError):
            right = False
        return (f"{c.g} is a Python {type(c.x).__name__}"
                + (" with the right numbers" if right else "") +
                f", where a numpy array of shape {c.sym} is due: make it with numpy "
                f"(np.array(...), np.zeros_like)")
    return f"{c.g} is a {type(c.x).__name__}, where a numpy array of shape {c.sym} is due"


@mistake("type")
def integer_array(c):
    if np.issubdtype(c.x.dtype, np.integer) or c.x.dtype == bool:
        return (f"{c.g} is an array of {c.x.dtype}: numpy arrays keep their dtype, so the "
                f"fractions written into it were cut to whole numbers; make it float, e.g. "
                f"np.zeros_like({c.g[1:]}) or np.zeros({c.sym})")
    return None


@mistake("shape")
def transposed(c):
    if c.x.ndim == 2 and c.x.shape == c.a.shape[::-1] and c.x.shape != c.a.shape:
        values = "the transpose of the answer" if np.allclose(c.x.T, c.a) else "transposed"
        return (f"shape {c.x.shape} where {c.due} is due: {values}. A gradient has the shape of "
                f"its tensor; line the matmul up so the shapes chain, e.g. dW2 = h.T @ dlogits, "
                f"not dlogits.T @ h")
    return None


@mistake("shape")
def lost_axis(c):
    dropped = [k for k in range(c.a.ndim)
               if c.a.shape[k] == 1 and c.x.shape == c.a.shape[:k] + c.a.shape[k + 1:]]
    if dropped:
        right = " (the numbers are right)" if np.allclose(c.x, c.a.reshape(c.x.shape)) else ""
        return (f"shape {c.x.shape} where {c.due} is due: the sum over axis {dropped[0]} dropped "
                f"it{right}; keep it with keepdims=True")
    return None


@mistake("shape")
def not_summed(c):
    """The gradient of a broadcast tensor, left at the broadcast shape: the sum over that axis is
    missing."""
    axes = tuple(k for k in range(c.a.ndim)
                 if c.a.shape[k] == 1 and c.x.ndim == c.a.ndim and c.x.shape[k] > 1)
    if axes and all(c.x.shape[k] == c.a.shape[k] for k in range(c.a.ndim) if k not in axes):
        if close(c.x.sum(axes, keepdims=True), c.a):
            k = axes[0]
            return (f"shape {c.x.shape} where {c.due} is due: not summed: {c.g[1:]} was broadcast "
                    f"along axis {k}, so its gradient sums over it: .sum({k}, keepdims=True)")
    return None


def answer_expression(c, fused=False):
    """The right-hand side of the project's answer for c's gradient when it is one assignment, else None."""
    body = ast.parse(answer_source(c.g, fused)).body
    return ast.unparse(body[0].value) if len(body) == 1 and isinstance(body[0], ast.Assign) else None


@mistake("shape")
def wrong_axis(c):
    """A sum over the other axis: the right reduction, of the right thing, along the wrong axis."""
    expr = answer_expression(c)
    if expr is None:
        return None
    for m in re.finditer(r"\.sum\(([01])(, keepdims=True)?\)", expr):
        axis = 1 - int(m.group(1))
        for keep in (", keepdims=True", ""):
            form = expr[:m.start()] + f".sum({axis}{keep})" + expr[m.end():]
            if c.matches(form):
                what = "the batch" if axis == 0 else "the entries of each row"
                return (f"shape {c.x.shape} where {c.due} is due: summed over axis {axis} "
                        f"({what}); {c.g[1:]} was broadcast along axis {1 - axis}, so its "
                        f"gradient sums over axis {1 - axis}")
    return None


@mistake("shape")
def wrong_shape(c):
    if c.x.shape == c.a.shape:
        return None
    kind, why = c.know.get("shape", (None, ""))
    reversed_axes = c.x.shape == c.a.shape[:1] + c.a.shape[:0:-1]
    if kind == "reversed" and reversed_axes or kind == "one row" and c.x.ndim == 2 and c.x.shape[0] == 1:
        return f"shape {c.x.shape} where {c.due} is due: {why}"
    return None


@mistake("value")
def one_branch_only(c):
    branches = c.know.get("branches", [])
    for k, (use, expr) in enumerate(branches):
        if c.matches(expr):
            other = branches[1 - k][0]
            return (f"matches the {('first', 'second')[k]} branch only ({use}): {c.g[1:]} is used "
                    f"twice in the forward pass, and the other use ({other}) also sends gradient: "
                    f"add it with +=")
    return None


@mistake("value")
def known_form(c):
    for expr, why in c.know.get("wrong", []):
        if c.matches(expr):
            return why
    return None


def factors(n):
    """The constant factors a whole gradient is classically off by, each with what it means."""
    return ((-1, "the sign is flipped"),
            (n, f"n = {n} times too large: the 1/n of the mean is missing"),
            (1 / n, f"n = {n} times too small: the 1/n of the mean is applied twice"),
            ((n - 1) / n, "off by a factor (n-1)/n: 1/n where Bessel's 1/(n-1) belongs (the batch "
                          "variance divides by n-1, so its gradient does too)"),
            (n / (n - 1), "off by a factor n/(n-1): 1/(n-1) where 1/n belongs (only the variance "
                          "has Bessel's n-1; the mean divides by n)"),
            (2, "twice the answer: a factor 2 too many (check the power rule: d x^2 = 2x, d x^-1/2 = -1/2 x^-3/2), "
                "or one contribution added twice"),
            (0.5, "half the answer: a factor 2 missing or 1/2 too many (check the power rule: d x^2 = 2x, "
                  "d x^-1/2 = -1/2 x^-3/2)"))


@mistake("value")
def mean_for_sum(c):
    """A mean where the project's line sums (a broadcast's gradient), wherever it occurs in the line."""
    expr = answer_expression(c, c.exercise != "ex1")
    if expr is None:
        return None
    for m in re.finditer(r"\.sum\(", expr):
        if c.matches(expr[:m.start()] + ".mean(" + expr[m.end():]):
            return (".mean where the sum belongs: a tensor broadcast over n rows (or V columns) reaches the loss "
                    "through every copy, and its gradient adds them all up; the loss's own 1/n is already in the "
                    "gradient from above")
    return None


@mistake("value")
def branch_factor(c):
    branches = c.know.get("branches", [])
    if len(branches) != 2:
        return None
    parts = [evaluate(expr, c.ctx) for _, expr in branches]
    if any(p is None for p in parts):
        return None
    scale = float(np.abs(c.a).max(initial=0))
    for k, (use, _) in enumerate(branches):
        if float(np.abs(parts[k]).max(initial=0)) <= 1e-6 * scale:  # a branch about zero here: any factor fits
            continue
        for factor, why in factors(c.n):
            if close(c.x, parts[1 - k] + factor * parts[k]):
                return f"in the branch of {use}: {why[0].lower() + why[1:]}"
    return None


@mistake("value")
def constant_factor(c):
    mask = np.abs(c.a) > 1e-9 * np.abs(c.a).max(initial=0)
    if not mask.any():
        return None
    r = float(np.median(c.x[mask] / c.a[mask]))
    if r == 0 or not np.allclose(c.x, r * c.a, rtol=1e-6, atol=1e-12):
        return None
    for factor, why in factors(c.n):
        if abs(r - factor) <= 1e-6 * abs(factor):
            return why
    return None


@mistake("value")
def scatter_overwrites(c):
    if "scatter" not in c.know:
        return None
    index, grad = c.know["scatter"]
    shortened = np.zeros_like(c.a)
    shortened[c.ctx[index]] += c.ctx[grad]
    if close(c.x, shortened):
        short = int((~np.isclose(shortened, c.a).all(1)).sum())
        return (f"a character used more than once in the batch got the gradient of one use only: {short} rows "
                f"of dC are short (an index assignment, or += through fancy indexing, keeps one value per row). "
                f"Add every use: np.add.at, or a loop with +=")
    return None


@mistake("value")
def no_chain_rule(c):
    """The project's line with every gradient from above set to ones: the local derivative alone."""
    body = ast.parse(answer_source(c.g)).body
    upstream = (reads(body) & ALL_GRADIENTS) - {c.g}
    if not upstream:
        return None
    ns = {**c.ctx, **{u: np.ones_like(c.ctx[u]) for u in upstream if u in c.ctx}}
    try:
        with np.errstate(all="ignore"):
            exec(compile(ast.Module(body=body, type_ignores=[]), "<answer>", "exec"), ns)
    except Exception:  # the answer's lines need what this batch does not give: no verdict
        return None
    if c.same(np.asarray(ns[c.g], dtype=np.float64)):
        return (f"the local derivative alone: times the gradient arriving from above "
                f"({', '.join(sorted(upstream))}), the chain rule")
    return None


@mistake("value")
def upstream_alone(c):
    """The gradient from above, passed on as it is: the local derivative left out."""
    body = ast.parse(answer_source(c.g)).body
    for u in sorted((reads(body) & ALL_GRADIENTS) - {c.g}):
        v = c.ctx.get(u)
        if isinstance(v, np.ndarray) and v.shape == c.a.shape and c.same(np.asarray(v, dtype=np.float64)):
            return f"{u}, the gradient from above, passed on alone: the chain rule multiplies it by the local " \
                   "derivative"
    return None


MISTAKES = (
    not_an_array,        # a list, a number or None where an array is due
    integer_array,       # np.zeros(shape, dtype=int): -1/n stored as 0
    transposed,          # (27, 64) where (64, 27) is due
    lost_axis,           # a sum without keepdims=True
    wrong_axis,          # summed over the other axis (before the keepdims stories: .sum(1, keepdims=True) has it)
    not_summed,          # a broadcast's gradient left unsummed
    wrong_shape,         # any other shape
    one_branch_only,     # a tensor used twice in the forward, one use's gradient left out
    known_form,          # the gradient's own classic wrong answers (KNOWLEDGE[g]['wrong'])
    mean_for_sum,        # .mean where the project's line has .sum
    branch_factor,       # the mean's 1/n or Bessel's 1/(n-1) wrong in one branch, or its sign
    constant_factor,     # the whole answer times -1, n, 1/n, (n-1)/n, n/(n-1), 2, 1/2
    scatter_overwrites,  # dC[Xb] += demb: one gradient per row of C, not one per use
    no_chain_rule,       # the local derivative alone, not times the gradient from above
    upstream_alone,      # the gradient from above alone, not times the local derivative
)


def squeezed(shape):
    return [s for s in shape if s != 1]


# the kinds of edit that swap one written thing for its like (an operator, a function, an index, a line's place):
# the learner knew the math and wrote it wrong, and a story of the value ('the 1/n is missing', 'add the other
# branch') would blame what is there. Other edits (a tensor, an axis, a constant, a term) come after the catalogue.
WRITTEN = {"order", "assignment", "operator", "call", "index", "copying", "loop", "name", "grouping", "parentheses",
           "arguments"}


def diagnose(g, x, a, ctx, exercise="ex1", repair=None, at=None, checks=(), note=""):
    """Why x (the learner's value, with right inputs) is not a (the answer): one line. A shape
    that differs only by size-1 axes does not hide what is wrong with the numbers.

    Every verdict holds three times: a detector's words are used only when it names the learner's value in the
    true run and in every other setting of checks ([(value, answer, context)]: the random upstream gradients, the
    second shape), as a repair must. Then the repair search's edit; then the shape stories, the shape, or the
    largest difference. note: what the search said of itself (not run, stopped early)."""
    c = Case(g, x, a, ctx, exercise)
    why = not_an_array(c)
    if why:
        return why
    shape_note = ""
    if x.shape != a.shape and x.size == a.size and squeezed(x.shape) == squeezed(a.shape):
        shape_note = f" (and its shape {x.shape} drops a size-1 axis of {a.shape}: keepdims=True keeps it)"
        c.x = x = x.reshape(a.shape)
    others = [other_case(g, *check, exercise) for check in checks]
    shaped = "shape" if x.shape != a.shape else "value"
    for detector in MISTAKES:  # what the value's type says for certain
        if detector.kind == "type":
            why = detector(c)
            if why:
                return why + shape_note
    if repair and repair.kind in WRITTEN:  # a slip of the pen: the edit says it better than any story of the value
        return repair_words(repair, at) + shape_note
    for detector in MISTAKES:
        if detector.kind in ("type", shaped):
            for case in [c] + others:
                if case is not None:
                    case.hollow = False
            why = detector(c)
            if why and (detector.kind == "type" or all(o is not None and detector(o) for o in others)
                        and not all(case.hollow for case in [c] + others)):
                return why + shape_note
    if repair:
        return repair_words(repair, at) + shape_note
    if x.shape != a.shape:  # no edit fixes the shape and the value: the shape alone, no story
        return f"shape {x.shape} where {c.due} is due" + (f"; {note}" if note else "")
    i = np.unravel_index(np.argmax(np.abs(x - a)), a.shape)
    where = f"[{', '.join(map(str, i))}]" if i else ""
    what = "the local derivative" if exercise == "ex1" else "your derivation on paper, one row at a time"
    return (f"largest difference at {g}{where}: yours {x[i]:.6g}, the answer {a[i]:.6g}; check {what} "
            f"(practice.py hint {exercise} {g})" + shape_note + (f"; {note}" if note else ""))


def other_case(g, x, a, ctx, exercise):
    """The Case of another setting (random upstream, second shape), or None when the value there is not an array
    of the answer's size (then no detector holds there)."""
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)):
        return None
    if x.shape != a.shape and x.size == a.size and squeezed(x.shape) == squeezed(a.shape):
        x = x.reshape(a.shape)
    return Case(g, x, a, ctx, exercise)


def repair_words(repair, at=None):
    """The repair search's finding as the learner reads it: where, what and why."""
    where = (at or (lambda line: f"line {line}"))(repair.line)
    return f"{where}: {repair.what}" + (f": {repair.why}" if repair.why else "")


def raise_hint(text, guesses=True):
    """The fix for an error a learner's line raised (text: the line and the error), or ''. guesses=False: only what
    the error names for certain (a torch spelling, input()), not a guess from a broadcasting error's shapes."""
    for pattern, hint in RAISES if guesses else [r for r in RAISES if "broadcast" not in r[0]]:
        m = re.search(pattern, text, re.M)
        if m:
            found = hint(m) if callable(hint) else hint
            if found:
                return found
    return ""


@functools.cache
def answer_source(g, fused=False):
    """The project's line(s) for g: from lib/lecture.py's backward, or the one-step form."""
    if fused and g in FUSED:
        return FUSED[g][1]
    src, body = backward_source()
    lines = src.splitlines()
    return textwrap.dedent("\n".join(ln for s in body if g in targets(s)
                                     for ln in lines[s.lineno - 1:s.end_lineno]))
