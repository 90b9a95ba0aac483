"""The practice grader: run a learner's backward pass and say, line by line, what is wrong and why.

A practice file is plain numpy run top to bottom, like the lecture's exercise cell: before it
runs, the forward pass's tensors exist under the lecture's names (lib/lecture.py), and whatever
it assigns to d<name> is graded against the project's own backward, in float64.

Every gradient is judged on its own. Its statements (every top-level statement that assigns
d<name>, with the learner's helper lines before them) are run again with the correct value of
every other gradient, so one mistake gives one 'wrong' row, and a row whose line is right but
whose upstream is not says whose error it inherits.

    template(exercise, values)                       the practice file's text
    grade(source, path, exercise, values, answers)   rows: name, status, diff, rel, diagnosis
"""
import ast
import contextlib
import functools
import inspect
import io
import re
import textwrap
import traceback

import numpy as np

from lib import lecture
from lib.gradcheck import rel_error

EXERCISES = {
    "ex1": dict(title="Exercise 1: backprop through the whole thing, one small step at a time",
                graded=lecture.GRADIENTS, given_grads=(), n_hidden=64,
                task="Fill in every gradient below, in this order: from the loss back to the embedding, then the\n"
                     "parameters. Where a tensor is used twice in the forward pass, its gradient has two parts."),
    "ex2": dict(title="Exercise 2: the cross-entropy backward in one step",
                graded=("dlogits",), given_grads=(), n_hidden=64,
                task="Compute dlogits directly from logits (or probs), Yb and n, in one or a few lines:\n"
                     "work out d loss / d logits on paper for one row first."),
    "ex3": dict(title="Exercise 3: the batchnorm backward in one step",
                graded=("dbngain", "dbnbias", "dhprebn"), given_grads=("dhpreact",), n_hidden=64,
                task="dhpreact (n, H), the gradient arriving at the batchnorm output, is given. Compute\n"
                     "dbngain, dbnbias and then dhprebn in one (long) line, from the forward's names."),
    "ex4": dict(title="Exercise 4: the whole backward of a training step, then train with it",
                graded=("dlogits", "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias", "dhprebn", "dembcat",
                        "dW1", "db1", "demb", "dC"), given_grads=(), n_hidden=200,
                task="Write the backward of the training step, from dlogits down to dC, using the one-step\n"
                     "forms of exercises 2 and 3. `practice.py check` grades it on one batch, then trains\n"
                     "with it beside the project's own backward and plots both loss curves."),
}
PARAM_SHAPES = dict(C="(V, E)", W1="(T*E, H)", b1="(H,)", bngain="(1, H)", bnbias="(1, H)", W2="(H, V)", b2="(V,)")
ALL_GRADIENTS = set(lecture.GRADIENTS)

# The tensors used twice in the forward pass: each use sends gradient back, and they add up.
BRANCHES = {
    "dcounts": [("probs = counts * counts_sum_inv", "counts_sum_inv * dprobs"),
                ("counts_sum = counts.sum(1, keepdims=True)", "np.ones_like(counts) * dcounts_sum")],
    "dlogits": [("norm_logits = logits - logit_maxes", "dnorm_logits"),
                ("logit_maxes = logits.max(1, keepdims=True)", "np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes")],
    "dbndiff": [("bnraw = bndiff * bnvar_inv", "bnvar_inv * dbnraw"),
                ("bndiff2 = bndiff ** 2", "2 * bndiff * dbndiff2")],
    "dhprebn": [("bndiff = hprebn - bnmeani", "dbndiff"),
                ("bnmeani = 1 / n * hprebn.sum(0, keepdims=True)", "1 / n * np.ones_like(hprebn) * dbnmeani")],
}
# Wrong answers that are not a constant factor away from the right one, recognised by value.
KNOWN = {
    "dhprebn": [("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))",
                 "this is the textbook formula for the biased variance (1/n), but the forward divides by n-1 "
                 "(Bessel): the variance path keeps a factor n/(n-1), ... - n/(n-1) * bnraw * (dhpreact * bnraw).sum(0)")],
}
TORCH = [  # (pattern in the learner's line, the numpy spelling)
    (r"keepdim\s*=", "numpy spells it keepdims=True, with an s"),
    (r"\bdim\s*=", "numpy's keyword is axis=, not dim= (or pass the axis first: .sum(1, keepdims=True))"),
    (r"\.clone\(\)", "numpy's copy is .copy(), not torch's .clone()"),
    (r"\.view\(", "numpy reshapes with .reshape(...); its .view() reinterprets the bytes as another dtype"),
    (r"\btorch\.", "there is no torch here: use numpy's function (np.zeros_like, np.exp, np.arange ...)"),
    (r"\bF\.", "F.softmax and F.cross_entropy are torch: write them with np.exp(...) and a sum"),
    (r"\.item\(\)", "numpy: float(x) instead of .item() (which only works on one number)"),
    (r"\.(exp|log|tanh|t)\(\)", "numpy has no tensor methods for these: np.exp(x), np.log(x), np.tanh(x), x.T"),
    (r"^\s*import torch|^\s*from torch", "no torch here: this file is numpy only (np is already imported)"),
]


