# Exercise 1: a learner who spells the lecture's reasoning out with loops and literal numbers:
# the loss picks one element per row, the literal 1e-5 for EPS, the batch mean's gradient as
# a row (shape (64,)), and dC by the lecture's double loop over batch_size and block_size.
import numpy as np

dlogprobs = np.zeros_like(logprobs)
for i in range(batch_size):
    dlogprobs[i, Yb[i]] = -1.0 / batch_size
dprobs = dlogprobs * (1.0 / probs)
dcounts_sum_inv = (dprobs * counts).sum(1, keepdims=True)
dcounts = dprobs * counts_sum_inv
dcounts_sum = dcounts_sum_inv * (-counts_sum ** -2)
dcounts = dcounts + np.ones_like(counts) * dcounts_sum
dnorm_logits = dcounts * counts
dlogits = dnorm_logits.copy()
dlogit_maxes = (-dnorm_logits).sum(1, keepdims=True)
for i in range(batch_size):
    dlogits[i, np.argmax(logits[i])] += dlogit_maxes[i, 0]
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = dh * (1.0 - h ** 2)
dbngain = (dhpreact * bnraw).sum(0, keepdims=True)
dbnbias = dhpreact.sum(0, keepdims=True)
dbnraw = dhpreact * bngain
dbndiff = dbnraw * bnvar_inv
dbnvar_inv = (dbnraw * bndiff).sum(0, keepdims=True)
dbnvar = dbnvar_inv * (-0.5) * (bnvar + 1e-5) ** -1.5
dbndiff2 = np.ones_like(bndiff2) * (dbnvar / (batch_size - 1))
dbndiff += dbndiff2 * 2.0 * bndiff
dbnmeani = -dbndiff.sum(0)
dhprebn = dbndiff + np.ones_like(hprebn) * (dbnmeani / batch_size)
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
demb = dembcat.reshape(emb.shape)
dC = np.zeros_like(C)
for i in range(batch_size):
    for j in range(block_size):
        dC[Xb[i, j]] += demb[i, j]
