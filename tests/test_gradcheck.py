"""The checker itself, on functions whose gradients are known in closed form."""
import numpy as np
import pytest

from lib.gradcheck import check, check_params, numerical_gradient, precise_gradient, rel_error, report


def test_the_simple_checker_on_a_cubic():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    g = numerical_gradient(lambda x: np.sum(x ** 3), x.copy())
    assert 1e-12 < rel_error(g, 3 * x ** 2) < 1e-9  # the h^2 term: close, not exact


def test_cubic():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    g, noise = precise_gradient(lambda x: np.sum(x ** 3), x.copy())
    assert rel_error(g, 3 * x ** 2) < 1e-10 and g.shape == noise.shape == x.shape and (noise > 0).all()


def test_log_sum_exp_gives_softmax():
    x = np.random.default_rng(0).standard_normal((4, 7)) * 3
    g, _ = precise_gradient(lambda x: np.log(np.exp(x).sum()), x.copy())
    assert rel_error(g, np.exp(x) / np.exp(x).sum()) < 1e-10


def test_matrix_function_and_input_is_restored():
    rng = np.random.default_rng(1)
    A, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    W0 = W.copy()
    for method in (numerical_gradient, lambda f, x: precise_gradient(f, x)[0]):
        g = method(lambda W: np.tanh(A @ W).sum(), W)
        assert rel_error(g, A.T @ (1 - np.tanh(A @ W) ** 2)) < 1e-8
        assert np.array_equal(W, W0)


def test_sharp_curvature_near_zero():
    # log(x) at x = 1e-4: the simple fixed step of 1e-5 is off by about 1e-3 here; the precise one is not
    x = np.array([1e-4, 2e-3, 0.5])
    assert rel_error(numerical_gradient(lambda x: np.log(x).sum(), x.copy()), 1 / x) > 1e-4
    g, _ = precise_gradient(lambda x: np.log(x).sum(), x.copy())
    assert rel_error(g, 1 / x) < 1e-9


def test_check_params_flags_exactly_the_wrong_parameter():
    rng = np.random.default_rng(2)
    params = {"a": rng.standard_normal(3), "B": rng.standard_normal((2, 3))}
    loss = lambda p: float(np.sum(np.tanh(p["B"] @ p["a"])))  # noqa: E731
    t = 1 - np.tanh(params["B"] @ params["a"]) ** 2
    grads = {"a": params["B"].T @ t, "B": np.outer(t, params["a"])}
    assert all(r["ok"] for r in check_params(loss, params, grads))
    grads["B"] = grads["B"] * 1.001
    assert [r["name"] for r in check_params(loss, params, grads) if not r["ok"]] == ["dB"]


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
    assert report([check("dz", np.array([1e-17]), np.array([3e-12]), noise=np.array([1e-11]))], "z")
    out = capsys.readouterr().out
    assert "|      zero | ok" in out  # a zero gradient shows zero, not a relative error of 1
    assert "t: all 1 tensors OK" in out and "t: FAILED, 1 of 2 tensors wrong: db" in out and "NOT OK" in out


def test_a_difference_within_the_estimates_round_off_passes_and_one_above_it_fails():
    """At batch size 2 a gradient can be the size of round-off: a relative test judges noise there.
    The row passes when every difference is within the numerical estimate's own bound."""
    analytic, noise = np.array([2e-9, 1e-9]), np.full(2, 5e-10)
    numeric = analytic + np.array([3e-10, -2e-10])  # gradients above the bound, differences within it
    row = check("dW1", analytic, numeric, noise)
    assert row["ok"] and row["rel"] > 1e-7 and "within the estimate's round-off" in row["note"]
    assert not check("dW1", analytic, numeric + 1e-9, noise)["ok"]  # a difference above the bound still fails
    assert not check("dW1", analytic, numeric)["ok"]                # and without a bound the relative test rules
