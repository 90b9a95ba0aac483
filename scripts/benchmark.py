"""How fast is the hand-backward training step, and how far from the floor?

Times one training step of scripts/train.py (fetch a minibatch, forward, hand backward,
SGD update) in microseconds: the median of several repeats after a warm-up. The step is
lib/model.py's mlp_forward / mlp_backward and the per-parameter update, the same arithmetic
as train.py's loop (tests/test_model.py pins them together bit for bit).

1. The lecture's config (batch 32, n_hidden 200), float32 and float64, next to the floor:
   the step's matmul FLOPs (6 n H (T E + V): 2 forward, 4 backward) divided by the
   matrix-multiply throughput measured here on a large float32/float64 product.
2. What each choice bought: a straightforward numpy port of the lecture's loop, then each
   change switched on in turn, up to the speed idioms train.py leaves out for the reader's
   sake (one flat parameter buffer updated in one operation).
3. A sweep over n_hidden (64 to 1024) and batch size (32 to 1024).
4. BLAS threads: the step with one thread (every script's default) and with two, on an idle
   machine and beside one busy process.
5. Side by side on one core, in the same run, at the lecture's size and across the sweep: train.py's step, the
   fastest numpy step (fastest() below: 41 numpy calls to train.py's 75, counted by lib.bench.numpy_calls), and,
   when installed (never a requirement; absent, their rows say "not installed"), JAX (jax.jit of value_and_grad
   of the lecture's forward and the update, one XLA thread: XLA_FLAGS) and PyTorch eager (autograd, and its hand
   backward in torch; one thread: torch.set_num_threads(1)), or on --torch-device cuda the PyTorch rows on the GPU
   with the whole step captured once in a CUDA graph. The process is pinned to one core while they run, and each
   row is timed in turn, three rounds. Then where each wins, and what one call costs on its own (numpy's, a jitted
   JAX call's, a PyTorch op's): a compiled step pays for one call, the numpy step for each of its own.
6. The step against a GPU, drawn from one measured run on an NVIDIA H200 (plots/readme/gpu_h200.json):
   at the lecture's size the GPU's eager step is launch-bound at about 1.4 ms and loses to one CPU
   core (186 us); captured as one CUDA graph it takes 134 us; eager, it wins from about 90 MFLOP a
   step (batch 256 x hidden 1024) on.

Sections 1 to 4 time the wall clock, as train.py times its loop. Section 5 times the CPU time of this process
(time.process_time; the wall clock with --torch-device cuda, whose GPU time is not the CPU's): pinned to one core,
that is its wall time less the waits for the core another process took, so that the rows stay comparable on a
machine others share.

    python scripts/benchmark.py [--quick] [--torch-device cpu|cuda] [--out plots/]

Writes <out>/benchmark.md (the tables), <out>/benchmark.json, <out>/benchmark_sweep.png and
<out>/benchmark_gpu.png.
"""
import itertools
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np
from scipy.linalg import blas

from lib.bench import counted, numpy_calls, side_by_side, time_us
from lib.cli import Parser, UsageError, positive, run, writable_dir, write_json, write_text
from lib.data import PLOTS, ROOT, load_splits, minibatches
from lib.lecture import EPS
from lib.model import init_params, mlp_backward, mlp_forward
from lib.plotting import plt, save

# the lecture's config
n_embd, block_size, vocab_size, lr = 10, 3, 27, 0.1


def ours(Xtr, Ytr, n_hidden, batch_size, dtype):
    """train.py's step: (a closure that runs one training step, the parameters it updates)."""
    params = init_params(vocab_size, n_embd, n_hidden, block_size, np.random.default_rng(0), dtype)
    batches = minibatches(Xtr, Ytr, 0, batch_size, seed=0)

    def step():
        Xb, Yb = next(batches)
        loss, cache = mlp_forward(params, Xb, Yb)
        grads = mlp_backward(params, cache, Yb)
        for k in params:
            params[k] -= lr * grads[k]
        return loss
    return step, params


