# Exercise 2: probabilities minus a one-hot matrix, with the learner's own `counts` (no max
# subtracted: a different array from the forward's counts, the same probabilities).
import numpy as np

counts = np.exp(logits)
p = counts / counts.sum(axis=1, keepdims=True)
y = np.eye(vocab_size)[Yb]
dlogits = (p - y) / batch_size
