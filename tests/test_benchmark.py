import json
import os

import numpy as np
import pytest

import benchmark
from lib.bench import counted, numpy_calls
from lib.data import load_splits


def test_every_variant_takes_the_same_step(names_txt):
    """Switching the timing choices on changes the speed, not the arithmetic."""
    _, _, ((Xtr, Ytr), _, _) = load_splits(3)
    (plain, p1), (fast, p2) = (benchmark.port(Xtr, Ytr, 16, 8, np.float64, upfront=True, **flags)
                               for flags in ({}, dict(onehot=True, flat=True)))
    for _ in range(3):
        plain(), fast()
    for k in p1:
        assert np.allclose(p1[k], p2[k], rtol=1e-12, atol=1e-14), k
    step, p = benchmark.ours(Xtr, Ytr, 16, 8, np.float64)
    before = {k: v.copy() for k, v in p.items()}
    step()
    assert all(not np.array_equal(before[k], p[k]) for k in ("C", "W1", "W2", "b2", "bngain", "bnbias"))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 2e-5)])
def test_the_fastest_step_takes_train_pys_step(names_txt, dtype, rtol):
    """The fused, flat step: the same loss at every step and the same parameters after 30, at the lecture's size
    (its b1 is batchnorm's: its gradient is zero up to rounding, in both)."""
    _, _, ((Xtr, Ytr), _, _) = load_splits(3)
    (readable, p1), (fastest, p2) = benchmark.ours(Xtr, Ytr, 200, 32, dtype), benchmark.fastest(Xtr, Ytr, 200, 32,
                                                                                                  dtype)
    start = {k: v.copy() for k, v in p2.items()}
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)  # the same init
    for _ in range(30):
        l1, l2 = readable(), fastest()
        assert abs(l1 - l2) < rtol * abs(l1), (l1, l2)
    for k in p1:
        assert p2[k].dtype == dtype and p2[k].shape == p1[k].shape, k
        assert np.allclose(p1[k], p2[k], rtol=rtol, atol=rtol * np.abs(p1[k]).max()), k
        assert k == "b1" or np.abs(p2[k] - start[k]).max() > 1e3 * rtol * np.abs(start[k]).max(), k  # it trained
    assert 2.5 < l2 < 3.5  # near ln 27 = 3.30 after 30 steps


def test_numpy_calls_counts_each_entry_into_numpy_once():
    a, b = counted(np.ones(3)), np.ones(3)

    def step():
        c = a + b                   # an operator: 1
        np.tanh(c, out=c)           # a ufunc: 1
        c.sum()                     # a method that reduces: 1, not its add.reduce again
        a[0] = c[1]                 # an index read and an index write: 2
        np.take(a, [0, 1])          # a numpy function: 1, not the a.take it makes
        return len(a) + float(a[2])  # len and float are Python's; a[2] is 1
    assert numpy_calls(step) == 7
    _, _, ((Xtr, Ytr), _, _) = load_splits(3)
    readable, fastest = benchmark.count_calls(benchmark.ours, Xtr, Ytr), benchmark.count_calls(benchmark.fastest,
                                                                                               Xtr, Ytr)
    assert fastest <= 41 and readable >= 70  # the fused step makes about half train.py's calls


def test_the_jax_step_is_the_same_step(names_txt):
    """When JAX is installed (never a requirement), its row times the same step: the same parameters after 5.
    Without JAX the row is None (the tables then say "not installed"), never an error."""
    _, _, ((Xtr, Ytr), _, _) = load_splits(3)
    jaxed = benchmark.jax_step(Xtr, Ytr, 64, 16)
    try:
        import jax  # noqa: F401
    except ImportError:
        assert jaxed is None
        return
    (readable, p1), (jaxed, state) = benchmark.ours(Xtr, Ytr, 64, 16, np.float32), jaxed
    for _ in range(5):
        l1, l2 = readable(), jaxed()
    assert abs(l1 - float(l2)) < 1e-5
    for k in p1:
        assert np.allclose(p1[k], np.asarray(state["params"][k]), rtol=1e-4, atol=1e-6), k


def test_quick_benchmark_writes_its_tables(call, names_txt, tmp_path):
    code, out, _ = call(benchmark.main, "--quick", "--torch-device", "cpu", "--out", tmp_path)
    assert code == 0
    md = (tmp_path / "benchmark.md").read_text()
    assert "| float32 |" in md and "what each choice bought" in md and "floor" in md
    r = json.loads((tmp_path / "benchmark.json").read_text())
    assert r["lecture"]["float32"]["us_per_step"] > r["lecture"]["float32"]["floor_us"] > 0
    assert os.path.getsize(tmp_path / "benchmark_sweep.png") > 10_000
    assert "BLAS threads" in md and set(r["threads"]["200, 32"]) == {"1 thread, idle", "2 threads, idle",
                                                                      "1 thread, busy", "2 threads, busy"}
    assert all(v > 0 for v in r["threads"]["200, 32"].values())
    assert os.path.getsize(tmp_path / "benchmark_gpu.png") > 20_000  # the H200 run, drawn from its JSON
    # side by side: numpy's two steps always, JAX and PyTorch when installed, else said so; a winner per size
    lecture = r["side_by_side"]["200, 32"]
    assert set(r["side_by_side"]) == {"200, 32", "1024, 256"} and set(r["winners"]) == set(r["side_by_side"])
    assert all(r["winners"][c] == min(us, key=us.get) for c, us in r["side_by_side"].items())
    assert lecture["train.py's step (numpy, lib/model.py)"] > 0 and lecture["the fastest numpy step (fastest())"] > 0
    calls = [v for k, v in r["numpy_calls"].items() if k.startswith(("train.py", "the fastest"))]
    assert f"| the fastest numpy step (fastest()) | {lecture['the fastest numpy step (fastest())']:.1f} | " \
           f"{calls[1]} |" in md and calls[1] < calls[0]
    if r["versions"]["jax"] is None:
        assert "| JAX jit | not installed | - | - |" in md and "JAX: not installed" in out
    else:
        assert lecture["JAX jit"] > 0 and "XLA_FLAGS=" in md and "JAX jitted call" in r["per_call_us"]
    if r["versions"]["torch"] is None:
        assert "PyTorch: not installed, no side-by-side on cpu" in out and "| PyTorch eager | not installed" in md
    else:
        assert r["versions"]["torch"]["threads"] == 1 and lecture["PyTorch eager, loss.backward()"] > 0
    assert "where each wins" in md and r["per_call_us"]["numpy ufunc"] > 0
    assert (r["torch"] is None) == (r["versions"]["torch"] is None)  # results.py's PyTorch row reads it
    code, _, err = call(benchmark.main, "--torch-device", "cuda", "--out", tmp_path / "g")
    torch_gpu = r["versions"]["torch"] is not None and "cuda" in r["versions"]["torch"]["version"]
    assert torch_gpu or (code == 2 and err.count("\n") == 1 and "--torch-device cuda" in err)