def fastest(Xtr, Ytr, n_hidden, batch_size, dtype):
    """train.py's step in as few numpy calls as I could write it (39 and the minibatch's two, against train.py's 73
    and two): the same parameters, the same minibatches, the same update, to float precision
    (tests/test_benchmark.py). (a closure that runs one training step and returns its loss, the parameters as
    views.) What it does that train.py does not, each to save a call:
      - one flat buffer for the parameters and one for their gradients, each bias stored right after its weights:
        [W1; b1] is one (T*E+1, H) matrix, [W2; b2] one (H+1, V), [bngain; bnbias] one (2, H). A ones column
        after embcat (and after h) makes the matmul add the bias, and the backward's one matmul give [dW1; db1]
        (and [dW2; db2]); the update is one BLAS axpy over the whole buffer, in place.
      - every array preallocated and written with out=, every view made once;
      - batchnorm fused: embcat centred before W1 (a (n, T*E) subtraction, not (n, H); b1 drops out, as the
        math says), the variance and its eps in one product; dbngain and dbnbias as one product of a ones vector with
        [bnraw * dhpreact | dhpreact]; the three paths of dhprebn in four calls;
      - softmax fused: n * counts_sum as one product, dlogits = counts / (n counts_sum) - onehot(Yb) / n,
        and the loss as one dot product of [log(n counts_sum); norm_logits] with [1/n; -onehot(Yb) / n];
      - the one-hot of Xb taken in the forward (for dC = onehot.T @ demb)."""
    V, E, T, H, n = vocab_size, n_embd, block_size, n_hidden, batch_size
    init = init_params(V, E, H, T, np.random.default_rng(0), dtype)
    batches = minibatches(Xtr, Ytr, 0, batch_size, seed=0)
    # the parameters in one flat buffer, their gradients in another
    shapes = dict(C=(V, E), W1b1=(T * E + 1, H), W2b2=(H + 1, V), bn=(2, H))
    theta = np.empty(sum(a * b for a, b in shapes.values()), dtype)
    grad = np.empty_like(theta)
    P, G, at = {}, {}, 0
    for k, (a, b) in shapes.items():
        P[k], G[k] = theta[at:at + a * b].reshape(a, b), grad[at:at + a * b].reshape(a, b)
        at += a * b
    C, W1b1, W2b2, bn = P["C"], P["W1b1"], P["W2b2"], P["bn"]
    W1, W2, gain, bias = W1b1[:-1], W2b2[:-1], bn[0], bn[1]
    params = dict(C=C, W1=W1, b1=W1b1[-1], bngain=bn[0:1], bnbias=bn[1:2], W2=W2, b2=W2b2[-1])
    for k in params:
        params[k][...] = init[k]
    gC, gW1b1, gW2b2, gbn = G["C"], G["W1b1"], G["W2b2"], G["bn"]
    axpy = blas.get_blas_funcs("axpy", (theta,))
    # constants
    eye = np.eye(V, dtype=dtype)
    mean_w = np.full(n, 1.0 / n, dtype)                       # (n,) mean_w @ x is x's column means
    var_w = np.full(n + 1, 1.0 / (n - 1), dtype)              # (n+1,) var_w @ [bndiff**2; eps (n-1)] = bnvar + eps
    ones_n = np.ones(n, dtype)
    n_V = np.full(V, n, dtype)                                # (V,) counts @ n_V = n * counts_sum
    neg_eye_n = -eye / n
    bn_coef = np.array([[1.0 / (n - 1)], [1.0 / n]], dtype)   # (2, 1)
    log_n = float(np.log(n))
    # activations, written in place every step
    embcat1 = np.ones((n, T * E + 1), dtype)                  # (n, T*E+1) [embcat | 1]
    emb = embcat1[:, :-1].reshape(n, T, E)                    # (n, T, E) a view into it
    onehot = np.empty((n, T, V), dtype)                       # (n, T, V) onehot(Xb)
    emean = np.empty(T * E + 1, dtype)                        # (T*E+1,) embcat1's column means
    ecent = np.empty((n, T * E + 1), dtype)                   # (n, T*E+1) embcat1 less them
    bndiff = np.empty((n, H), dtype)
    sq = np.full((n + 1, H), EPS * (n - 1), dtype)            # (n+1, H) [bndiff**2; eps (n-1)]
    bnvar_inv = np.empty(H, dtype)
    bnraw = np.empty((n, H), dtype)
    scale = np.empty(H, dtype)                                # (H,) bngain * bnvar_inv
    h1 = np.ones((n, H + 1), dtype)                           # (n, H+1) [h | 1]
    h = h1[:, :-1]                                            # (n, H) hpreact, then h, in place
    logits = np.empty((n, V), dtype)
    lmax = np.empty((n, 1), dtype)
    lossv = np.empty(n + n * V, dtype)                        # [log(n counts_sum) (n); norm_logits (n*V)]
    lossw = np.empty(n + n * V, dtype)                        # [1/n (n); -onehot(Yb)/n (n*V)]
    lossw[:n] = 1.0 / n
    log_nsum, norm_logits, neg_y = lossv[:n], lossv[n:].reshape(n, V), lossw[n:].reshape(n, V)
    counts = np.empty((n, V), dtype)
    nsum = np.empty((n, 1), dtype)                            # (n, 1) n * counts_sum
    dlogits = np.empty((n, V), dtype)
    S = np.empty((n, 2 * H), dtype)                           # (n, 2H) [bnraw * dhpreact | dhpreact]
    c = np.empty((2, H), dtype)                               # (2, H) [dbngain / (n-1); dbnbias / n]
    dembcat = np.empty((n, T * E), dtype)
    # buffers used again once what they held is spent: fewer megabytes to stream through the caches at large sizes
    dh = dhprebn = bndiff                                     # bndiff, then dh, then dhprebn
    t = sq[:n]                                                # bndiff2, then a temporary of the backward
    # views made once: making one in the step is a numpy call too
    dhpreact, S_left, sq_top, nsum_col, c_gain, c_bias = S[:, H:], S[:, :H], sq[:n], nsum[:, 0], c[0], c[1]
    gbn_flat, onehot_T, dembcat_rows = gbn.reshape(-1), onehot.reshape(n * T, V).T, dembcat.reshape(n * T, E)
    h1_T, W2_T, W1_T, embcat1_T = h1.T, W2.T, W1.T, embcat1.T

    def step():
        Xb, Yb = next(batches)
        # forward
        np.take(C, Xb, axis=0, out=emb, mode="clip")          # (n, T, E) emb, inside embcat1
        np.take(eye, Xb, axis=0, out=onehot, mode="clip")     # (n, T, V) for dC
        np.matmul(mean_w, embcat1, out=emean)                 # (T*E+1,)
        np.subtract(embcat1, emean, out=ecent)                # (n, T*E+1) centred before W1: b1 drops out
        np.matmul(ecent, W1b1, out=bndiff)                    # (n, H) hprebn - bnmeani
        np.square(bndiff, out=sq_top)                         # (n, H) bndiff2
        np.matmul(var_w, sq, out=bnvar_inv)                   # (H,) bnvar + eps
        np.power(bnvar_inv, -0.5, out=bnvar_inv)              # (H,)
        np.multiply(bndiff, bnvar_inv, out=bnraw)             # (n, H)
        np.multiply(gain, bnvar_inv, out=scale)               # (H,)
        np.multiply(bnraw, gain, out=h)
        np.add(h, bias, out=h)                                # (n, H) hpreact
        np.tanh(h, out=h)                                     # (n, H) h
        np.matmul(h1, W2b2, out=logits)                       # (n, V)
        np.maximum.reduce(logits, axis=1, keepdims=True, out=lmax)  # (n, 1)
        np.subtract(logits, lmax, out=norm_logits)            # (n, V)
        np.exp(norm_logits, out=counts)                       # (n, V)
        np.matmul(counts, n_V, out=nsum_col)                  # (n,) n * counts_sum
        np.log(nsum_col, out=log_nsum)                        # (n,)
        np.divide(counts, nsum, out=dlogits)                  # (n, V) probs / n
        np.take(neg_eye_n, Yb, axis=0, out=neg_y, mode="clip")  # (n, V) -onehot(Yb) / n
        loss = np.dot(lossv, lossw) - log_n                   # mean(log counts_sum - norm_logits[Yb])
        # backward
        np.add(dlogits, neg_y, out=dlogits)                   # (n, V) (probs - onehot(Yb)) / n
        np.matmul(h1_T, dlogits, out=gW2b2)                   # (H+1, V) [dW2; db2]
        np.matmul(dlogits, W2_T, out=dh)                      # (n, H)
        np.square(h, out=t)
        np.subtract(1.0, t, out=t)
        np.multiply(t, dh, out=dhpreact)                      # (n, H) d tanh = 1 - tanh^2
        np.multiply(bnraw, dhpreact, out=S_left)              # (n, H)
        np.matmul(ones_n, S, out=gbn_flat)                    # (2H,) [dbngain; dbnbias]
        np.multiply(gbn, bn_coef, out=c)                      # (2, H)
        np.multiply(bnraw, c_gain, out=t)
        np.subtract(dhpreact, t, out=t)
        np.subtract(t, c_bias, out=t)
        np.multiply(t, scale, out=dhprebn)                    # (n, H) the lecture's one line, in four calls
        np.matmul(dhprebn, W1_T, out=dembcat)                 # (n, T*E)
        np.matmul(embcat1_T, dhprebn, out=gW1b1)              # (T*E+1, H) [dW1; db1]
        np.matmul(onehot_T, dembcat_rows, out=gC)             # (V, E) dC
        # update
        axpy(grad, theta, a=-lr)                              # theta -= lr * grad, in place
        return loss
    return step, params


