# Exercise 1: a learner who writes small backward functions and unpacks their results, checks
# every step with the lecture's cmp() and prints a shape, routes the max with an index helper
# that squeezes, and gets dC from a one-hot matrix with einsum.
import numpy as np


def linear_backward(dout, x, W):
    """out = x @ W + b: the gradients of x, W and b."""
    return dout @ W.T, x.T @ dout, dout.sum(0)


def broadcast_sum(grad, shape):
    """The gradient of a tensor of `shape` that was broadcast up to grad's shape."""
    axes = tuple(i for i, s in enumerate(shape) if s == 1)
    return grad.sum(axis=axes, keepdims=True)


dlogprobs = np.zeros(logprobs.shape)
dlogprobs[np.arange(n), Yb] = -1 / n
cmp("logprobs", dlogprobs, logprobs)
dprobs = dlogprobs / probs
dcounts_sum_inv = broadcast_sum(counts * dprobs, counts_sum_inv.shape)
dcounts_sum = -dcounts_sum_inv / counts_sum ** 2
dcounts = counts_sum_inv * dprobs + dcounts_sum
dnorm_logits = np.exp(norm_logits) * dcounts
dlogit_maxes = broadcast_sum(-dnorm_logits, logit_maxes.shape)
max_idx = np.argmax(logits, axis=1)
dlogit_maxes_grad = np.zeros_like(logits)
dlogit_maxes_grad[np.arange(n), max_idx] = dlogit_maxes.squeeze()
dlogits = dnorm_logits + dlogit_maxes_grad
print("dlogits", dlogits.shape)
dh, dW2, db2 = linear_backward(dlogits, h, W2)
dhpreact = (1 - np.tanh(hpreact) ** 2) * dh
dbngain = broadcast_sum(bnraw * dhpreact, bngain.shape)
dbnbias = broadcast_sum(dhpreact, bnbias.shape)
dbnraw = bngain * dhpreact
dbnvar_inv = broadcast_sum(bndiff * dbnraw, bnvar_inv.shape)
dbnvar = -0.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv
dbndiff2 = np.full(bndiff2.shape, 1 / (n - 1)) * dbnvar
dbndiff = bnvar_inv * dbnraw + 2 * bndiff * dbndiff2
dbnmeani = broadcast_sum(-dbndiff, bnmeani.shape)
dhprebn = dbndiff + dbnmeani / n
dembcat, dW1, db1 = linear_backward(dhprebn, embcat, W1)
cmp("hprebn", dhprebn, hprebn)
demb = dembcat.reshape(emb.shape)
onehot_x = np.eye(vocab_size)[Xb]
dC = np.einsum("nte,ntv->ve", demb, onehot_x)
