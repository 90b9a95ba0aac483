"""Recurrent nets over whole names, shared by scripts/rnn_bptt.py and scripts/lstm_bptt.py: names
as padded sequences, one gradient check, the learning-rate decay, the loss over a split and sampling one
character at a time; and the vanilla RNN, which lstm_bptt.py trains as its baseline. The RNN is shown
where a reader looks for it, in scripts/rnn_bptt.py; tests/test_rnn.py keeps this copy equal to it.

Shapes: B names in a batch, T steps (the longest name + 1), E n_embd, H n_hidden, V vocabulary.

    x_t = C[ix_t]                                 (B, E)   the character at step t, embedded
    h_t = tanh(x_t @ Wxh + h_{t-1} @ Whh + bh)    (B, H)   h_{-1} = 0
    logits_t = h_t @ Why + by                     (B, V)
    loss = mean over every predicted character (each name from '.' to its final '.') of -log p
"""
import numpy as np

from lib.gradcheck import check_params

n_embd = 16    # E, the character embedding of both recurrent scripts (the one place it is set)
n_hidden = 128


def batch_of(words, stoi):
    """Names padded to the longest: X (B, T) inputs from '.', Y (B, T) targets to the final '.',
    mask (B, T) 1 where a character is predicted, 0 on padding."""
    T = max(len(w) for w in words) + 1
    X, Y, mask = np.zeros((len(words), T), np.int64), np.zeros((len(words), T), np.int64), np.zeros((len(words), T))
    for b, w in enumerate(words):
        ix = [stoi[c] for c in w]
        X[b, 1:len(ix) + 1] = ix
        Y[b, :len(ix) + 1] = ix + [0]
        mask[b, :len(ix) + 1] = 1.0
    return X, Y, mask


def init(vocab_size, rng, n_embd=n_embd, n_hidden=n_hidden, radius=None):
    """Small random weights; Whh an orthogonal matrix times `radius` when given (every singular value = radius)."""
    p = {"C": rng.standard_normal((vocab_size, n_embd)),
         "Wxh": rng.standard_normal((n_embd, n_hidden)) / n_embd ** 0.5,
         "Whh": np.linalg.qr(rng.standard_normal((n_hidden, n_hidden)))[0] * (radius or 0.9),
         "bh": rng.standard_normal(n_hidden) * 0.01,
         "Why": rng.standard_normal((n_hidden, vocab_size)) * 0.01,
         "by": rng.standard_normal(vocab_size) * 0.01}
    return p


def forward(p, X, Y, mask):
    """The loss (mean over predicted characters) and what the backward needs."""
    B, T = X.shape
    hs = [np.zeros((B, p["Whh"].shape[0]))]                         # hs[t + 1] is h_t; hs[0] the start
    probs = []
    loss = 0.0
    for t in range(T):
        x = p["C"][X[:, t]]                                          # (B, E)
        hs.append(np.tanh(x @ p["Wxh"] + hs[-1] @ p["Whh"] + p["bh"]))  # (B, H)
        logits = hs[-1] @ p["Why"] + p["by"]                         # (B, V)
        logits = logits - logits.max(1, keepdims=True)
        e = np.exp(logits)
        probs.append(e / e.sum(1, keepdims=True))                    # (B, V)
        loss -= (np.log(probs[-1][np.arange(B), Y[:, t]]) * mask[:, t]).sum()
    return loss / mask.sum(), (hs, probs)


def backward(p, cache, X, Y, mask, keep=None):
    """Backpropagation through time, in exact reverse order; grads keyed like p.
    keep: also return dloss/dh_t for every t (the leak's measurement)."""
    hs, probs = cache
    B, T = X.shape
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dh_next = np.zeros_like(hs[0])                                   # (B, H) from step t + 1
    dhs = [None] * T
    for t in reversed(range(T)):
        dlogits = probs[t].copy()                                    # softmax - onehot, / (number predicted)
        dlogits[np.arange(B), Y[:, t]] -= 1
        dlogits *= (mask[:, t] / mask.sum())[:, None]                # padding sends nothing back
        g["Why"] += hs[t + 1].T @ dlogits                            # Why is used at every step: +=
        g["by"] += dlogits.sum(0)
        dh = dlogits @ p["Why"].T + dh_next                          # h_t feeds the logits and h_{t+1}
        dhs[t] = dh
        dpre = (1.0 - hs[t + 1] ** 2) * dh                           # tanh
        g["Wxh"] += p["C"][X[:, t]].T @ dpre
        g["Whh"] += hs[t].T @ dpre
        g["bh"] += dpre.sum(0)
        np.add.at(g["C"], X[:, t], dpre @ p["Wxh"].T)                # repeated characters add up
        dh_next = dpre @ p["Whh"].T                                  # back one step in time
    return (g, dhs) if keep else g


def gradient_check(init, forward, backward, rng):
    """A recurrent model's every parameter against central differences, on a small instance with padding
    (four names of 1 to 5 characters over a vocabulary of 4, padded to 6 steps): the check's rows."""
    stoi = {c: i for i, c in enumerate(".abc")}
    X, Y, mask = batch_of(["ab", "abcab", "c", "bca"], stoi)
    p = init(len(stoi), rng, n_embd=3, n_hidden=5)
    p["Why"] *= 30  # a larger output layer: every gradient well above round-off
    g = backward(p, forward(p, X, Y, mask)[1], X, Y, mask)
    return check_params(lambda q: forward(q, X, Y, mask)[0], p, g)


def learning_rate_at(step, lr, steps, decay_at, max_steps):
    """The learning rate at a step: lr, then a tenth of it from decay_at on. A shorter run (steps below
    max_steps) decays at the same fraction of its length (15000 of 20000: three quarters of the way)."""
    return lr if step < decay_at * steps // max_steps else lr / 10


def split_loss(p, words, stoi, forward=None, chunk=1024):
    """Mean loss per predicted character over a whole split (forward: the model's, the RNN's by default)."""
    forward = forward or globals()["forward"]
    total, count = 0.0, 0.0
    for i in range(0, len(words), chunk):
        X, Y, mask = batch_of(words[i:i + chunk], stoi)
        loss, _ = forward(p, X, Y, mask)
        total += loss * mask.sum()
        count += mask.sum()
    return total / count


def rnn_step(p, state, ix):
    """One step of the RNN for sampling: (the new state, the logits of the next character)."""
    h = np.zeros(p["Whh"].shape[0]) if state is None else state
    h = np.tanh(p["C"][ix] @ p["Wxh"] + h @ p["Whh"] + p["bh"])
    return h, h @ p["Why"] + p["by"]


def sample(p, itos, count, rng, step=rnn_step, max_len=30):
    """Names drawn one character at a time from '.', until the model draws '.' again.
    step(p, state, ix) -> (state, logits): the model's one step (state None at the start)."""
    names = []
    for _ in range(count):
        state, ix, out = None, 0, []
        while len(out) < max_len:
            state, logits = step(p, state, ix)
            e = np.exp(logits - logits.max())
            ix = int(rng.choice(len(e), p=e / e.sum()))
            if ix == 0:
                break
            out.append(itos[ix])
        names.append("".join(out))
    return names


