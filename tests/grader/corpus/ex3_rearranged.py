# Exercise 3: the same line rearranged (1/n and 1/(n-1) inside), the parameters' gradients
# without keepdims (shape (64,): right, and they broadcast where they are used).
import numpy as np

dbngain = (dhpreact * bnraw).sum(0)
dbnbias = dhpreact.sum(0)
dhprebn = bngain * bnvar_inv * (dhpreact - bnraw / (n - 1) * (dhpreact * bnraw).sum(0) - dhpreact.sum(0) / n)