@functools.cache
def shapes():
    """Symbolic shape of every tensor, from the comment on its forward line: {'emb': '(n, T, E)', ...}."""
    found = dict(PARAM_SHAPES, loss="scalar")
    for line in inspect.getsource(lecture.forward).splitlines():
        m = re.match(r"\s+(\w+) = .*#\s*(\([^)]*\))", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def template(name, values):
    """The text of a new practice file for exercise `name`; values: the forward's namespace."""
    ex, sym = EXERCISES[name], shapes()
    n, H = values["hprebn"].shape
    V, E = values["C"].shape
    T = values["Xb"].shape[1]
    forward_src = textwrap.dedent(inspect.getsource(lecture.forward)).splitlines()
    body = textwrap.dedent("\n".join(ln for ln in forward_src[3:] if not ln.strip().startswith("return"))).splitlines()
    given = [f"#   {k:<15} {sym[k]:<10} {'parameter' if k in PARAM_SHAPES else 'the batch' if k in ('Xb', 'Yb') else ''}"
             for k in lecture.PARAMS]
    given += ["#   Xb              (n, T)     the batch's contexts (integers)", "#   Yb              (n,)       the targets",
              "#   n               an int     the batch size", "#   EPS             1e-5       added to the batch variance"]
    given += [f"#   {g:<15} {sym[g[1:]]:<10} given: the gradient arriving from above" for g in ex["given_grads"]]
    blanks = [f"{g} = None  # TODO  {sym[g[1:]]}" for g in ex["graded"]]
    return "\n".join([
        f"# {ex['title']}.",
        "#",
        *[f"# {ln}" for ln in ex["task"].splitlines()],
        "#",
        f"# Before this file runs, these exist as float64 numpy arrays, with np imported. Here",
        f"# n = {n} examples, T = {T} characters of context, E = {E}, H = {H}, V = {V}:",
        *given,
        "# and every intermediate of the forward pass (lib/lecture.py), one plain statement each,",
        "# with its shape at the end of the line:",
        "#",
        *[f"#   {ln}" if ln.strip() else "#" for ln in body],
        "#",
        "# Grade it:  python scripts/practice.py check PATH      (--batch-size 2 and so on: other shapes)",
        f"# A hint:    python scripts/practice.py hint {name} {ex['graded'][0]}      (--answer: the project's line)",
        "",
        *blanks,
        "",
    ])


# reading the learner's file

def targets(stmt):
    """The names a statement writes: assigned, written through an index, or the first argument of np.add.at."""
    out = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                out.add(base.id)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "at"
              and node.args and isinstance(node.args[0], ast.Name)):
            out.add(node.args[0].id)
    return out


def reads(stmts):
    return {node.id for s in stmts for node in ast.walk(s) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def in_place(stmt, name):
    """Does the statement change `name`'s array in place (+=, an indexed write, np.add.at)?"""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id == name
    written = targets(stmt)
    plain = {t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)}
    return name in written and name not in plain


def run(stmts, namespace, path):
    """exec the statements one at a time in namespace; {statement index: (line, 'Error: message')}.
    What the learner's code prints is swallowed: the grader's table is the output."""
    errors = {}
    for i, stmt in enumerate(stmts):
        code = compile(ast.Module(body=[stmt], type_ignores=[]), path, "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                exec(code, namespace)
        except Exception as e:  # the learner's bug, to be reported, never raised
            lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == path]
            errors[i] = (lines[-1] if lines else stmt.lineno, f"{type(e).__name__}: {e}")
    return errors


