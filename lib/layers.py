"""The fused layers of exercises 2 and 3: one forward, one analytic backward each.

Shapes: n batch size, V vocabulary size, H hidden units.
    loss, probs = cross_entropy_forward(logits, Y)      logits (n, V), Y (n,)
    dlogits = cross_entropy_backward(probs, Y)          (n, V)
    out, cache = batchnorm_forward(x, gain, bias)       x (n, H), gain and bias (1, H)
    dx, dgain, dbias = batchnorm_backward(dout, cache)  gradients in the order of the inputs
The derivations are in scripts/ex2_cross_entropy.py and scripts/ex3_batchnorm.py.
"""
import numpy as np

EPS = 1e-5  # added to the batch variance, as in the lecture


def cross_entropy_forward(logits, Y):
    """Mean of -log softmax(logits)[Y], stable: subtract the row max, then log-sum-exp."""
    n = len(Y)
    norm_logits = logits - logits.max(1, keepdims=True)     # (n, V), largest entry 0: exp cannot overflow
    counts = np.exp(norm_logits)                            # (n, V)
    counts_sum = counts.sum(1, keepdims=True)               # (n, 1)
    loss = (np.log(counts_sum).sum() - norm_logits[np.arange(n), Y].sum()) / n  # sum / n: mean() is slower
    probs = counts / counts_sum                             # (n, V), the cache for the backward
    return loss, probs


def cross_entropy_backward(probs, Y):
    """dloss/dlogits = (softmax(logits) - onehot(Y)) / n: p everywhere, p - 1 at the target."""
    n = len(Y)
    dlogits = probs.copy()
    dlogits[np.arange(n), Y] -= 1
    dlogits /= n
    return dlogits


def batchnorm_forward(x, gain, bias, eps=EPS):
    """Normalise each column of x by its batch mean and variance (Bessel's n-1), then scale and shift."""
    n = len(x)
    mean = x.sum(0, keepdims=True) / n                      # (1, H)
    diff = x - mean                                         # (n, H)
    var = (diff * diff).sum(0, keepdims=True) / (n - 1)     # (1, H), Bessel's correction
    var_inv = (var + eps) ** -0.5                           # (1, H)
    xhat = diff * var_inv                                   # (n, H)
    return gain * xhat + bias, (xhat, var_inv, gain, mean, var)


def batchnorm_backward(dout, cache):
    """dx, dgain, dbias in one step; dx sums the three paths (direct, mean, variance)."""
    xhat, var_inv, gain = cache[:3]
    n = len(dout)
    dbias = dout.sum(0, keepdims=True)                      # (1, H)
    dgain = (xhat * dout).sum(0, keepdims=True)             # (1, H)
    # dx = gain * var_inv / n * (n * dout - dbias - n / (n - 1) * xhat * dgain), with the
    # 1/n taken inside so that the scalars meet the (1, H) vectors, not the (n, H) matrices
    dx = (gain * var_inv) * (dout - dbias / n - xhat * (dgain / (n - 1)))  # (n, H)
    return dx, dgain, dbias
