"""The checker itself, on functions whose gradients are known in closed form."""
import numpy as np
import pytest

from lib.gradcheck import check, numerical_gradient, rel_error, report


def test_cubic():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    g = numerical_gradient(lambda x: np.sum(x ** 3), x.copy())
    assert rel_error(g, 3 * x ** 2) < 1e-10


def test_log_sum_exp_gives_softmax():
    x = np.random.default_rng(0).standard_normal((4, 7)) * 3
    g = numerical_gradient(lambda x: np.log(np.exp(x).sum()), x.copy())
    assert rel_error(g, np.exp(x) / np.exp(x).sum()) < 1e-10


def test_matrix_function_and_input_is_restored():
    rng = np.random.default_rng(1)
    A, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    W0 = W.copy()
    g = numerical_gradient(lambda W: np.tanh(A @ W).sum(), W)
    assert rel_error(g, A.T @ (1 - np.tanh(A @ W) ** 2)) < 1e-9
    assert np.array_equal(W, W0)


def test_sharp_curvature_near_zero():
    # log(x) at x = 1e-4: a fixed step of 1e-5 would be off by 1e-3 here
    x = np.array([1e-4, 2e-3, 0.5])
    g = numerical_gradient(lambda x: np.log(x).sum(), x.copy())
    assert rel_error(g, 1 / x) < 1e-9


def test_rel_error_and_rows():
    a = np.array([1.0, 2.0, 3.0])
    assert rel_error(a, a) == 0
    assert rel_error(a, a + [0, 0, 6e-6]) == pytest.approx(6e-6 / 6.000006)
    assert check("dx", a, a * (1 + 1e-9))["ok"]
    assert not check("dx", a, a * 1.001)["ok"]
    assert not check("dx", a, a[:2])["ok"]
    # a zero gradient passes only when both sides are inside the round-off bound
    assert check("dz", np.array([1e-17]), np.array([3e-12]), noise=np.array([1e-11]))["ok"]
    assert not check("dz", np.array([1e-17]), np.array([3e-9]), noise=np.array([1e-11]))["ok"]


def test_report_prints_a_verdict(capsys):
    assert report([check("da", np.ones(2), np.ones(2))], "t")
    assert not report([check("da", np.ones(2), np.ones(2)), check("db", np.ones(2), np.zeros(2))], "t")
    out = capsys.readouterr().out
    assert "t: all 1 tensors OK" in out and "t: FAILED, 1 of 2 tensors wrong: db" in out and "NOT OK" in out