def torch_hint(source_lines, stmts):
    for s in stmts:
        text = "\n".join(source_lines[s.lineno - 1:s.end_lineno])
        for pattern, hint in TORCH:
            if re.search(pattern, text, re.M):
                return f"line {s.lineno}: {hint}"
    return ""


# judging one gradient

def close(x, a):
    return (isinstance(x, np.ndarray) and x.shape == np.shape(a) and np.issubdtype(x.dtype, np.number)
            and bool(np.allclose(x, a, rtol=1e-7, atol=1e-12)))


def diagnose(g, x, a, context, n, exercise="ex1"):
    """Why x (the learner's value, with correct inputs) is not a (the answer): one line."""
    sym = shapes().get(g[1:], "")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        return f"{g} is a {type(x).__name__}, where a numpy array of shape {sym} is due"
    if x.shape != a.shape:
        due = f"{a.shape} = {sym}" if sym else str(a.shape)
        if x.ndim == 2 and x.shape == a.shape[::-1]:
            values = "the transpose of the answer" if np.allclose(x.T, a) else "transposed"
            return (f"shape {x.shape} where {due} is due: {values}. A gradient has the shape of its "
                    f"tensor; line the matmul up so the shapes chain, e.g. dW2 = h.T @ dlogits, not dlogits.T @ h")
        dropped = [k for k in range(a.ndim) if a.shape[k] == 1 and x.shape == a.shape[:k] + a.shape[k + 1:]]
        if dropped:
            right = " (the numbers are right)" if np.allclose(x, a.reshape(x.shape)) else ""
            return (f"shape {x.shape} where {due} is due: the sum over axis {dropped[0]} dropped it{right}; "
                    f"keep it with keepdims=True")
        if x.ndim == a.ndim and all(xs >= s for xs, s in zip(x.shape, a.shape)) and x.size > a.size:
            return (f"shape {x.shape} where {due} is due: a {(n,)} vector met a column, and "
                    f"broadcasting silently made a matrix; a sum lost its axis: keep it with keepdims=True")
        return f"shape {x.shape} where {due} is due"
    for k, (use, expr) in enumerate(BRANCHES.get(g, [])):
        if close(x, eval(expr, context)):
            other = BRANCHES[g][1 - k][0]
            return (f"matches the {('first', 'second')[k]} branch only ({use}): {g[1:]} is used twice in the forward "
                    f"pass, and the other use ({other}) also sends gradient: add it with +=")
    if g == "dC":
        shortened = np.zeros_like(a)
        shortened[context["Xb"]] += context["demb"]
        if close(x, shortened):
            short = int((~np.isclose(shortened, a).all(1)).sum())
            return (f"dC[Xb] += demb keeps one gradient per row when a character is used more than once: {short} rows "
                    f"of dC are short. Use np.add.at(dC, Xb, demb) or the lecture's double loop")
    for expr, why in KNOWN.get(g, []):
        if close(x, eval(expr, context)):
            return why
    mask = np.abs(a) > 1e-9 * np.abs(a).max()
    if mask.any():
        r = float(np.median(x[mask] / a[mask]))
        if r != 0 and np.allclose(x, r * a, rtol=1e-6, atol=1e-12):
            for factor, why in ((-1, "the sign is flipped: yours is minus the answer"),
                                (n, f"n = {n} times too large: the 1/n of the mean over the batch is missing"),
                                (1 / n, f"n = {n} times too small: the 1/n of the mean is applied twice"),
                                ((n - 1) / n, "off by a factor (n-1)/n: 1/n where Bessel's 1/(n-1) belongs (the batch "
                                              "variance divides by n-1, so its gradient does too)"),
                                (n / (n - 1), "off by a factor n/(n-1): 1/(n-1) where 1/n belongs (only the variance "
                                              "has Bessel's n-1; the mean divides by n)"),
                                (2, "twice the answer: check the power rule (d x^2 = 2x, d x^-1/2 = -1/2 x^-3/2)"),
                                (0.5, "half the answer: check the power rule (d x^2 = 2x, d x^-1/2 = -1/2 x^-3/2)")):
                if abs(r - factor) <= 1e-6 * abs(factor):
                    return why
            return f"a constant factor {r:.6g} times the answer"
    i = np.unravel_index(np.argmax(np.abs(x - a)), a.shape)
    where = f"[{', '.join(map(str, i))}]" if i else ""
    return (f"largest difference at {g}{where}: yours {x[i]:.6g}, the answer {a[i]:.6g}; check the local "
            f"derivative (practice.py hint {exercise} {g})")


