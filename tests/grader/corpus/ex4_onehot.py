# Exercise 4: probs - onehot for the cross-entropy, batchnorm through its own parameters'
# gradients, and dC as a one-hot matrix times the embedding's gradient.
import numpy as np

onehot = np.eye(vocab_size)[Yb]
dlogits = (probs - onehot) / n
dh, dW2, db2 = dlogits @ W2.T, h.T @ dlogits, dlogits.sum(axis=0)
dhpreact = dh * (1 - h ** 2)
dbngain = np.sum(dhpreact * bnraw, axis=0, keepdims=True)
dbnbias = np.sum(dhpreact, axis=0, keepdims=True)
dhprebn = (bngain * bnvar_inv / n) * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(axis=0)
demb = dembcat.reshape(n, block_size, n_embd)
X1h = np.eye(vocab_size)[Xb.reshape(-1)]
dC = X1h.T @ demb.reshape(-1, n_embd)
