"""The fused layers of exercises 2 and 3, and the embedding's scatter-add: one forward and one
analytic backward each, in the lecture's names.

Shapes: n batch size, V vocabulary size, H hidden units, T block_size, E n_embd.
    loss, probs = cross_entropy_forward(logits, Yb)          logits (n, V), Yb (n,)
    dlogits = cross_entropy_backward(probs, Yb)              (n, V)
    hpreact, cache = batchnorm_forward(hprebn, bngain, bnbias)   hprebn (n, H), bngain and bnbias (1, H)
    dhprebn, dbngain, dbnbias = batchnorm_backward(dhpreact, cache)   in the order of the inputs
    dC = embedding_backward(Xb, demb, V)                     Xb (n, T), demb (n, T, E) -> (V, E)
The derivations are in scripts/ex2_cross_entropy.py and scripts/ex3_batchnorm.py.
"""
import numpy as np

from lib.lecture import EPS


def cross_entropy_forward(logits, Yb):
    """Mean of -log softmax(logits)[Yb], stable: subtract the row max, then log-sum-exp."""
    n = len(Yb)
    norm_logits = logits - logits.max(1, keepdims=True)     # (n, V), largest entry 0: exp cannot overflow
    counts = np.exp(norm_logits)                            # (n, V)
    counts_sum = counts.sum(1, keepdims=True)               # (n, 1)
    loss = (np.log(counts_sum).sum() - norm_logits[np.arange(n), Yb].sum()) / n
    probs = counts / counts_sum                             # (n, V), the cache for the backward
    return loss, probs


def cross_entropy_backward(probs, Yb):
    """dloss/dlogits = (softmax(logits) - onehot(Yb)) / n: p everywhere, p - 1 at the target."""
    n = len(Yb)
    dlogits = probs.copy()
    dlogits[np.arange(n), Yb] -= 1
    dlogits /= n
    return dlogits


def batchnorm_forward(hprebn, bngain, bnbias, eps=EPS):
    """Normalise each column by its batch mean and variance (Bessel's n-1), then scale and shift."""
    n = len(hprebn)
    bnmeani = hprebn.sum(0, keepdims=True) / n              # (1, H)
    bndiff = hprebn - bnmeani                               # (n, H)
    bnvar = (bndiff * bndiff).sum(0, keepdims=True) / (n - 1)  # (1, H) Bessel's correction
    bnvar_inv = (bnvar + eps) ** -0.5                       # (1, H)
    bnraw = bndiff * bnvar_inv                              # (n, H)
    hpreact = bngain * bnraw + bnbias                       # (n, H)
    return hpreact, dict(bnraw=bnraw, bnvar_inv=bnvar_inv, bngain=bngain)


def batchnorm_backward(dhpreact, cache):
    """dhprebn, dbngain, dbnbias in one step; dhprebn sums the three paths (direct, mean, variance).
    The lecture's line, with its two sums named: dhpreact.sum(0) is dbnbias, (dhpreact * bnraw).sum(0) is dbngain."""
    bnraw, bnvar_inv, bngain = cache["bnraw"], cache["bnvar_inv"], cache["bngain"]
    n = len(dhpreact)
    dbngain = (bnraw * dhpreact).sum(0, keepdims=True)      # (1, H)
    dbnbias = dhpreact.sum(0, keepdims=True)                # (1, H)
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)  # (n, H)
    return dhprebn, dbngain, dbnbias


def embedding_backward(Xb, demb, vocab_size):
    """dC for emb = C[Xb]: every use of a row of C adds its gradient to that row. As a matmul,
    row i of onehot(Xb).T picks out every use of character i at once. (V, E)"""
    E = demb.shape[-1]
    onehot = np.eye(vocab_size, dtype=demb.dtype)[Xb.ravel()]  # (n*T, V)
    return onehot.T @ demb.reshape(-1, E)