def grade(source, path, name, values, answers):
    """Grade a practice file's text. values: the forward's namespace (lecture.forward), plus the
    given gradients; answers: lecture.backward's gradients. Returns (rows, notes): one row per
    graded gradient (name, status, maxdiff, rel, diagnosis); notes for lines that belong to no row."""
    ex = EXERCISES[name]
    n = values["n"]
    stmts = ast.parse(source, filename=path).body
    lines = source.splitlines()
    given = {**values, **{g: answers[g] for g in ex["given_grads"]}, "np": np, "EPS": lecture.EPS}

    def fresh(extra=()):
        ns = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in given.items()}
        ns.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in dict(extra).items()})
        return ns

    full = fresh()
    errors = run(stmts, full, path)
    owners = {g: [i for i, s in enumerate(stmts) if g in targets(s)] for g in ex["graded"]}
    helpers = [i for i, s in enumerate(stmts) if not targets(s) & (ALL_GRADIENTS | set(given))]
    notes = []
    for i in (i for i in helpers if i in errors):
        hint = torch_hint(lines, [stmts[i]])
        notes.append(f"line {errors[i][0]}: {errors[i][1]}" + (f" ({hint})" if hint else ""))
    changed = [k for k, v in values.items() if isinstance(v, np.ndarray) and not np.array_equal(full[k], v)]
    context = {**given, **answers}
    victims = {}  # `culprit = victim` without a copy, then culprit changed in place: victim changes too
    for c in ex["graded"]:
        v = aliased([stmts[i] for i in owners[c]], c, ALL_GRADIENTS | set(values))
        if v:
            victims[v] = c
    status, rows = {}, []
    for g in ex["graded"]:
        own, a = owners[g], answers[g]
        own_stmts = [stmts[i] for i in own]
        value = full.get(g)
        row = dict(name=g, maxdiff=None, rel=None, zero=False, lines=[stmts[i].lineno for i in own])
        if isinstance(value, np.ndarray) and value.shape == a.shape and np.issubdtype(value.dtype, np.number):
            row.update(maxdiff=float(np.abs(value - a).max()), rel=rel_error(value, a),
                       zero=bool(np.abs(a).max() <= 1e-12 and np.abs(value).max() <= 1e-12))  # dlogit_maxes, db1
        if not own or (value is None and not any(i in errors for i in own)):
            row.update(status="missing", why=f"not assigned yet: {g} = ...  {shapes()[g[1:]]}" if not own else f"{g} is still None")
        else:
            mine = fresh({k: v for k, v in answers.items() if k != g})
            part = [i for i in range(max(own) + 1) if i in own or i in helpers]
            failed = run([stmts[i] for i in part], mine, path)
            x = mine.get(g)
            alias = aliased(own_stmts, g, ALL_GRADIENTS | set(values))
            upstream = [u for u in sorted(reads(own_stmts) & set(status), key=ex["graded"].index) if status[u] != "ok"]
            if failed:
                line, err = next(iter(failed.values()))
                hint = torch_hint(lines, [stmts[i] for i in part])
                if not hint and ("not aligned" in err or "matmul" in err):
                    hint = (f"line {line}: a gradient has its tensor's shape {shapes()[g[1:]]}: line the matmul up so "
                            f"the inner sizes meet (a transpose?)")
                row.update(status="wrong", why=f"line {line} raises {err}" + (f"; {hint.split(': ', 1)[1]}" if hint else ""))
            elif x is None:
                row.update(status="missing", why=f"{g} is still None")
            elif alias:
                row.update(status="wrong", why=f"{g} = {alias} makes no copy: both names are one array, so the later "
                                               f"in-place change of {g} changes {alias} too; write {g} = {alias}.copy() "
                                               f"(numpy's spelling of the lecture's .clone())")
            elif not close(x, a):
                row.update(status="wrong", why=diagnose(g, np.asarray(x) if isinstance(x, (list, float, int)) else x,
                                                        a, context, n, name))
            elif close(value, a):
                row.update(status="ok", why="")
            else:
                if g in victims:
                    why = (f"your line is right, but `{victims[g]} = {g}` (no copy) shares its array, and the in-place "
                           f"change of {victims[g]} changed {g} too")
                elif upstream:
                    why = f"your line is right; it inherits the error of {', '.join(upstream)}"
                    if value is None:
                        why += "; with yours it could not be computed"
                    elif np.shape(value) != a.shape:
                        why += f"; with yours it comes out {np.shape(value)}"
                        if np.ndim(value) == a.ndim and np.size(value) > a.size:
                            why += ": broadcasting made a matrix of a vector that lost its axis"
                elif any(i in errors for i in own):
                    line, err = next(errors[i] for i in own if i in errors)
                    why = f"your line is right, but with your other gradients line {line} raises {err}"
                elif changed:
                    why = f"your line is right, but your file changed {', '.join(changed)} in place (make a .copy())"
                else:
                    why = "your line is right, but a later line changed it (an in-place += on a shared array?)"
                row.update(status="inherits", why=why)
        status[g] = row["status"]
        rows.append(row)
    return rows, notes


