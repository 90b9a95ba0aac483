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
5. When PyTorch happens to be installed (it is never a requirement), the lecture's own loop
   in the same run, on --torch-device cpu or cuda (the same code; on a GPU every clock read
   waits for it): loss.backward() (autograd), its hand backward written in torch, and on a GPU
   the whole autograd step captured once in a CUDA graph. Earlier runs here measured PyTorch's
   CPU step 4.3 to 5.1x slower than ours (autograd) and 3.7 to 4.3x (hand backward): per-call
   overhead, which swings with the machine's pace more than numpy's.
6. The step against a GPU, drawn from one measured run on an NVIDIA H200 (plots/readme/gpu_h200.json):
   at the lecture's size the GPU's eager step is launch-bound at about 1.4 ms and loses to one CPU
   core (186 us); captured as one CUDA graph it takes 134 us; eager, it wins from about 90 MFLOP a
   step (batch 256 x hidden 1024) on.

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lib  # before numpy: one BLAS thread unless you set one (lib/__init__.py)

import numpy as np

from lib.bench import time_us
from lib.cli import Parser, UsageError, positive, run, writable_dir, write_json, write_text
from lib.data import PLOTS, ROOT, load_splits, minibatches
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
        dhprebn = P["bngain"] * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))  # noqa: E501  (the answer on one line)
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


def matmul_gflops(dtype, size=1024, quick=False):
    """Matrix-multiply throughput of this machine's BLAS, from a large product (briefly, quick)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    us = time_us(lambda: a @ a, **(dict(repeat=3, min_seconds=0.03) if quick else dict(repeat=5, min_seconds=0.2)))
    return 2 * size ** 3 / us / 1e3


def step_flops(n_hidden, batch_size):
    return 6 * batch_size * n_hidden * (block_size * n_embd + vocab_size)


def torch_loops(Xtr, Ytr, n_hidden, batch_size, device="cpu"):
    """The lecture's loop in PyTorch, if installed, on a device ('cpu' or 'cuda'): autograd, its hand backward in
    torch, and on a GPU the whole autograd step captured once in a CUDA graph and replayed. The same code for
    both devices; on a GPU every clock read waits for the GPU (its calls return before the work is done)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--torch-device cuda: PyTorch sees no CUDA GPU here; pass --torch-device cpu")
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
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))  # noqa: E501  (the answer on one line)
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

    for p in parameters:
        p.requires_grad = False
    hand = time_us(hand_step, sync=sync)
    auto = time_us(autograd_step, sync=sync)
    graphed = time_us(graphed_step(), sync=sync) if dev.type == "cuda" else None
    return dict(version=torch.__version__, device=device, threads=torch.get_num_threads(), autograd=auto, hand=hand,
                cuda_graph=graphed)