def flat_params(params, dtype):
    """Parameters and gradients as views into two flat buffers: the update is then one operation."""
    size = sum(v.size for v in params.values())
    theta, grad = np.zeros(size, dtype), np.zeros(size, dtype)
    p, g, at = {}, {}, 0
    for k, v in params.items():
        p[k] = theta[at:at + v.size].reshape(v.shape)
        g[k] = grad[at:at + v.size].reshape(v.shape)
        p[k][...] = v
        at += v.size
    return theta, grad, p, g


def port(Xtr, Ytr, n_hidden, batch_size, dtype, upfront=False, onehot=False, flat=False):
    """A straightforward numpy port of the lecture's exercise-4 loop; each flag switches on one
    choice: minibatch indices drawn up front, embedding backward as a one-hot matmul instead of
    np.add.at (both as train.py does), one in-place update of a flat parameter buffer instead of
    seven (which train.py leaves out: the lecture's `for p in parameters` loop reads better)."""
    params = init_params(vocab_size, n_embd, n_hidden, block_size, np.random.default_rng(0), dtype)
    theta, grad, P, G = flat_params(params, dtype)
    rng = np.random.default_rng(0)
    eye = np.eye(vocab_size, dtype=dtype)  # made once: its rows are the one-hot vectors
    ixs = itertools.cycle(rng.integers(0, len(Xtr), (20000, batch_size))) if upfront else None
    n = batch_size

    def step():
        ix = next(ixs) if upfront else rng.integers(0, len(Xtr), n)
        Xb, Yb = Xtr[ix], Ytr[ix]
        # forward, as in the lecture's training loop
        emb = P["C"][Xb]
        embcat = emb.reshape(n, -1)
        hprebn = embcat @ P["W1"] + P["b1"]
        bnmean = hprebn.mean(0, keepdims=True)
        bnvar = hprebn.var(0, keepdims=True, ddof=1)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = P["bngain"] * bnraw + P["bnbias"]
        h = np.tanh(hpreact)
        logits = h @ P["W2"] + P["b2"]
        logits = logits - logits.max(1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(1, keepdims=True)
        # backward, the lecture's exercise 4
        dlogits = probs.copy()
        dlogits[np.arange(n), Yb] -= 1
        dlogits /= n
        grads = {"W2": h.T @ dlogits, "b2": dlogits.sum(0)}
        dh = dlogits @ P["W2"].T
        dhpreact = (1.0 - h ** 2) * dh
        grads["bngain"] = (bnraw * dhpreact).sum(0, keepdims=True)
        grads["bnbias"] = dhpreact.sum(0, keepdims=True)
        dhprebn = P["bngain"] * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))  # noqa: E501  (exercise 3's answer, on one line as the lecture writes it)
        demb = (dhprebn @ P["W1"].T).reshape(emb.shape)
        grads["W1"] = embcat.T @ dhprebn
        grads["b1"] = dhprebn.sum(0)
        if onehot:
            grads["C"] = eye[Xb.ravel()].T @ demb.reshape(-1, n_embd)
        else:
            grads["C"] = np.zeros_like(P["C"])
            np.add.at(grads["C"], Xb.ravel(), demb.reshape(-1, n_embd))
        # update
        if flat:
            for k, v in grads.items():
                G[k][...] = v
            theta.__isub__(lr * grad)
        else:
            for k, v in grads.items():
                P[k] += -lr * v
    return step, P


