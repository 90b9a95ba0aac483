# Exercise 1: numpy's in-place functions where learners use torch's scatter_ and index_add_,
# branches in the other order, a mask from logits == logit_maxes, broadcast_to for expand_as,
# the notebook's batch_size, and matmuls written into out=.
import numpy as np

dlogprobs = np.zeros_like(logprobs)
np.put_along_axis(dlogprobs, Yb[:, None], -1.0 / batch_size, axis=1)
dprobs = probs ** -1 * dlogprobs
dcounts_sum_inv = (dprobs * counts).sum(axis=1, keepdims=True)
dcounts_sum = -(counts_sum ** -2) * dcounts_sum_inv
dcounts = np.broadcast_to(dcounts_sum, counts.shape).copy()
dcounts += counts_sum_inv * dprobs
dnorm_logits = dcounts * counts
dlogits = np.empty_like(logits)
np.copyto(dlogits, dnorm_logits)
dlogit_maxes = -dnorm_logits.sum(axis=1, keepdims=True)
dlogits += (logits == logit_maxes) * dlogit_maxes
dh = np.empty((batch_size, W2.shape[0]))
np.matmul(dlogits, W2.T, out=dh)
dW2 = np.zeros_like(W2)
np.dot(h.T, dlogits, out=dW2)
db2 = dlogits.sum(axis=0)
dhpreact = dh * (1 - h * h)
dbngain = np.sum(dhpreact * bnraw, axis=0, keepdims=True)
dbnbias = np.sum(dhpreact, axis=0, keepdims=True)
dbnraw = dhpreact * bngain
dbndiff = dbnraw * bnvar_inv
dbnvar_inv = np.sum(dbnraw * bndiff, axis=0, keepdims=True)
dbnvar = -0.5 * dbnvar_inv / (bnvar + EPS) ** 1.5
dbndiff2 = np.broadcast_to(dbnvar / (batch_size - 1), bndiff2.shape).copy()
dbndiff += 2 * bndiff * dbndiff2
dbnmeani = -dbndiff.sum(axis=0, keepdims=True)
dhprebn = (1.0 / n) * np.ones_like(hprebn) * dbnmeani + dbndiff.copy()
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(axis=0)
demb = dembcat.reshape(batch_size, block_size, n_embd)
dC = np.zeros_like(C)
np.add.at(dC, Xb.ravel(), demb.reshape(-1, n_embd))
