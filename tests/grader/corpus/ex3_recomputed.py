# Exercise 3: a layer-style backward that recomputes the batch statistics from its input
# (as a cache-less batchnorm layer would), with np.var's ddof=1 for Bessel's correction.
import numpy as np


def batchnorm_backward(x, gamma, dout, eps=EPS):
    m = x.shape[0]
    mu = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, ddof=1, keepdims=True)
    std_inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * std_inv
    dgamma = np.sum(dout * xhat, axis=0, keepdims=True)
    dbeta = np.sum(dout, axis=0, keepdims=True)
    dx = gamma * std_inv / m * (m * dout - dbeta - m / (m - 1) * xhat * dgamma)
    return dx, dgamma, dbeta


dhprebn, dbngain, dbnbias = batchnorm_backward(hprebn, bngain, dhpreact)