def matmul_gflops(dtype, size=1024, quick=False, clock=time.perf_counter):
    """Matrix-multiply throughput of this machine's BLAS, from a large product (briefly, quick)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    us = time_us(lambda: a @ a, clock=clock,
                 **(dict(repeat=3, min_seconds=0.03) if quick else dict(repeat=5, min_seconds=0.2)))
    return 2 * size ** 3 / us / 1e3


def count_calls(make, Xtr, Ytr, **flags):
    """Numpy calls one step of make(...) (ours, port or fastest) makes at the lecture's size, its second step
    counted (the first draws the minibatch block for 1000 steps)."""
    step, _ = make(counted(Xtr), counted(Ytr), 200, 32, np.float32, **flags)
    step()
    return numpy_calls(step)


def cpu_model():
    """The processor's name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def per_call_us(timing, jax_here, torch_here):
    """What one call costs on its own, on a one-element array: numpy's ufunc (with out=, as the fastest step
    calls them), numpy's matmul, one call of a jitted JAX function (dispatch and wait), one PyTorch op."""
    a, b = np.zeros(1, np.float32), np.zeros(1, np.float32)
    m, m2 = np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32)
    cost = {"numpy ufunc": time_us(lambda: np.add(a, a, out=b), **timing),
            "numpy matmul": time_us(lambda: np.matmul(m, m, out=m2), **timing)}
    if jax_here:
        import jax
        f, x = jax.jit(lambda x: x + 1), jax.numpy.ones(1)
        cost["JAX jitted call"] = time_us(lambda: f(x).block_until_ready(), **timing)
    if torch_here:
        import torch
        t, u = torch.zeros(1), torch.zeros(1)
        cost["PyTorch op"] = time_us(lambda: torch.add(t, t, out=u), **timing)
    return cost


def step_flops(n_hidden, batch_size):
    return 6 * batch_size * n_hidden * (block_size * n_embd + vocab_size)


def torch_steps(Xtr, Ytr, n_hidden, batch_size, device="cpu"):
    """The lecture's loop in PyTorch, if installed (else None), on a device ('cpu', one thread, or 'cuda'):
    {row: (step, sync)} for autograd, its hand backward in torch, and on a GPU the whole autograd step captured
    once in a CUDA graph and replayed. The same code for both devices; on a GPU every clock read waits for the GPU
    (its calls return before the work is done)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--torch-device cuda: PyTorch sees no CUDA GPU here; pass --torch-device cpu")
    if device == "cpu":
        torch.set_num_threads(1)  # one thread, as numpy's BLAS here (lib/__init__.py)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else None
    torch.manual_seed(0)
    fan_in = n_embd * block_size
    C = torch.randn((vocab_size, n_embd), device=dev)
    W1 = torch.randn((fan_in, n_hidden), device=dev) * (5 / 3) / fan_in ** 0.5
    b1 = torch.randn(n_hidden, device=dev) * 0.1
    W2 = torch.randn((n_hidden, vocab_size), device=dev) * 0.1
    b2 = torch.randn(vocab_size, device=dev) * 0.1
    bngain = torch.randn((1, n_hidden), device=dev) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden), device=dev) * 0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    Xt, Yt = torch.from_numpy(Xtr).to(dev), torch.from_numpy(Ytr).to(dev)
    n = batch_size

    def forward():
        ix = torch.randint(0, Xt.shape[0], (n,), device=dev)
        Xb, Yb = Xt[ix], Yt[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        return F.cross_entropy(logits, Yb), (Xb, Yb, emb, embcat, bnvar_inv, bnraw, h, logits)

    def autograd_step():
        for p in parameters:
            p.requires_grad = True
        loss, _ = forward()
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad

    def hand_step():
        with torch.no_grad():
            loss, (Xb, Yb, emb, embcat, bnvar_inv, bnraw, h, logits) = forward()
            dlogits = F.softmax(logits, 1)
            dlogits[range(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T
            dW2 = h.T @ dlogits
            db2 = dlogits.sum(0)
            dhpreact = (1.0 - h ** 2) * dh
            dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
            dbnbias = dhpreact.sum(0, keepdim=True)
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))  # noqa: E501  (exercise 3's answer, on one line as the lecture writes it)
            dembcat = dhprebn @ W1.T
            dW1 = embcat.T @ dhprebn
            db1 = dhprebn.sum(0)
            demb = dembcat.view(emb.shape)
            dC = torch.zeros_like(C)
            dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))
            for p, grad in zip(parameters, [dC, dW1, db1, dW2, db2, dbngain, dbnbias]):
                p.data += -lr * grad

    def graphed_step():
        """The autograd step captured once (warmed up on a side stream first, as CUDA graphs ask), then replayed:
        one launch for the whole step."""
        for p in parameters:
            p.requires_grad = True
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                autograd_step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        for p in parameters:
            p.grad = None  # the captured backward allocates them in the graph's own memory
        with torch.cuda.graph(graph):
            loss, _ = forward()
            loss.backward()
            for p in parameters:
                p.data += -lr * p.grad
        return graph.replay

    def hand_step_alone():  # parameters without requires_grad: no autograd bookkeeping for the hand backward
        if C.requires_grad:
            for p in parameters:
                p.requires_grad = False
        hand_step()

    steps = {"PyTorch eager, loss.backward()": (autograd_step, sync),
             "PyTorch eager, the hand backward in torch": (hand_step_alone, sync)}
    if dev.type == "cuda":
        steps["PyTorch, the whole autograd step as one CUDA graph"] = (graphed_step(), sync)
    return steps


def torch_about(device):
    import torch
    return dict(version=torch.__version__, device=device, threads=torch.get_num_threads())


def jax_step(Xtr, Ytr, n_hidden, batch_size):
    """The lecture's forward in JAX, if installed (else None): jax.jit of value_and_grad of the forward and the
    SGD update, the parameters donated (updated in place), the same minibatches as ours. A step waits for its
    loss, as train.py's loop has each loss before the next step. One XLA thread: XLA_FLAGS below, set before JAX
    starts (unless you set XLA_FLAGS yourself), and the process pinned to one core while it is timed."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    n = batch_size
    batches = minibatches(Xtr.astype(np.int32), Ytr.astype(np.int32), 0, batch_size, seed=0)  # JAX's integers

    def forward(p, Xb, Yb):
        emb = p["C"][Xb]                                      # (n, T, E)
        embcat = emb.reshape(n, -1)                           # (n, T*E)
        hprebn = embcat @ p["W1"] + p["b1"]                   # (n, H)
        bnmeani = hprebn.mean(0, keepdims=True)               # (1, H)
        bnvar = hprebn.var(0, keepdims=True, ddof=1)          # (1, H)
        bnraw = (hprebn - bnmeani) * (bnvar + EPS) ** -0.5    # (n, H)
        h = jnp.tanh(p["bngain"] * bnraw + p["bnbias"])       # (n, H)
        logits = h @ p["W2"] + p["b2"]                        # (n, V)
        return -jax.nn.log_softmax(logits)[jnp.arange(n), Yb].mean()

    def train_step(p, Xb, Yb):
        loss, g = jax.value_and_grad(forward)(p, Xb, Yb)
        return {k: p[k] - lr * g[k] for k in p}, loss

    update = jax.jit(train_step, donate_argnums=0)
    state = dict(params=jax.device_put(init_params(vocab_size, n_embd, n_hidden, block_size,
                                                   np.random.default_rng(0), np.float32)))

    def step():
        Xb, Yb = next(batches)
        state["params"], loss = update(state["params"], Xb, Yb)
        return loss.block_until_ready()
    return step, state


