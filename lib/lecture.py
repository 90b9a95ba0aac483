"""The lecture's exercise 1, as its two cells: the forward pass in 20 small named steps, and the
hand backward through every one of them, in exact reverse order.

This file is the one source of those lines: scripts/ex1_backprop_by_hand.py runs and checks them,
exercises 2 and 3 compare their fused layers with them, and scripts/practice.py shows the forward
in every practice file, grades a learner's backward against this one and quotes its lines as answers.

    values = forward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb)   every tensor by name, values["loss"] ...
    grads = backward(**values)                                    every gradient by name, grads["dlogprobs"] ...

Shapes: n batch size, T block_size, E n_embd, H n_hidden, V vocabulary size.
"""
import numpy as np

EPS = 1e-5  # added to the batch variance, as in the lecture

# The lecture's numbers, in one place: scripts print their figures beside these and
# scripts/results.py judges against them; no other file types them (tests/test_one_source.py).
# The notebook's evaluation cell carries two pairs of final losses: its output after 200000 steps
# (train, val), which this project compares with, and a comment in the same cell from an earlier
# run (train_comment, val_comment).
REFERENCE = dict(
    split=(182625, 22655, 22866),  # examples train / val / test at block_size 3 (the dataset cell's output)
    parameters_ex1=4137,           # exercise 1's net: n_embd 10, n_hidden 64 (the parameter-count cell)
    parameters_ex4=12297,          # exercise 4's: n_hidden 200 (the same cell in the training section)
    train=2.0705,                  # exercise 4, train loss after 200000 steps (the evaluation cell's output)
    val=2.1099,                    # exercise 4, val loss (the same output)
    train_comment=2.0719,          # the evaluation cell's comment: an earlier run, printed nowhere
    val_comment=2.1162,
)

STEPS = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw", "hpreact",
         "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum", "counts_sum_inv", "probs",
         "logprobs", "loss")                                     # the forward's intermediates, in order
PARAMS = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")       # the order of the forward pass
GRADIENTS = tuple("d" + s for s in reversed(STEPS[:-1])) + ("dC", "dW1", "db1", "dbngain", "dbnbias", "dW2", "db2")


def forward(C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb):
    """The forward pass, chunked into steps small enough to backpropagate one at a time.
    Returns every name it made or used (parameters, batch, n and the 20 steps), keyed by name."""
    n = len(Xb)                                         # batch size
    emb = C[Xb]                                         # (n, T, E) embed the characters into vectors
    embcat = emb.reshape(n, -1)                         # (n, T*E) concatenate the vectors
    # linear layer 1
    hprebn = embcat @ W1 + b1                           # (n, H) hidden layer pre-activation
    # batchnorm layer
    bnmeani = 1 / n * hprebn.sum(0, keepdims=True)      # (1, H)
    bndiff = hprebn - bnmeani                           # (n, H)
    bndiff2 = bndiff ** 2                               # (n, H)
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdims=True)  # (1, H) Bessel's correction: divide by n-1
    bnvar_inv = (bnvar + EPS) ** -0.5                   # (1, H)
    bnraw = bndiff * bnvar_inv                          # (n, H)
    hpreact = bngain * bnraw + bnbias                   # (n, H)
    # non-linearity
    h = np.tanh(hpreact)                                # (n, H) hidden layer
    # linear layer 2
    logits = h @ W2 + b2                                # (n, V) output layer
    # cross-entropy loss, the long way round
    logit_maxes = logits.max(1, keepdims=True)          # (n, 1)
    norm_logits = logits - logit_maxes                  # (n, V) subtract the max for numerical stability
    counts = np.exp(norm_logits)                        # (n, V)
    counts_sum = counts.sum(1, keepdims=True)           # (n, 1)
    counts_sum_inv = counts_sum ** -1                   # (n, 1)
    probs = counts * counts_sum_inv                     # (n, V)
    logprobs = np.log(probs)                            # (n, V)
    loss = -logprobs[np.arange(n), Yb].mean()           # scalar
    return dict(locals())


def backward(Xb, Yb, n, C, W1, W2, bngain, emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv,
             bnraw, h, logits, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, **_):
    """Every gradient by hand, in exact reverse order of forward(); returns {'d' + name: gradient}.
    A sum in the forward pass is a broadcast in the backward pass and vice versa; '+=' marks
    the second branch of a tensor used twice."""
    # cross-entropy loss
    dlogprobs = np.zeros_like(logprobs)
    dlogprobs[np.arange(n), Yb] = -1.0 / n                  # only the targets' log-probs enter the mean
    dprobs = (1.0 / probs) * dlogprobs                      # d log(x) = 1/x
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdims=True)  # counts_sum_inv was broadcast over V
    dcounts = counts_sum_inv * dprobs                       # counts, branch 1: probs = counts * counts_sum_inv
    dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv       # d x^-1 = -x^-2
    dcounts += np.ones_like(counts) * dcounts_sum           # counts, branch 2: counts_sum = counts.sum(1)
    dnorm_logits = counts * dcounts                         # d exp(x) = exp(x)
    dlogits = dnorm_logits.copy()                           # logits, branch 1: norm_logits = logits - maxes
    dlogit_maxes = -dnorm_logits.sum(1, keepdims=True)      # logit_maxes was broadcast over V
    dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes  # logits, branch 2: max routes to the argmax
    # linear layer 2
    dh = dlogits @ W2.T                                     # (n, H)
    dW2 = h.T @ dlogits                                     # (H, V)
    db2 = dlogits.sum(0)                                    # (V,) b2 was broadcast over the batch
    # tanh
    dhpreact = (1.0 - h ** 2) * dh                          # d tanh(x) = 1 - tanh(x)^2
    # batchnorm layer
    dbngain = (bnraw * dhpreact).sum(0, keepdims=True)      # bngain was broadcast over the batch
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdims=True)
    dbndiff = bnvar_inv * dbnraw                            # bndiff, branch 1: bnraw = bndiff * bnvar_inv
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdims=True)
    dbnvar = -0.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv
    dbndiff2 = 1 / (n - 1) * np.ones_like(bndiff2) * dbnvar  # Bessel's n-1 comes back here
    dbndiff += 2 * bndiff * dbndiff2                        # bndiff, branch 2: bndiff2 = bndiff ** 2
    dhprebn = dbndiff.copy()                                # hprebn, branch 1: bndiff = hprebn - bnmeani
    dbnmeani = -dbndiff.sum(0, keepdims=True)
    dhprebn += 1 / n * np.ones_like(hprebn) * dbnmeani      # hprebn, branch 2: bnmeani = hprebn.mean(0)
    # linear layer 1
    dembcat = dhprebn @ W1.T                                # (n, T*E)
    dW1 = embcat.T @ dhprebn                                # (T*E, H)
    db1 = dhprebn.sum(0)                                    # (H,)
    # embedding
    demb = dembcat.reshape(emb.shape)                       # (n, T, E)
    dC = np.zeros_like(C)
    for k in range(Xb.shape[0]):                            # every use of a row of C
        for j in range(Xb.shape[1]):                        # adds its gradient to that row
            dC[Xb[k, j]] += demb[k, j]
    return {name: value for name, value in locals().items() if name in GRADIENTS}

