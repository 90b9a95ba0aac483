"""The lecture's MLP, shared by the scripts: parameters, evaluation and sampling.

Shapes: V vocabulary, T block_size, E n_embd, H n_hidden, n batch size, N examples.
    C (V, E)  W1 (T*E, H)  b1 (H,)  bngain, bnbias (1, H)  W2 (H, V)  b2 (V,)

    loss, cache = mlp_forward(params, Xb, Yb)        the training forward of one minibatch
    grads = mlp_backward(params, cache, Yb)          its hand backward: grads["W1"] is dloss/dW1

The pair is the step of scripts/train.py, whose loop writes the same lines out as the lecture's
exercise 4 cell does; tests/test_model.py pins the two together bit for bit. Scripts that need
the step as a function (gradcheck, clamp_bug, benchmark) call the pair.
"""
import functools

import numpy as np
from scipy.special import logsumexp

from lib.cli import UsageError
from lib.data import examples_at, load_splits, load_words
from lib.gradcheck import check_directions, check_params, report
from lib.layers import (batchnorm_backward, batchnorm_forward, cross_entropy_backward, cross_entropy_forward,
                        embedding_backward)
from lib.lecture import EPS, PARAMS


def init_params(vocab_size, n_embd, n_hidden, block_size, rng, dtype=np.float64):
    """The lecture's exercise init: small random biases (never exactly zero, so that a wrong
    backward cannot hide behind them), b1 kept although batchnorm follows, Kaiming tanh gain."""
    fan_in = n_embd * block_size
    p = {
        "C": rng.standard_normal((vocab_size, n_embd)),
        "W1": rng.standard_normal((fan_in, n_hidden)) * (5 / 3) / fan_in ** 0.5,
        "b1": rng.standard_normal(n_hidden) * 0.1,  # useless next to batchnorm, kept for the exercise
        "W2": rng.standard_normal((n_hidden, vocab_size)) * 0.1,
        "b2": rng.standard_normal(vocab_size) * 0.1,
        "bngain": rng.standard_normal((1, n_hidden)) * 0.1 + 1.0,
        "bnbias": rng.standard_normal((1, n_hidden)) * 0.1,
    }
    return {k: p[k].astype(dtype) for k in PARAMS}


def mlp_forward(params, Xb, Yb):
    """The training forward (batchnorm on the batch's own statistics): the loss, and the cache
    the backward needs, keyed by the lecture's names."""
    n = len(Xb)
    emb = params["C"][Xb]                                                     # (n, T, E)
    embcat = emb.reshape(n, -1)                                               # (n, T*E)
    hprebn = embcat @ params["W1"] + params["b1"]                             # (n, H)
    hpreact, bn = batchnorm_forward(hprebn, params["bngain"], params["bnbias"])  # (n, H)
    h = np.tanh(hpreact)                                                      # (n, H)
    logits = h @ params["W2"] + params["b2"]                                  # (n, V)
    loss, probs = cross_entropy_forward(logits, Yb)                           # scalar, (n, V)
    return loss, dict(Xb=Xb, embcat=embcat, h=h, probs=probs, **bn)


def mlp_backward(params, cache, Yb, dlogits=None, batchnorm_backward=batchnorm_backward):
    """The hand backward of mlp_forward, in exact reverse order; grads keyed like params.
    dlogits: the gradient arriving at the logits when the loss is not the plain mean
    cross-entropy (scripts/clamp_bug.py). batchnorm_backward: the layer's backward, an
    argument so that scripts/gradcheck.py can plant a wrong one."""
    Xb, embcat, h = cache["Xb"], cache["embcat"], cache["h"]
    n, T = Xb.shape
    if dlogits is None:
        dlogits = cross_entropy_backward(cache["probs"], Yb)                  # (n, V) exercise 2
    dh = dlogits @ params["W2"].T                                             # (n, H)
    dW2 = h.T @ dlogits                                                       # (H, V)
    db2 = dlogits.sum(0)                                                      # (V,) b2 was broadcast over the batch
    dhpreact = (1.0 - h ** 2) * dh                                            # (n, H) d tanh = 1 - tanh^2
    dhprebn, dbngain, dbnbias = batchnorm_backward(dhpreact, cache)           # exercise 3
    dembcat = dhprebn @ params["W1"].T                                        # (n, T*E)
    dW1 = embcat.T @ dhprebn                                                  # (T*E, H)
    db1 = dhprebn.sum(0)                                                      # (H,)
    demb = dembcat.reshape(n, T, -1)                                          # (n, T, E)
    dC = embedding_backward(Xb, demb, len(params["C"]))                      # (V, E)
    return dict(C=dC, W1=dW1, b1=db1, bngain=dbngain, bnbias=dbnbias, W2=dW2, b2=db2)


