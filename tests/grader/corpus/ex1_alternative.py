# Exercise 1: a correct solution written differently from lib/lecture.py's (1/x forms,
# explicit broadcasting with np.ones, np.add.at, a helper variable), for the tests.
import numpy as np

dlogprobs = np.zeros(logprobs.shape)
dlogprobs[range(n), Yb] = -1 / n
dprobs = dlogprobs / probs
dcounts_sum_inv = np.sum(counts * dprobs, axis=1, keepdims=True)
dcounts_sum = -1 / counts_sum ** 2 * dcounts_sum_inv
dcounts = dprobs * counts_sum_inv
dcounts = dcounts + np.ones((n, counts.shape[1])) * dcounts_sum
dnorm_logits = dcounts * np.exp(norm_logits)
dlogit_maxes = -np.sum(dnorm_logits, 1, keepdims=True)
onehot = np.zeros_like(logits)
onehot[np.arange(n), np.argmax(logits, axis=1)] = 1
dlogits = dnorm_logits + onehot * dlogit_maxes
dh = np.dot(dlogits, W2.T)
dhpreact = dh * (1 - np.tanh(hpreact) ** 2)
dbnraw = dhpreact * bngain
dbnvar_inv = np.sum(dbnraw * bndiff, 0, keepdims=True)
dbnvar = dbnvar_inv * (-0.5) / (bnvar + 1e-5) ** 1.5
dbndiff2 = np.ones(bndiff2.shape) * dbnvar / (n - 1)
dbndiff = dbnraw * bnvar_inv + dbndiff2 * 2 * bndiff
dbnmeani = -np.sum(dbndiff, 0, keepdims=True)
dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n
dembcat = dhprebn @ W1.T
demb = dembcat.reshape(n, -1, C.shape[1])
dC = np.zeros_like(C)
np.add.at(dC, Xb, demb)
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(axis=0)
dbngain = np.sum(bnraw * dhpreact, 0, keepdims=True)
dbnbias = np.sum(dhpreact, 0, keepdims=True)
dW2 = h.T @ dlogits
db2 = np.sum(dlogits, 0)
