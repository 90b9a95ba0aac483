# Exercise 2: a learner's own helper gradients on the way down (dlogprobs, dprobs are theirs, not handed
# in), np.divide and np.arange, the sum written with np.sum(..., axis=1).
import numpy as np

dlogprobs = np.zeros_like(logprobs)
dlogprobs[np.arange(n), Yb] = -1 / n
smax = np.divide(np.exp(logits), np.sum(np.exp(logits), axis=1, keepdims=True))
dlogits = dlogprobs + smax / n