def gradient_check(params, Xb, Yb, title, backward=mlp_backward, quick=False):
    """The 2010 habit: every parameter's hand gradient against central differences, in float64,
    printed as a table; True when all pass. backward: scripts/gradcheck.py hands in a wrong one.
    quick: along 3 random directions per tensor instead of element by element (milliseconds
    instead of seconds, for the checks around a training run)."""
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
    loss, cache = mlp_forward(p64, Xb, Yb)
    checker = check_directions if quick else check_params
    ok = report(checker(lambda p: mlp_forward(p, Xb, Yb)[0], p64, backward(p64, cache, Yb)),
                title + (" (3 random directions per tensor)" if quick else ""))
    scale = max(float(np.abs(v).max()) for v in p64.values())
    if not ok and (scale > 1e3 or loss > 3 * np.log(len(p64["C"]))):
        print(f"note: the parameters have blown up (largest |value| {scale:.1e}, loss {loss:.3g}): at this scale "
              "tanh saturates and central differences lose their precision. Suspect the learning rate, not the "
              "backward")
    return ok


def exercise_batch(batch_size=32, n_embd=10, n_hidden=64, block_size=3, seed=42, data=None):
    """The exercises' set-up: (itos, params in float64, Xb (n, T), Yb (n,)), the parameters
    and one training minibatch both drawn from `seed`. The defaults are the lecture's exercise 1."""
    if batch_size < 2:
        raise UsageError(f"--batch-size must be >= 2 (Bessel's correction divides by n-1), got {batch_size}")
    itos, stoi, (train, _, _) = training_words(data)
    examples = sum(len(w) + 1 for w in train)
    if examples < batch_size:
        raise UsageError(f"{data} gives {examples} training examples, fewer than a batch of {batch_size}; "
                         f"give a longer list or a smaller --batch-size")
    rng = np.random.default_rng(seed)
    params = init_params(len(itos), n_embd, n_hidden, block_size, rng, np.float64)
    ix = rng.integers(0, examples, batch_size)
    Xb, Yb = examples_at(train, stoi, block_size, ix)  # the rows Xtr[ix], Ytr[ix] of the lecture's split
    return itos, params, Xb, Yb


@functools.lru_cache(maxsize=4)
def training_words(data):
    """load_words(data), read once per process (the grader's child draws two batches)."""
    return load_words(data)


def count_params(params):
    return sum(p.size for p in params.values())


def hidden_preact(params, X):
    """embcat @ W1 + b1 for contexts X (N, T): the batchnorm input, (N, H)."""
    return params["C"][X].reshape(len(X), -1) @ params["W1"] + params["b1"]


def calibrate_batchnorm(params, X, chunk=4096):
    """Batchnorm's mean and variance (Bessel's n-1) over all of X, in float64, chunk by chunk."""
    total = np.zeros(params["W1"].shape[1])
    for i in range(0, len(X), chunk):
        total += hidden_preact(params, X[i:i + chunk]).sum(0)
    mean = total / len(X)
    sq = np.zeros_like(mean)
    for i in range(0, len(X), chunk):
        sq += ((hidden_preact(params, X[i:i + chunk]) - mean) ** 2).sum(0)
    dtype = params["W1"].dtype
    return mean[None, :].astype(dtype), (sq / (len(X) - 1))[None, :].astype(dtype)


def logits_eval(params, X, bnmean, bnvar):
    """Inference: batchnorm with the calibrated statistics instead of the batch's. (N, V)"""
    hpreact = params["bngain"] * (hidden_preact(params, X) - bnmean) / np.sqrt(bnvar + EPS) + params["bnbias"]
    return np.tanh(hpreact) @ params["W2"] + params["b2"]


def split_loss(params, X, Y, bnmean, bnvar, chunk=4096):
    """Mean cross-entropy over a whole split, chunk by chunk (float64 accumulation)."""
    total = 0.0
    for i in range(0, len(X), chunk):
        logits = logits_eval(params, X[i:i + chunk], bnmean, bnvar).astype(np.float64)
        total += (logsumexp(logits, axis=1) - logits[np.arange(len(logits)), Y[i:i + chunk]]).sum()
    return total / len(X)


def trigram_loss(Xtr, Ytr, Xva, Yva, vocab_size):
    """The count-based baseline: p(next | the previous 2 characters) with add-one smoothing,
    counted on the training examples; its mean loss on the validation examples."""
    counts = np.ones((vocab_size,) * 3)
    np.add.at(counts, (Xtr[:, -2], Xtr[:, -1], Ytr), 1)
    p = counts / counts.sum(2, keepdims=True)
    return float(-np.log(p[Xva[:, -2], Xva[:, -1], Yva]).mean())


def sample_names(params, bnmean, bnvar, itos, count, rng, temperature=1.0, max_len=50):
    """Draw names one character at a time from the model, until the boundary token '.'."""
    block_size = params["W1"].shape[0] // params["C"].shape[1]
    names = []
    for _ in range(count):
        context, out = [0] * block_size, []
        while len(out) < max_len:
            logits = logits_eval(params, np.array([context]), bnmean, bnvar)[0].astype(np.float64)
            p = np.exp((logits - logits.max()) / temperature)
            ix = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
            ix = min(ix, len(p) - 1)
            if ix == 0:
                break
            out.append(itos[ix])
            context = context[1:] + [ix]
        names.append("".join(out))
    return names
