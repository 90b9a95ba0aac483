"""The 2010 workflow: compare a hand-written gradient with central differences, in float64.

    numerical_gradient(f, x)      the ten lines every course shows: (f(x+h) - f(x-h)) / 2h, h = 1e-5
    precise_gradient(f, x)        the same idea made precise enough for a 1e-7 verdict on every
                                  tensor of the lecture; returns (gradient, round-off bound)
    rel_error(a, b)               max|a - b| / (max|a| + max|b|): the worst element, relative to the
                                  tensor's scale (tiny elements cannot blow it up)
    check(...) / report(rows)     one aligned row per tensor and one verdict line
    check_params(loss_of, ...)    every parameter of a model, one row each
    check_forward(forward, ...)   every intermediate of a forward written as plain statements
"""
import ast
import inspect

import numpy as np

from lib.source import function_source

TOLERANCE = 1e-7  # a row passes when its relative error is below this


def numerical_gradient(f, x, h=1e-5):
    """df/dx by central differences, one element at a time (x is perturbed in place and restored)."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


# Why the simple version is not enough here: its error is about h^2 f''' (curvature) plus
# ulp(f) / h (round-off). At h = 1e-5 the small probabilities of dprobs curve so sharply that
# the first term is 1e-7 relative, and dbndiff2's small gradient drowns in the second; a
# batch-2 variance near zero is worse. So the precise version, per element: starts at a step
# relative to the element's size, h * max(|x_i|, floor * rms(x)); combines the differences at
# step s and s/2 by Richardson extrapolation, (4 D(s/2) - D(s)) / 3, which cancels the s^2 term;
# and halves the step until two successive estimates agree. It also returns each estimate's
# round-off bound, about 100 ulp(f) / step: a gradient that is truly zero (dlogit_maxes) has no
# scale to be relative to, and passes when both sides sit inside that bound.

def precise_gradient(f, x, h=1e-3, floor=0.1, max_halvings=12):
    """(df/dx, round-off bound of each estimate), both shaped like x; x is perturbed in place, restored."""
    grad = np.zeros(x.shape, dtype=np.float64)
    noise_bound = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing it perturbs x
    scale = floor * float(np.sqrt(np.mean(np.square(flat, dtype=np.float64))))
    eps = np.finfo(np.float64).eps

    def central(i, step):
        old = flat[i]
        flat[i] = old + step
        fp = f(x)
        flat[i] = old - step
        fm = f(x)
        flat[i] = old
        return (fp - fm) / (2 * step), max(abs(fp), abs(fm))

    with np.errstate(all="ignore"):  # a step too large for the element may give nan: halve and go on
        for i in range(flat.size):
            step = h * max(abs(flat[i]), scale) or h
            d_prev, fmag = central(i, step)
            best = np.nan
            for _ in range(max_halvings):
                step /= 2
                d, fmag = central(i, step)
                estimate = (4 * d - d_prev) / 3
                noise = 100 * eps * max(fmag, 1.0) / step
                if abs(estimate - best) <= 1e-10 * abs(estimate) + noise:
                    break
                best, d_prev = estimate, d
            grad.flat[i] = estimate
            noise_bound.flat[i] = noise
    return grad, noise_bound


def rel_error(a, b, eps=1e-300):
    """max|a - b| / max(eps, max|a| + max|b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):  # a NaN or an inf in a (a gradient gone wrong): the error is NaN, quietly
        return float(np.abs(a - b).max() / max(eps, np.abs(a).max() + np.abs(b).max()))


def check(name, analytic, numeric, noise=None, tol=TOLERANCE):
    """One row of the table: does the hand gradient match the numerical one?
    noise: the numerical estimates' round-off bounds, for telling a zero gradient."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    if analytic.shape != numeric.shape:
        return dict(name=name, shape=analytic.shape, maxdiff=np.inf, rel=np.inf, ok=False, zero=False,
                    note=f"shape {analytic.shape} != {numeric.shape}")
    diff = np.abs(analytic.astype(np.float64) - numeric)
    maxdiff = float(diff.max())
    rel = rel_error(analytic, numeric)
    zero = noise is not None and bool(np.all(np.abs(analytic) <= noise) and np.all(np.abs(numeric) <= noise))
    # A difference no larger than the estimate's own round-off says nothing against the hand gradient: at
    # batch size 2 batchnorm leaves gradients the size of EPS's effect, and a relative test judges round-off.
    within = noise is not None and bool(np.all(diff <= noise))
    note = (f"both within round-off, {np.max(noise):.0e}" if zero else
            f"the difference is within the estimate's round-off, {np.max(noise):.0e}" if within and rel >= tol else "")
    return dict(name=name, shape=analytic.shape, maxdiff=maxdiff, rel=rel, ok=bool(rel < tol or zero or within),
                zero=zero, note=note)


def report(rows, title="gradient check", tol=TOLERANCE):
    """Print the rows as an aligned table and one verdict line; return True when all pass."""
    w = max(len(r["name"]) for r in rows)
    print(f"{'tensor':<{w}} | {'shape':<12} | {'max abs diff':>12} | {'rel error':>9} | ok")
    print(f"{'-' * w}-+-{'-' * 12}-+-{'-' * 12}-+-{'-' * 9}-+----")
    for r in rows:
        shape = "x".join(map(str, r["shape"])) or "scalar"
        rel = "zero" if r["zero"] else f"{r['rel']:9.2e}"
        line = (f"{r['name']:<{w}} | {shape:<12} | {r['maxdiff']:12.3e} | {rel:>9} | "
                f"{'ok' if r['ok'] else 'NOT OK'}")
        print(line + (f"  ({r['note']})" if r["note"] else ""))
    bad = [r["name"] for r in rows if not r["ok"]]
    if bad:
        print(f"{title}: FAILED, {len(bad)} of {len(rows)} tensors wrong: {', '.join(bad)}")
    else:
        bound = " or a difference within the estimate's round-off" if any(r["note"] for r in rows) else ""
        print(f"{title}: all {len(rows)} tensors OK (relative error < {tol:.0e}{bound})")
    return not bad


def cmp(name, ours, reference):
    """The lecture's cmp(): exact / approx / maxdiff of one tensor against a reference."""
    exact = bool(np.array_equal(ours, reference))
    approx = bool(np.allclose(ours, reference))
    maxdiff = float(np.abs(np.asarray(ours, np.float64) - reference).max())
    print(f"{name:15s} | exact: {str(exact):5s} | approx: {str(approx):5s} | maxdiff: {maxdiff:.3e}")
    return dict(exact=exact, approx=approx, maxdiff=maxdiff)