def aliased(stmts, g, names):
    """`g = other` (a bare name, no copy) followed by an in-place change of g: the other name's array."""
    for k, s in enumerate(stmts):
        if (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id == g and isinstance(s.value, ast.Name) and s.value.id in names
                and any(in_place(later, g) for later in stmts[k + 1:])):
            return s.value.id
    return None


def table(rows):
    """The rows as aligned lines."""
    w = max(len(r["name"]) for r in rows)
    out = [f"{'gradient':<{w}} | {'status':8} | {'max abs diff':>12} | {'rel error':>9} | diagnosis",
           f"{'-' * w}-+-{'-' * 8}-+-{'-' * 12}-+-{'-' * 9}-+-{'-' * 9}"]
    for r in rows:
        diff = f"{r['maxdiff']:12.3e}" if r["maxdiff"] is not None else f"{'-':>12}"
        rel = f"{'-':>9}" if r["rel"] is None else f"{'zero':>9}" if r["zero"] else f"{r['rel']:9.2e}"
        where = f"line {r['lines'][0]}: " if r["status"] == "wrong" and r["lines"] and not r["why"].startswith("line") else ""
        out.append(f"{r['name']:<{w}} | {r['status']:8} | {diff} | {rel} | {where}{r['why']}".rstrip())
    return out


# hints: the local derivative and what meets there, never the answer

