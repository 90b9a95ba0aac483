import json
import os

import numpy as np

import benchmark
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
    if r["torch"] is None:  # no PyTorch here: said, and asking for its GPU is one line before any work
        assert "PyTorch is not installed: no side-by-side on cpu" in out
    else:
        assert r["torch"]["device"] == "cpu" and r["torch"]["cuda_graph"] is None and r["torch"]["autograd"] > 0
    code, _, err = call(benchmark.main, "--torch-device", "cuda", "--out", tmp_path / "g")
    torch_gpu = r["torch"] is not None and "cuda" in r["torch"]["version"]
    assert torch_gpu or (code == 2 and err.count("\n") == 1 and "--torch-device cuda" in err)