GPU_RUN = os.path.join(ROOT, "plots", "readme", "gpu_h200.json")  # one measured run on an NVIDIA H200 (see 'what')
GPU_ROWS = {  # its columns, as the plot names them
    "numpy_cpu_1thread": ("this project's numpy, one CPU core", dict(color="tab:blue", marker="o", lw=2.5)),
    "torch_cpu_1thread_autograd": ("PyTorch CPU autograd, one thread", dict(color="tab:gray", marker="s")),
    "torch_cuda_autograd": ("PyTorch on the H200, loss.backward()", dict(color="tab:red", marker="^")),
    "torch_cuda_hand": ("the lecture's hand backward in torch, H200", dict(color="tab:orange", marker="v")),
    "cupy_project_code": ("this project's lib/model.py on CuPy, H200", dict(color="tab:purple", marker="D")),
    "torch_cuda_cuda_graph": ("the whole step as one CUDA graph, H200", dict(color="tab:green", marker="*", ms=10)),
}


def grader_checks(out, quick=False):
    """The practice grader as a learner meets it: `practice.py check` (the graph included) on every right solution of
    exercises 1 to 3 in tests/grader/corpus/, and on the same file with one mistake planted (its last gradient line
    times 1.7, which sends the repair search through its kinds). Each check's wall time and the CPU time of it and
    its child: {fixture: {'right': (wall, cpu), 'mistake': (wall, cpu)}}."""
    import glob
    import re
    import tempfile
    try:
        import resource
    except ImportError:  # Windows: the wall time alone
        resource = None
    fixtures = sorted(glob.glob(os.path.join(ROOT, "tests", "grader", "corpus", "ex[123]_*.py")))
    found = {}
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        for path in fixtures[:1] if quick else fixtures:  # quick: one, a smoke test of the section
            text = open(path).read()
            lines = list(re.finditer(r"^(d\w+) = (.+)$", text, re.M))
            if lines:  # the last gradient line, times 1.7
                last = lines[-1]
                planted = text[:last.start()] + f"{last.group(1)} = ({last.group(2)}) * 1.7" + text[last.end():]
            else:  # gradients made by a tuple or a function: the last one named, times 1.7, below
                g = re.findall(r"\b(d(?:hprebn|logits|bngain))\b", text)[-1]
                planted = text + f"\n{g} = {g} * 1.7\n"
            name = os.path.basename(path)
            found[name] = {}
            for label, source in (("right", text), ("mistake", planted)):
                file = os.path.join(tmp, name)
                write_text(file, source)
                before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
                started = time.perf_counter()
                subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "practice.py"), "check", file,
                                "--out", tmp], capture_output=True, text=True, timeout=300)
                wall = time.perf_counter() - started
                cpu = None
                if resource:
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                found[name][label] = (wall, cpu)
    return found


