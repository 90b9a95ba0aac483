import os

import numpy as np
import pytest

import ex2_cross_entropy as ex2
import ex3_batchnorm as ex3
from lib.gradcheck import check, precise_gradient
from lib.layers import batchnorm_backward, batchnorm_forward, cross_entropy_backward, cross_entropy_forward


def test_fused_cross_entropy_by_hand():
    logits = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    Y = np.array([1, 0])
    loss, probs = cross_entropy_forward(logits, Y)
    assert probs == pytest.approx(np.array([[0.25, 0.75], [0.5, 0.5]]))
    assert loss == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2)
    # (p - onehot) / 2
    assert cross_entropy_backward(probs, Y) == pytest.approx(np.array([[0.125, -0.125], [-0.25, 0.25]]))


def test_fused_cross_entropy_is_stable_and_checked():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5)) * 4 + 1000.0  # exp(1000) overflows: the max shift must save us
    Y = rng.integers(0, 5, 6)
    loss, probs = cross_entropy_forward(logits, Y)
    assert np.isfinite(loss) and np.allclose(probs.sum(1), 1)
    dlogits = cross_entropy_backward(probs, Y)
    assert np.abs(dlogits.sum(1)).max() < 1e-15
    num, noise = precise_gradient(lambda L: cross_entropy_forward(L, Y)[0], logits.copy())
    assert check("dlogits", dlogits, num, noise)["rel"] < 1e-7


@pytest.mark.parametrize("n, H", [(2, 5), (32, 8), (1000, 3)])
def test_fused_batchnorm_against_central_differences(n, H):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, H)) * 2 + 0.5
    gain, bias = 1 + 0.1 * rng.standard_normal((1, H)), 0.1 * rng.standard_normal((1, H))
    dout = rng.standard_normal((n, H))
    rows = ex3.check_batchnorm(x, gain, bias, dout)
    assert [r["name"] for r in rows] == ["dhprebn", "dbngain", "dbnbias"]
    assert all(r["ok"] and r["rel"] < 1e-7 for r in rows), rows


def test_fused_batchnorm_uses_bessel():
    x = np.array([[1.0], [3.0]])
    out, cache = batchnorm_forward(x, np.ones((1, 1)), np.zeros((1, 1)), eps=0.0)
    # mean 2, variance with n-1: ((1-2)^2 + (3-2)^2) / 1 = 2
    assert out.ravel() == pytest.approx([-1 / np.sqrt(2), 1 / np.sqrt(2)])
    dx, dgain, dbias = batchnorm_backward(np.array([[1.0], [0.0]]), cache)
    assert dbias.item() == 1.0 and dgain.item() == pytest.approx(-1 / np.sqrt(2))


def test_ex2_script(call, names_txt, tmp_path):
    dump = tmp_path / "ex2.npz"
    code, out, _ = call(ex2.main, "--out", tmp_path, "--dump", dump)
    assert code == 0
    assert "dlogits         | exact:" in out and "approx: True" in out
    assert "exercise 2 vs central differences: all 1 tensors OK" in out
    assert "fused" in out and "chunked" in out and "us" in out
    for png in ("ex2_dlogits.png", "ex2_forces.png"):
        assert os.path.getsize(tmp_path / png) > 10_000
    z = np.load(dump)
    assert sorted(z.files) == ["Yb", "dlogits", "logits", "loss"] and z["dlogits"].dtype == np.float64
    assert np.abs(z["dlogits"].sum(1)).max() < 1e-15


def test_ex3_script(call, names_txt, tmp_path):
    dump = tmp_path / "ex3.npz"
    code, out, _ = call(ex3.main, "--out", tmp_path, "--dump", dump, "--batch-size", 2)
    assert code == 0 and "exercise 3 vs central differences: all 3 tensors OK" in out
    assert os.path.getsize(tmp_path / "ex3_three_paths.png") > 10_000
    z = np.load(dump)
    assert sorted(z.files) == sorted(["hprebn", "bngain", "bnbias", "dhpreact", "dhprebn", "dbngain", "dbnbias"])
    dx, _, _ = batchnorm_backward(z["dhpreact"], batchnorm_forward(z["hprebn"], z["bngain"], z["bnbias"])[1])
    assert np.array_equal(dx, z["dhprebn"])


def test_unwritable_out(call, names_txt, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = call(ex2.main, "--out", blocker / "sub")
    assert code == 2 and "cannot write to --out" in err and err.count("\n") == 1
