"""The lecture's MLP, shared by the scripts: parameters, evaluation and sampling.

Shapes: V vocabulary, T block_size, E n_embd, H n_hidden, N examples.
    C (V, E)  W1 (T*E, H)  b1 (H,)  bngain, bnbias (1, H)  W2 (H, V)  b2 (V,)
The training forward and the hand backward are written out in the scripts themselves.
"""
import numpy as np

from lib.layers import EPS

PARAM_NAMES = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")  # the order of the forward pass


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
    return {k: p[k].astype(dtype) for k in PARAM_NAMES}


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
        m = logits.max(1, keepdims=True)
        logsumexp = np.log(np.exp(logits - m).sum(1)) + m[:, 0]
        total += (logsumexp - logits[np.arange(len(logits)), Y[i:i + chunk]]).sum()
    return total / len(X)


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