HINTS = {
    "dlogprobs": "loss = -(mean of the n target log-probs): each target entry gets -1/n, every other entry 0",
    "dprobs": "logprobs = log(probs): d log(x)/dx = 1/x, times dlogprobs (the chain rule, element by element)",
    "dcounts_sum_inv": "probs = counts * counts_sum_inv: counts_sum_inv (n, 1) was broadcast over the V columns, "
                       "so its gradient sums counts * dprobs over axis 1 (keep the axis)",
    "dcounts_sum": "counts_sum_inv = counts_sum ** -1: d x^-1 = -x^-2",
    "dcounts": "counts is used twice: in probs = counts * counts_sum_inv (gives counts_sum_inv * dprobs) and in "
               "counts_sum = counts.sum(1) (a sum sends its gradient to every element: dcounts_sum broadcast); add both",
    "dnorm_logits": "counts = exp(norm_logits): d exp(x) = exp(x), which is counts",
    "dlogit_maxes": "norm_logits = logits - logit_maxes: logit_maxes (n, 1) was broadcast and subtracted, so minus the "
                    "sum of dnorm_logits over axis 1. It should come out about zero: why?",
    "dlogits": "logits is used twice: norm_logits = logits - logit_maxes (passes dnorm_logits straight through) and "
               "logit_maxes = logits.max(1) (routes dlogit_maxes to the position of each row's max: np.eye(V)[argmax])",
    "dh": "logits = h @ W2 + b2: for a matmul the gradient is a matmul too; match the shapes: (n, V) and (H, V) -> (n, H)",
    "dW2": "logits = h @ W2 + b2: (n, H) and (n, V) -> (H, V); which one is transposed?",
    "db2": "b2 (V,) was broadcast over the n rows: sum dlogits over axis 0",
    "dhpreact": "h = tanh(hpreact): d tanh(x) = 1 - tanh(x)^2, and tanh(x) is h",
    "dbngain": "hpreact = bngain * bnraw + bnbias: bngain (1, H) was broadcast over the batch: sum bnraw * dhpreact over axis 0",
    "dbnraw": "hpreact = bngain * bnraw + bnbias: times bngain (broadcast over the batch)",
    "dbnbias": "hpreact = ... + bnbias: bnbias (1, H) was broadcast over the batch: sum dhpreact over axis 0",
    "dbndiff": "bndiff is used twice: bnraw = bndiff * bnvar_inv (gives bnvar_inv * dbnraw) and bndiff2 = bndiff ** 2 "
               "(gives 2 * bndiff * dbndiff2); add both",
    "dbnvar_inv": "bnraw = bndiff * bnvar_inv: bnvar_inv (1, H) was broadcast over the batch: sum bndiff * dbnraw over axis 0",
    "dbnvar": "bnvar_inv = (bnvar + eps) ** -0.5: d x^-1/2 = -1/2 x^-3/2 (eps is 1e-5)",
    "dbndiff2": "bnvar = 1/(n-1) * bndiff2.sum(0): a sum broadcasts its gradient back to every row, times 1/(n-1) "
                "(Bessel's correction, not 1/n)",
    "dbnmeani": "bndiff = hprebn - bnmeani: bnmeani (1, H) was broadcast and subtracted: minus the sum of dbndiff over axis 0",
    "dhprebn": "hprebn is used twice: bndiff = hprebn - bnmeani (passes dbndiff through) and bnmeani = 1/n * hprebn.sum(0) "
               "(sends 1/n * dbnmeani to every row); add both",
    "dembcat": "hprebn = embcat @ W1 + b1: (n, H) and (T*E, H) -> (n, T*E)",
    "dW1": "hprebn = embcat @ W1 + b1: (n, T*E) and (n, H) -> (T*E, H)",
    "db1": "b1 (H,) was broadcast over the batch: sum dhprebn over axis 0. It should come out about zero: why?",
    "demb": "embcat = emb.reshape(n, -1) only moved numbers around: reshape the gradient back to emb's shape",
    "dC": "emb = C[Xb] copied row Xb[k, j] of C into place (k, j): every copy sends its gradient back to its row, and "
          "rows used many times add up all of them (a loop with +=, or np.add.at; not dC[Xb] += demb)",
}
FUSED = {  # the one-step forms of exercises 2 and 3 (and of exercise 4, which uses them)
    "dlogits": ("loss = mean over rows of -log softmax(logits)[Yb]: for one row, d/dlogit_i = p_i - [i == y]; "
                "then divide by n for the mean",
                "dlogits = probs.copy()\ndlogits[np.arange(n), Yb] -= 1\ndlogits /= n"),
    "dhprebn": ("hprebn reaches the loss three ways: directly through bnraw, through the batch mean and through the "
                "batch variance. Sum the three (scripts/ex3_batchnorm.py derives it); mind Bessel's n-1",
                "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
                "(dhpreact * bnraw).sum(0))"),
}


def hint(exercise, g, answer=False):
    """The hint for gradient g of an exercise (the local derivative, the uses, the shape), and with
    answer=True the project's own line(s) for it."""
    fused = exercise != "ex1" and g in FUSED
    text, sym = FUSED[g][0] if fused else HINTS[g], shapes()[g[1:]]
    uses = [ln.strip().split("#")[0].strip() for ln in inspect.getsource(lecture.forward).splitlines()
            if re.search(rf"=.*\b{g[1:]}\b", ln) and not re.match(rf"\s*{g[1:]} =", ln)]
    out = [f"{g}: shape {sym}, the shape of {g[1:]}.", f"  {text}."]
    if uses:
        out.append(f"  {g[1:]} is used in: " + "; ".join(uses))
    if answer:
        if fused:
            lines = FUSED[g][1]
        else:
            src = textwrap.dedent(inspect.getsource(lecture.backward))
            body = ast.parse(src).body[0].body
            src_lines = src.splitlines()
            lines = textwrap.dedent("\n".join(ln for s in body if g in targets(s)
                                              for ln in src_lines[s.lineno - 1:s.end_lineno]))
        out += ["  the project's answer (lib/lecture.py):" if not fused else "  the project's answer:",
                *["    " + ln for ln in lines.splitlines()]]
    return "\n".join(out)