def check_params(loss_of, params, grads, names=None):
    """One row per parameter: grads[name] (or grads['d' + name]) against central differences of
    loss_of(params), in float64. params is not changed."""
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
    rows = []
    for name in names or p64:
        def f(x, name=name):
            return loss_of({**p64, name: x})
        numeric, noise = precise_gradient(f, p64[name].copy())
        rows.append(check("d" + name, grads[name] if name in grads else grads["d" + name], numeric, noise))
    return rows


def check_directions(loss_of, params, grads, directions=3, seed=0):
    """One row per parameter, at the cost of a few forward passes each instead of one per element:
    along `directions` random unit directions u, the directional derivative of the loss,
    d/dt loss(p + t u) at t = 0 by precise central differences, against <grad, u> (the technique
    of JAX's check_grads). A wrong gradient of any one element moves <grad, u> unless u misses it,
    which a random u does with probability zero. Where both sides sit inside the estimate's
    round-off bound (a gradient that is zero, or only round-off, as at batch size 2) the row
    passes as zero."""
    rng = np.random.default_rng(seed)
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
    rows = []
    for name, p in p64.items():
        g = np.asarray(grads[name] if name in grads else grads["d" + name], np.float64)
        if g.shape != p.shape:
            rows.append(check("d" + name, g, p))
            continue
        analytic, numeric, noise = [], [], []
        for _ in range(directions):
            u = rng.standard_normal(p.shape)
            u /= np.linalg.norm(u)
            d, bound = precise_gradient(lambda t: loss_of({**p64, name: p + t[0] * u}), np.zeros(1))
            analytic.append(float((g * u).sum()))
            numeric.append(d[0])
            noise.append(bound[0] * max(1.0, float(np.abs(u).max() * np.sqrt(u.size))))
        rows.append(check("d" + name, np.array(analytic), np.array(numeric), np.array(noise)))
        rows[-1]["shape"] = p.shape
    return rows


def statements(fn, after=None, until=None):
    """Some of the statements of `fn`, a function of plain assignments, as a function of their
    inputs: those after the one that makes `after` (from the top when None) up to the last one
    that assigns `until` (to the end when None). Call it with a dict holding the values they read
    and it returns that namespace with what they computed. This is how the checker perturbs one
    intermediate, and how exercises 2 and 3 time the lecture's chunked lines, without a second
    copy of them."""
    body = [s for s in function_source(fn)[1] if not isinstance(s, (ast.Return, ast.Expr))]

    def assigns(s, name):
        targets = s.targets if isinstance(s, ast.Assign) else [s.target] if isinstance(s, ast.AugAssign) else []
        return any(isinstance(t, ast.Name) and t.id == name for t in targets)
    start = 0 if after is None else min(i for i, s in enumerate(body) if assigns(s, after)) + 1
    stop = len(body) if until is None else max(i for i, s in enumerate(body) if assigns(s, until)) + 1
    code = compile(ast.Module(body=body[start:stop], type_ignores=[]), f"<{fn.__name__}: {after}..{until}>", "exec")

    def run(values):
        namespace = {**fn.__globals__, **values}
        exec(code, namespace)
        return namespace
    return run


def check_forward(forward, values, grads, steps, params):
    """Check every intermediate of `forward` and every parameter against central differences.

    forward(**inputs) is written as plain assignments and returns its namespace (values). An
    intermediate is taken as an input to the rest of the pass: it is perturbed and only the
    statements after it run again. A parameter is perturbed and the whole pass runs again.
    grads holds the hand gradients as 'd' + name. Rows: the intermediates in reverse order
    (all of `steps` but the last, the loss), then the parameters.
    """
    rows = []
    for name in reversed(steps[:-1]):
        rest = statements(forward, after=name)

        def f(x, name=name, rest=rest):
            return rest({**values, name: x})[steps[-1]]
        numeric, noise = precise_gradient(f, np.array(values[name], np.float64))
        rows.append(check("d" + name, grads["d" + name], numeric, noise))
    inputs = {k: values[k] for k in inspect.signature(forward).parameters}
    rows += check_params(lambda p: forward(**{**inputs, **p})[steps[-1]], {k: values[k] for k in params}, grads)
    return rows
