# Exercise 4: a correct backward of the training step, for the tests (the one-step forms of
# exercises 2 and 3, softmax written out, the embedding by the lecture's double loop).
counts = np.exp(logits - logits.max(1, keepdims=True))
dlogits = counts / counts.sum(1, keepdims=True)
dlogits[np.arange(n), Yb] -= 1
dlogits /= n
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h ** 2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdims=True)
dbnbias = dhpreact.sum(0, keepdims=True)
dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dbnbias - n / (n - 1) * bnraw * dbngain)
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
demb = dembcat.reshape(emb.shape)
dC = np.zeros_like(C)
for k in range(Xb.shape[0]):
    for j in range(Xb.shape[1]):
        dC[Xb[k, j]] += demb[k, j]
