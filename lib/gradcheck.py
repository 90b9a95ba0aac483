"""The 2010 workflow: compare a hand-written gradient with central differences, in float64.

    numerical_gradient(f, x)   df/dx for every element of x, by (f(x+h) - f(x-h)) / 2h,
                               extrapolated and with a step fitted to each element
    rel_error(a, b)            max|a - b| / (max|a| + max|b|): the worst element, relative
                               to the tensor's scale (tiny elements cannot blow it up)
    check(...) / report(rows)  one aligned row per tensor and one verdict line

A gradient that is truly zero (dlogit_maxes in the lecture) has no scale to be relative
to: its numerical estimate is pure round-off, about 100 ulp(loss) / step. The checker returns
that bound for each estimate; a row whose analytic and numerical gradients are both inside it,
element by element, passes as zero.
"""
import numpy as np

H = 1e-3          # first step of the central difference, relative to the element's size
TOLERANCE = 1e-7  # a row passes when its relative error is below this


def numerical_gradient(f, x, h=H, floor=0.1, max_halvings=12, with_noise=False):
    """df/dx at every element of x by central differences in float64 (x perturbed in place, restored).

    One fixed step cannot serve every tensor: small probabilities or a batch variance near 0
    curve sharply and want a tiny step; a gradient that is small everywhere drowns in
    round-off (about ulp(f) / step) unless the step is large. So, per element: start at a
    step relative to the element's size (h * max(|x_i|, floor * rms(x))), combine the central
    differences at step s and s/2 by Richardson extrapolation, (4 D(s/2) - D(s)) / 3, which
    cancels the s^2 error term, and halve the step until two successive estimates agree.
    with_noise=True also returns, per element, the round-off bound of its estimate.
    """
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
    return (grad, noise_bound) if with_noise else grad


def rel_error(a, b, eps=1e-300):
    """max|a - b| / max(eps, max|a| + max|b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(eps, np.abs(a).max() + np.abs(b).max()))


def check(name, analytic, numeric, noise=None, tol=TOLERANCE):
    """One row of the table: does the hand gradient match the numerical one?
    noise: the numerical estimates' round-off bounds, for telling a zero gradient."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    if analytic.shape != numeric.shape:
        return dict(name=name, shape=analytic.shape, maxdiff=np.inf, rel=np.inf, ok=False,
                    note=f"shape {analytic.shape} != {numeric.shape}")
    maxdiff = float(np.abs(analytic.astype(np.float64) - numeric).max())
    rel = rel_error(analytic, numeric)
    zero = noise is not None and bool(np.all(np.abs(analytic) <= noise) and np.all(np.abs(numeric) <= noise))
    note = f"zero: both within round-off, {np.max(noise):.0e}" if zero else ""
    return dict(name=name, shape=analytic.shape, maxdiff=maxdiff, rel=rel,
                ok=bool(rel < tol or zero), note=note)


def report(rows, title="gradient check", tol=TOLERANCE):
    """Print the rows as an aligned table and one verdict line; return True when all pass."""
    w = max(len(r["name"]) for r in rows)
    print(f"{'tensor':<{w}} | {'shape':<12} | {'max abs diff':>12} | {'rel error':>9} | ok")
    print(f"{'-' * w}-+-{'-' * 12}-+-{'-' * 12}-+-{'-' * 9}-+----")
    for r in rows:
        shape = "x".join(map(str, r["shape"])) or "scalar"
        line = (f"{r['name']:<{w}} | {shape:<12} | {r['maxdiff']:12.3e} | {r['rel']:9.2e} | "
                f"{'ok' if r['ok'] else 'NOT OK'}")
        print(line + (f"  ({r['note']})" if r["note"] else ""))
    bad = [r["name"] for r in rows if not r["ok"]]
    if bad:
        print(f"{title}: FAILED, {len(bad)} of {len(rows)} tensors wrong: {', '.join(bad)}")
    else:
        print(f"{title}: all {len(rows)} tensors OK (relative error < {tol:.0e})")
    return not bad


def cmp(name, ours, reference):
    """The lecture's cmp(): exact / approx / maxdiff of one tensor against a reference."""
    exact = bool(np.array_equal(ours, reference))
    approx = bool(np.allclose(ours, reference))
    maxdiff = float(np.abs(np.asarray(ours, np.float64) - reference).max())
    print(f"{name:15s} | exact: {str(exact):5s} | approx: {str(approx):5s} | maxdiff: {maxdiff:.3e}")
    return dict(exact=exact, approx=approx, maxdiff=maxdiff)


def run_steps(steps, values, start=0):
    """Run a forward pass written as [(name, fn)], fn reading earlier values: values.name = fn(values)."""
    for name, fn in steps[start:]:
        setattr(values, name, fn(values))
    return values


def check_steps(steps, values, grads, params):
    """Numerically check every intermediate of a step-wise forward pass and every parameter.

    For an intermediate, its value is taken as an input to the rest of the forward pass:
    it is perturbed and only the steps after it are run again. A parameter is perturbed
    and the whole pass is run again. grads holds the hand gradients as 'd' + name.
    Returns the table rows, in reverse forward order, then the parameters.
    """
    import copy
    rows = []

    def rest_of_forward(name, start):
        def f(x):
            v = copy.copy(values)
            setattr(v, name, x)
            return run_steps(steps, v, start).loss
        return f

    for k in reversed(range(len(steps) - 1)):  # every step but the loss itself
        name = steps[k][0]
        x = getattr(values, name).astype(np.float64, copy=True)
        num, noise = numerical_gradient(rest_of_forward(name, k + 1), x, with_noise=True)
        rows.append(check("d" + name, grads["d" + name], num, noise))
    for name in params:
        x = getattr(values, name).astype(np.float64, copy=True)
        num, noise = numerical_gradient(rest_of_forward(name, 0), x, with_noise=True)
        rows.append(check("d" + name, grads["d" + name], num, noise))
    return rows