def plot_gpu(out):
    """The step against a GPU, from one measured run (GPU_RUN): microseconds per step against the step's size."""
    with open(GPU_RUN) as f:
        run = json.load(f)
    rows = run["rows"]
    fig, ax = plt.subplots(figsize=(11.5, 5))
    for key, (label, style) in GPU_ROWS.items():
        points = [(r["mflop_per_step"], r[key]) for r in rows if r.get(key)]
        ax.plot(*zip(*points), label=label, **style)
    lecture_size = next(r for r in rows if (r["batch"], r["n_hidden"]) == (32, 200))
    ax.axvline(lecture_size["mflop_per_step"], color="k", ls=":", lw=1)
    ax.text(lecture_size["mflop_per_step"] * 1.08, ax.get_ylim()[1] * 0.5, "the lecture's size\n(batch 32, hidden 200)",
            fontsize=8, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("matmul work per training step (MFLOP): batch 32 x hidden 200 up to batch 1024 x hidden 4096")
    ax.set_ylabel("microseconds per training step")
    ax.set_title(f"one run on an {run['gpu']} with a 16-core Xeon host (PyTorch {run['torch'].split('+')[0]}, "
                 f"CuPy {run['cupy']}), float32\nthe GPU's eager step is launch-bound at about 1.4 ms; one CPU core "
                 "wins until about 90 MFLOP a step", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: over no line or label
    ax.grid(alpha=0.3, which="both")
    return save(fig, out, "benchmark_gpu")


def main(argv=None):
    parser = Parser(description="Time the hand-backward training step against the floor and PyTorch.")
    parser.add_argument("--quick", action="store_true", help="a small sweep, for a smoke test")
    parser.add_argument("--out", default=PLOTS,
                        help="folder for benchmark.md, .json and the plot (default plots/ in the repository)")
    parser.add_argument("--torch-device", choices=("cpu", "cuda"), default="cpu",
                        help="where PyTorch's side-by-side runs, when PyTorch is installed (default cpu; cuda adds the "
                             "CUDA-graph row)")
    parser.add_argument("--probe", nargs=2, type=positive(int), metavar=("H", "B"),
                        help="only time one step at n_hidden H, batch B (float32) and print us/step: the threads "
                             "table runs this in child processes with their own thread counts")
    args = parser.parse_args(argv)
    if args.probe:
        _, _, ((Xtr, Ytr), _, _) = load_splits(block_size)
        quick = dict(repeat=3, min_seconds=0.01) if args.quick else {}
        print(f"{time_us(ours(Xtr, Ytr, *args.probe, np.float32)[0], **quick):.1f}")
        return 0
    out = writable_dir(args.out)
    if args.torch_device == "cuda":  # before any work: a GPU asked for and not there is one line
        try:
            import torch
        except ImportError:
            raise UsageError("--torch-device cuda needs PyTorch with CUDA (pip install torch); none is installed")
        if not torch.cuda.is_available():
            raise UsageError("--torch-device cuda: PyTorch sees no CUDA GPU here; pass --torch-device cpu")
    _, _, ((Xtr, Ytr), _, _) = load_splits(block_size)
    lines = []

    def emit(line=""):
        print(line)
        lines.append(line)

    blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    machine = (f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"numpy {np.__version__}, BLAS {blas_info.get('name')} {blas_info.get('version')}")
    emit(f"machine: {machine}")
    gflops = {dt: matmul_gflops(dt, quick=args.quick) for dt in ("float32", "float64")}
    emit(f"matmul throughput (1024x1024 product): float32 {gflops['float32']:.0f} GFLOP/s, "
         f"float64 {gflops['float64']:.0f} GFLOP/s")

    timing = dict(repeat=3, min_seconds=0.01) if args.quick else {}  # a smoke test times briefly

    # 1. the lecture's config
    emit("\n### the lecture's config: batch 32, n_hidden 200\n")
    emit("| dtype | us/step | 200k steps | floor (matmul FLOPs / throughput) | step / floor |")
    emit("|---|---:|---:|---:|---:|")
    lecture = {}
    for dt in ("float32", "float64"):
        us = time_us(ours(Xtr, Ytr, 200, 32, np.dtype(dt))[0], **timing)
        floor = step_flops(200, 32) / (gflops[dt] * 1e3)
        lecture[dt] = dict(us_per_step=us, floor_us=floor)
        emit(f"| {dt} | {us:.1f} | {us * 0.2:.1f} s | {floor:.2f} us | {us / floor:.0f}x |")

    # 2. what each choice bought
    emit("\n### what each choice bought (float32, lecture config)\n")
    emit("| step written as | us/step | numpy calls |")
    emit("|---|---:|---:|")
    variants = [("a straightforward numpy port of the lecture's loop", {}),
                ("+ minibatch indices drawn up front", dict(upfront=True)),
                ("+ embedding backward as a one-hot matmul, not np.add.at", dict(upfront=True, onehot=True)),
                ("+ one in-place update of a flat parameter buffer (an idiom train.py leaves out)",
                 dict(upfront=True, onehot=True, flat=True))]
    ablation, calls = {}, {}
    for label, flags in variants:
        ablation[label] = time_us(port(Xtr, Ytr, 200, 32, np.float32, **flags)[0], **timing)
        calls[label] = count_calls(port, Xtr, Ytr, **flags)
        emit(f"| {label} | {ablation[label]:.1f} | {calls[label]} |")
    label = "train.py: up front, one-hot, the fused layers of lib/layers.py, seven updates"
    ablation[label], calls[label] = lecture["float32"]["us_per_step"], count_calls(ours, Xtr, Ytr)
    emit(f"| {label} | {ablation[label]:.1f} | {calls[label]} |")
    label = fastest_label = ("the fastest numpy step (benchmark.py's fastest(): fused, flat, preallocated; train.py "
                             "stays readable)")
    ablation[label], calls[label] = time_us(fastest(Xtr, Ytr, 200, 32, np.float32)[0], **timing), \
        count_calls(fastest, Xtr, Ytr)
    emit(f"| {label} | {ablation[label]:.1f} | {calls[label]} |")
    emit("\nnumpy calls: how many times one step enters numpy, counted by lib.bench.numpy_calls (every array made a "
         "counting view, a profile hook on numpy's C functions): each ufunc, operator or reduction, each index read "
         "or write, each numpy function or array method (however many it makes inside) and the BLAS axpy; the "
         "minibatch's two index reads included.")

    # 3. the sweep
    hiddens = [64, 200, 1024] if args.quick else [64, 128, 200, 256, 512, 1024]
    batches_ = [32, 256] if args.quick else [32, 64, 128, 256, 512, 1024]
    sweep = {dt: {"n_hidden": {}, "batch": {}} for dt in ("float32", "float64")}
    emit("\n### sweep: us/step (step / floor)\n")
    emit("| n_hidden (batch 32) | " + " | ".join(str(h) for h in hiddens) + " |")
    emit("|---|" + "---:|" * len(hiddens))
    for dt in ("float32", "float64"):
        cells = []
        for H in hiddens:
            us = time_us(ours(Xtr, Ytr, H, 32, np.dtype(dt))[0], **(timing or dict(repeat=5)))
            sweep[dt]["n_hidden"][H] = us
            cells.append(f"{us:.0f} ({us / (step_flops(H, 32) / (gflops[dt] * 1e3)):.0f}x)")
        emit(f"| {dt} | " + " | ".join(cells) + " |")
    emit("\n| batch (n_hidden 200) | " + " | ".join(str(b) for b in batches_) + " |")
    emit("|---|" + "---:|" * len(batches_))
    for dt in ("float32", "float64"):
        cells = []
        for B in batches_:
            us = time_us(ours(Xtr, Ytr, 200, B, np.dtype(dt))[0], **(timing or dict(repeat=5)))
            sweep[dt]["batch"][B] = us
            cells.append(f"{us:.0f} ({us / (step_flops(200, B) / (gflops[dt] * 1e3)):.0f}x)")
        emit(f"| {dt} | " + " | ".join(cells) + " |")

    # 4. BLAS threads: one (the default, lib/__init__.py) or two, idle and beside one busy process
    configs = [(200, 32)] if args.quick else [(200, 32), (1024, 256)]
    emit("\n### BLAS threads: us/step, float32, idle and beside one busy process (2 cores here)\n")
    emit("| n_hidden, batch | 1 thread, idle | 2 threads, idle | 1 thread, busy | 2 threads, busy |")
    emit("|---|---:|---:|---:|---:|")
    threads = {}
    for H, B in configs:
        cells = {}
        for busy in (False, True):
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                for k in (1, 2):
                    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(k), OMP_NUM_THREADS=str(k), MKL_NUM_THREADS=str(k))
                    p = subprocess.run([sys.executable, __file__, "--probe", str(H), str(B)] + ["--quick"]
                                       * args.quick, env=env,
                                       capture_output=True, text=True)
                    cell = f"{k} thread{'s' if k > 1 else ''}, {'busy' if busy else 'idle'}"
                    cells[cell] = float(p.stdout.split()[-1])
            finally:
                if hog:
                    hog.kill()
                    hog.wait()
        threads[f"{H}, {B}"] = cells
        emit(f"| {H}, {B} | " + " | ".join(f"{cells[k]:.0f}" for k in ("1 thread, idle", "2 threads, idle",
                                                                         "1 thread, busy", "2 threads, busy")) + " |")

    # 5. side by side on one core: train.py's step, the fastest numpy step, JAX and PyTorch, when installed
    gpu = args.torch_device == "cuda"
    on = "the CPU" if not gpu else "the CPU, PyTorch on the GPU"
    if args.quick:
        configs = [(200, 32), (1024, 256)]
    else:
        configs = ([(H, 32) for H in hiddens] + [(200, B) for B in batches_ if B != 32] + [(1024, 256), (1024, 1024)])
    # CPU time of this process (time.process_time): on one core, its wall time less the waits for the core that
    # other processes took. On a shared machine the rows stay comparable; train.py's own timing is the wall's
    cpu = dict(timing, clock=time.process_time)
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # this process, and the threads JAX and PyTorch start, on one core
    try:
        jax_here = jax_step(Xtr, Ytr, 16, 8) is not None
        torch_here = torch_steps(Xtr, Ytr, 16, 8, args.torch_device) is not None
        versions = dict(numpy=np.__version__, jax=None, torch=None, xla_flags=os.environ.get("XLA_FLAGS"))
        if jax_here:
            import jax
            versions["jax"] = jax.__version__
        if torch_here:
            versions["torch"] = torch_about(args.torch_device)
        side = {}
        rows = ["train.py's step (numpy, lib/model.py)", "the fastest numpy step (fastest())", "JAX jit"]
        for H, B in configs:
            steps = {rows[0]: ours(Xtr, Ytr, H, B, np.float32)[0], rows[1]: fastest(Xtr, Ytr, H, B, np.float32)[0]}
            if jax_here:
                steps[rows[2]] = jax_step(Xtr, Ytr, H, B)[0]
            steps.update(torch_steps(Xtr, Ytr, H, B, args.torch_device) or {})
            side[f"{H}, {B}"] = side_by_side(steps, rounds=1 if args.quick else 3, **(timing if gpu else cpu))
        cost = per_call_us(cpu, jax_here, torch_here)
        gflops_cpu = matmul_gflops("float32", quick=args.quick, clock=time.process_time)  # for the plot's floor
    finally:
        if cores:
            os.sched_setaffinity(0, cores)
    rows = list(side["200, 32"])
    torch_row = None  # PyTorch at the lecture's size, as results.py reads it
    if torch_here:
        lec = side["200, 32"]
        torch_row = dict(versions["torch"], ours=lec[rows[0]], autograd=lec["PyTorch eager, loss.backward()"],
                         hand=lec["PyTorch eager, the hand backward in torch"],
                         cuda_graph=lec.get("PyTorch, the whole autograd step as one CUDA graph"))
    short = {rows[0]: "train.py", rows[1]: "fastest numpy", "JAX jit": "JAX jit",
             "PyTorch eager, loss.backward()": "PyTorch autograd",
             "PyTorch eager, the hand backward in torch": "PyTorch hand",
             "PyTorch, the whole autograd step as one CUDA graph": "PyTorch CUDA graph"}
    emit(f"\n### side by side on one core: us/step, float32 ({on}; CPU time of this process, pinned to one core, "
         f"every row timed in turn{'' if args.quick else ', the median of three rounds'})\n")
    emit(f"numpy {np.__version__} (one BLAS thread); " +
         (f"JAX {versions['jax']} (XLA_FLAGS={versions['xla_flags']})" if jax_here else
          "JAX: not installed (pip install jax jaxlib in the .venv to time it)") + "; " +
         (f"PyTorch {versions['torch']['version']} on {args.torch_device} ({versions['torch']['threads']} thread"
          f"{'s' if versions['torch']['threads'] > 1 else ''})" if torch_here else
          f"PyTorch: not installed, no side-by-side on {args.torch_device} (pip install torch in the .venv to time "
          "it; one measured run on an NVIDIA H200: plots/readme/gpu_h200.json, benchmark_gpu.png)") + "\n")
    lec = side["200, 32"]
    emit("| training step, the lecture's size (batch 32, n_hidden 200) | us/step | numpy calls | vs train.py's |")
    emit("|---|---:|---:|---:|")
    n_calls = {rows[0]: calls["train.py: up front, one-hot, the fused layers of lib/layers.py, seven updates"],
               rows[1]: calls[fastest_label]}
    for row in rows:
        emit(f"| {row} | {lec[row]:.1f} | {n_calls.get(row, '-')} | {lec[row] / lec[rows[0]]:.2f}x |")
    if not jax_here:
        emit("| JAX jit | not installed | - | - |")
    if not torch_here:
        emit("| PyTorch eager | not installed | - | - |")
    emit("\n| n_hidden, batch | " + " | ".join(short[r] for r in rows) + " | fastest here |")
    emit("|---|" + "---:|" * len(rows) + "---|")
    winners = {}
    for config, us in side.items():
        winners[config] = min(us, key=us.get)
        emit(f"| {config} | " + " | ".join(f"{us[r]:.0f}" for r in rows) + f" | {short[winners[config]]} |")
    wins = {}
    for config, w in winners.items():
        wins.setdefault(short[w], []).append(f"({config})")
    emit("\nwhere each wins (n_hidden, batch): " + "; ".join(f"{w}: {' '.join(c)}" for w, c in wins.items()))
    emit("\nwhat one call costs on its own here (a one-element array): " +
         ", ".join(f"{k} {v:.2f} us" for k, v in cost.items()))
    per = cost["numpy ufunc"]
    emit(f"\nper-call overhead at the lecture's size: train.py's {n_calls[rows[0]]} numpy calls x {per:.2f} us = "
         f"{n_calls[rows[0]] * per:.0f} us of its {lec[rows[0]]:.0f} us; the fastest numpy step's {n_calls[rows[1]]} "
         f"x {per:.2f} us = {n_calls[rows[1]] * per:.0f} us of its {lec[rows[1]]:.0f} us" +
         (f"; JAX's step is one jitted call ({cost['JAX jitted call']:.0f} us for an empty one), its arithmetic "
          f"fused by XLA. The fastest numpy step / JAX jit: {lec[rows[1]] / lec['JAX jit']:.2f}x (the goal: within "
          f"1.2x)" if jax_here else ""))
    # plot: time per step against n_hidden, every line from the side-by-side (one clock, one core)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    at32 = [H for H in hiddens if f"{H}, 32" in side]
    for row, style in zip(rows, ("o-", "D-", "*-", "^-", "v-", "x-")):
        ax.plot(at32, [side[f"{H}, 32"][row] for H in at32], style, label=short[row] + (
            " (numpy, lib/model.py)" if row == rows[0] else " (benchmark.py's fastest())" if row == rows[1] else ""))
    ax.plot(at32, [step_flops(H, 32) / (gflops_cpu * 1e3) for H in at32], ":", color="k",
            label="floor: matmul FLOPs / throughput")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(hiddens, [str(h) for h in hiddens])
    ax.set_xlabel("n_hidden (batch 32)")
    ax.set_ylabel("microseconds per training step")
    runs = []  # the winners along n_hidden at batch 32, as runs: [(winner, first H, last H)]
    for H in at32:
        w = short[winners[f"{H}, 32"]]
        if runs and runs[-1][0] == w:
            runs[-1][2] = H
        else:
            runs.append([w, H, H])
    ax.set_title("one training step (forward, hand backward, update), float32, one core; fastest: " +
                 ", ".join(f"{w} ({a}{'' if a == b else f' to {b}'})" for w, a, b in runs) + f"\n{machine}",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    save(fig, out, "benchmark_sweep")

    # 6. the practice grader: a check of a right file, and of the same file with one mistake (the repair search)
    emit("\n### the practice grader: `practice.py check`, graph included, a right file and one with a mistake\n")
    checks = grader_checks(out, quick=args.quick)
    emit("| exercise 1 to 3 solution | right: wall s / CPU s | one mistake: wall s / CPU s | "
         "the mistake's cost, CPU s |")
    emit("|---|---:|---:|---:|")
    for name, t in checks.items():
        (rw, rc), (mw, mc) = t["right"], t["mistake"]
        more = f"{mc - rc:+.2f}" if rc is not None else "-"
        emit(f"| {name} | {rw:.2f} / {rc if rc is None else round(rc, 2)} | {mw:.2f} / "
             f"{mc if mc is None else round(mc, 2)} | {more} |")
    cpus = [t["right"][1] for t in checks.values() if t["right"][1] is not None]
    extra = [t["mistake"][1] - t["right"][1] for t in checks.values() if t["right"][1] is not None]
    if cpus:
        emit(f"\nright file: CPU median {np.median(cpus):.2f} s, max {max(cpus):.2f} s; a mistake's extra CPU: "
             f"median {np.median(extra):+.2f} s, max {max(extra):+.2f} s (CPU time: what a quiet core would take)")

    write_text(os.path.join(out, "benchmark.md"), "\n".join(lines) + "\n")
    write_json(os.path.join(out, "benchmark.json"), dict(machine=machine, gflops=gflops, lecture=lecture,
                                                         ablation=ablation, numpy_calls=calls, sweep=sweep,
                                                         threads=threads, versions=versions, side_by_side=side,
                                                         winners=winners, per_call_us=cost, torch=torch_row,
                                                         gflops_cpu=gflops_cpu, grader_checks=checks))
    plot_gpu(out)
    print(f"\nwrote {out}/benchmark.md, {out}/benchmark.json, {out}/benchmark_sweep.png, {out}/benchmark_gpu.png")


if __name__ == "__main__":
    sys.exit(run(main))