GPU_RUN = os.path.join(ROOT, "plots", "readme", "gpu_h200.json")  # one measured run on an NVIDIA H200 (see 'what')
GPU_ROWS = {  # its columns, as the plot names them
    "numpy_cpu_1thread": ("this project's numpy, one CPU core", dict(color="tab:blue", marker="o", lw=2.5)),
    "torch_cpu_1thread_autograd": ("PyTorch CPU autograd, one thread", dict(color="tab:gray", marker="s")),
    "torch_cuda_autograd": ("PyTorch on the H200, loss.backward()", dict(color="tab:red", marker="^")),
    "torch_cuda_hand": ("the lecture's hand backward in torch, H200", dict(color="tab:orange", marker="v")),
    "cupy_project_code": ("this project's lib/model.py on CuPy, H200", dict(color="tab:purple", marker="D")),
    "torch_cuda_cuda_graph": ("the whole step as one CUDA graph, H200", dict(color="tab:green", marker="*", ms=10)),
}


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

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"numpy {np.__version__}, BLAS {blas.get('name')} {blas.get('version')}")
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
    emit("| step written as | us/step |")
    emit("|---|---:|")
    variants = [("a straightforward numpy port of the lecture's loop", {}),
                ("+ minibatch indices drawn up front", dict(upfront=True)),
                ("+ embedding backward as a one-hot matmul, not np.add.at", dict(upfront=True, onehot=True)),
                ("+ one in-place update of a flat parameter buffer (an idiom train.py leaves out)",
                 dict(upfront=True, onehot=True, flat=True))]
    ablation = {}
    for label, flags in variants:
        ablation[label] = time_us(port(Xtr, Ytr, 200, 32, np.float32, **flags)[0], **timing)
        emit(f"| {label} | {ablation[label]:.1f} |")
    label = "train.py: up front, one-hot, the fused layers of lib/layers.py, seven updates"
    ablation[label] = lecture["float32"]["us_per_step"]
    emit(f"| {label} | {ablation[label]:.1f} |")

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
                    cells[f"{k} thread{'s' if k > 1 else ''}, {'busy' if busy else 'idle'}"] = float(p.stdout.split()[-1])  # noqa: E501
            finally:
                if hog:
                    hog.kill()
                    hog.wait()
        threads[f"{H}, {B}"] = cells
        emit(f"| {H}, {B} | " + " | ".join(f"{cells[k]:.0f}" for k in ("1 thread, idle", "2 threads, idle",
                                                                         "1 thread, busy", "2 threads, busy")) + " |")

    # 5. PyTorch, when present
    torch_sweep = {}
    t = torch_loops(Xtr, Ytr, 200, 32, args.torch_device)
    if t is None:
        emit(f"\nPyTorch is not installed: no side-by-side on {args.torch_device} (pip install torch in the .venv to "
             f"get one). One measured run on an NVIDIA H200: plots/readme/gpu_h200.json, benchmark_gpu.png.")
    else:
        # ours timed again right beside torch: both under the same conditions (threads, clocks)
        ours_us = t["ours"] = time_us(ours(Xtr, Ytr, 200, 32, np.float32)[0])
        emit(f"\n### side by side with PyTorch {t['version']} on {t['device']} ({t['threads']} threads), float32, "
             f"lecture config\n")
        emit("| training step | us/step | ours is faster by |")
        emit("|---|---:|---:|")
        emit(f"| lecture's loop, loss.backward() (autograd) | {t['autograd']:.1f} | {t['autograd'] / ours_us:.1f}x |")
        emit(f"| lecture's loop, hand backward in torch | {t['hand']:.1f} | {t['hand'] / ours_us:.1f}x |")
        if t["cuda_graph"] is not None:
            emit(f"| the whole autograd step as one CUDA graph | {t['cuda_graph']:.1f} | "
                 f"{t['cuda_graph'] / ours_us:.1f}x |")
        emit(f"| ours: numpy, hand backward (train.py) | {ours_us:.1f} | 1.0x |")
        for H in hiddens:
            torch_sweep[H] = torch_loops(Xtr, Ytr, H, 32, args.torch_device)

    # plot: time per step against n_hidden
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for dt, style in (("float32", "o-"), ("float64", "s--")):
        ax.plot(hiddens, [sweep[dt]["n_hidden"][H] for H in hiddens], style, label=f"ours, numpy {dt}")
    ax.plot(hiddens, [step_flops(H, 32) / (gflops["float32"] * 1e3) for H in hiddens], ":", color="k",
            label="floor: matmul FLOPs / throughput (float32)")
    if torch_sweep:
        ax.plot(hiddens, [torch_sweep[H]["autograd"] for H in hiddens], "^-", label="PyTorch, autograd")
        ax.plot(hiddens, [torch_sweep[H]["hand"] for H in hiddens], "v-", label="PyTorch, hand backward")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(hiddens, [str(h) for h in hiddens])
    ax.set_xlabel("n_hidden (batch 32)")
    ax.set_ylabel("microseconds per training step")
    ax.set_title(f"one training step (forward, hand backward, update)\n{machine}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    save(fig, out, "benchmark_sweep")

    write_text(os.path.join(out, "benchmark.md"), "\n".join(lines) + "\n")
    write_json(os.path.join(out, "benchmark.json"), dict(machine=machine, gflops=gflops, lecture=lecture,
                                                         ablation=ablation,
                                                          sweep=sweep, threads=threads, torch=t,
                                                              torch_sweep=torch_sweep))
    plot_gpu(out)
    print(f"\nwrote {out}/benchmark.md, {out}/benchmark.json, {out}/benchmark_sweep.png, {out}/benchmark_gpu.png")


if __name__ == "__main__":
    sys.exit(run(main))
