"""The workspace: what a practice file's lines may use (the forward of one batch, by name), the
project's gradients, and the random upstream gradients of the third run."""
import numpy as np

from lib.grader import catalogue
from lib.lecture import EPS, PARAMS, backward, forward


def prepare(exercise, batch_size=32, n_hidden=None, seed=42, data=None):
    """(values, answers, noise): the forward of one batch, the project's gradients, and the random
    upstream gradients of the third run (one standard normal array per gradient)."""
    from lib.model import exercise_batch
    _, params, Xb, Yb = exercise_batch(batch_size, n_hidden=n_hidden or catalogue.EXERCISES[exercise]["n_hidden"],
                                       seed=seed, data=data)
    values = forward(**params, Xb=Xb, Yb=Yb)
    answers = backward(**values)
    rng = np.random.default_rng([seed, 7])
    noise = {g: rng.standard_normal(np.shape(a)) for g, a in answers.items()}
    return values, answers, noise


def names(values, exercise, answers):
    """Every name a practice file's header lists: the forward's tensors, np, EPS, the notebook's
    sizes and their letters (V, T, E, H), `parameters`, `bnmean` (exercise 4's name for bnmeani), the
    given gradients and cmp."""
    n, H = values["hprebn"].shape
    ns = {**values, "np": np, "EPS": EPS, "batch_size": n, "block_size": values["Xb"].shape[1],
          "vocab_size": values["C"].shape[0], "n_embd": values["C"].shape[1], "n_hidden": H,
          "bnmean": values["bnmeani"], "parameters": [values[k] for k in PARAMS]}
    ns.update(V=ns["vocab_size"], T=ns["block_size"], E=ns["n_embd"], H=H)  # the header's letters
    ns.update({g: answers[g].copy() for g in catalogue.EXERCISES[exercise]["given_grads"]})

    def cmp(s, dt, t=None):
        """The lecture's cmp: your gradient of tensor s against the project's (exact, approx, maxdiff)."""
        ref = answers.get("d" + s.removeprefix("d"))
        if ref is None:
            print(f"{s:15s} | no such tensor in the forward")
            return
        dt = np.asarray(dt, dtype=np.float64)
        same = dt.shape == ref.shape
        print(f"{s:15s} | exact: {str(same and bool(np.array_equal(dt, ref))):5s} | approx: "
              f"{str(same and bool(np.allclose(dt, ref))):5s} | maxdiff: "
              f"{float(np.abs(dt - ref).max()) if same else 'shape ' + str(dt.shape) + ' != ' + str(ref.shape)}")
    ns["cmp"] = cmp
    return ns


def cost_of(batch_size, n_hidden, vocab_size=27, n_embd=10, block_size=3):
    """Seconds the project's own forward and backward take at this shape, measured once on made-up numbers: what
    the grader's time limit grows with."""
    import time
    from lib.model import init_params
    rng = np.random.default_rng(0)
    params = init_params(vocab_size, n_embd, n_hidden, block_size, rng)
    Xb, Yb = rng.integers(0, vocab_size, (batch_size, block_size)), rng.integers(0, vocab_size, batch_size)
    times = []
    for _ in range(3):  # the fastest of three: a busy machine's pause is not the shape's cost
        started = time.perf_counter()
        backward(**forward(**params, Xb=Xb, Yb=Yb))
        times.append(time.perf_counter() - started)
    return min(times)
