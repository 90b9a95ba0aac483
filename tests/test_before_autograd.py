"""2006 and 2010, runnable: the RBM's exact conditional, CD against the exact gradient, the cost-and-gradient
function handed to scipy (2014's fragment embeddings: tests/test_defrag_2014.py)."""
import itertools
import json
import os

import numpy as np
from scipy.optimize import check_grad

import lbfgs_2010
import rbm_cd
from lib.gradcheck import precise_gradient, rel_error
from lib.model import init_params


def test_rbm_conditional_equals_brute_force_enumeration():
    """p(next | context) from free energies against summing exp(-E(v, h)) over every joint state."""
    rng = np.random.default_rng(0)
    V, G, H = 3, 3, 3
    W, b, c = rng.standard_normal((G * V, H)), rng.standard_normal(G * V), rng.standard_normal(H)
    hidden = np.array(list(itertools.product((0.0, 1.0), repeat=H)))             # (2^H, H)
    for context in itertools.product(range(V), repeat=G - 1):
        joint = []
        for k in range(V):
            v = rbm_cd.onehot(np.array([list(context) + [k]]), V)[0]
            joint.append(np.exp(v @ b + hidden @ c + hidden @ (W.T @ v)).sum())  # sum over h of exp(-E)
        exact = np.array(joint) / sum(joint)
        ours = np.exp(rbm_cd.next_char_logprobs(np.array([context]), W, b, c, V)[0])
        assert np.abs(ours - exact).max() < 1e-12


def test_exact_gradient_is_the_gradient_of_the_log_likelihood():
    rng = np.random.default_rng(1)
    nv, nh = 5, 3
    W, b, c = rng.standard_normal((nv, nh)), rng.standard_normal(nv), rng.standard_normal(nh)
    data = (rng.random((7, nv)) < 0.5).astype(float)
    states = np.array(list(itertools.product((0.0, 1.0), repeat=nv)))

    def loglik(W):
        f = rbm_cd.free_energy(states, W, b, c)
        return float(-rbm_cd.free_energy(data, W, b, c).mean() - np.log(np.exp(-f).sum()))
    numeric, _ = precise_gradient(loglik, W.copy())
    assert rel_error(rbm_cd.exact_gradient(data, W, b, c)[0], numeric) < 1e-8


def test_cd_k_error_falls_as_k_grows():
    table = rbm_cd.cd_versus_exact(np.random.default_rng(42), repeats=200)
    bias = [table[k]["bias"] for k in ("CD-1", "CD-3", "CD-10", "CD-30")]
    assert bias[0] > bias[1] > bias[2] > bias[3] and bias[0] > 0.1
    assert table["CD-1"]["rel_error"] > table["CD-10"]["rel_error"] and table["PCD-1"]["rel_error"] < bias[0]
    # the exact expectation of CD-k, checked against sampling: CD-1's mean estimate sits near it
    assert abs(table["CD-1"]["rel_error"] - bias[0]) < 0.05


def test_cd_expectation_matches_many_samples():
    rng = np.random.default_rng(7)
    W, b, c = rng.standard_normal((4, 2)) * 2, rng.standard_normal(4), rng.standard_normal(2)
    data = (rng.random((6, 4)) < 0.5).astype(float)
    expected = rbm_cd.cd_expected(data, W, b, c, 2)
    sampled = np.mean([rbm_cd.cd_gradient(data, W, b, c, 2, rng)[0] for _ in range(20000)], axis=0)
    assert np.abs(sampled - expected).max() < 0.01


def test_rbm_script_on_a_short_run(call, names_txt, tmp_path):
    code, out, _ = call(rbm_cd.main, "--epochs", 1, "--n-hidden", 16, "--out", tmp_path)
    assert code == 0 and "trigram, add-one smoothing" in out
    r = json.loads((tmp_path / "rbm_cd.json").read_text())
    assert 2.0 < r["trigram_val_loss"] < 2.4 and r["val_loss"] < np.log(27) and len(r["samples"]) == 20
    for png in ("rbm_cd", "rbm_cd_units"):
        assert os.path.getsize(tmp_path / f"{png}.png") > 10_000


def test_cost_function_checked_twice_and_unrolling():
    rng = np.random.default_rng(3)
    params = init_params(5, 3, 4, 2, rng)
    X, Y = rng.integers(0, 5, (6, 2)), rng.integers(0, 5, 6)
    shapes = {k: v.shape for k, v in params.items()}
    theta = lbfgs_2010.unroll(params)
    assert all(np.array_equal(lbfgs_2010.roll(theta, shapes)[k], params[k]) for k in params)
    cost = lambda t: lbfgs_2010.cost_function(t, X, Y, shapes)[0]  # noqa: E731
    grad = lambda t: lbfgs_2010.cost_function(t, X, Y, shapes)[1]  # noqa: E731
    assert check_grad(cost, grad, theta) < 1e-5 * np.linalg.norm(grad(theta))
    numeric, _ = precise_gradient(cost, theta.copy())
    assert rel_error(grad(theta), numeric) < 1e-7
    wrong = lambda t: grad(t) * np.r_[np.ones(theta.size - 1), 1.5]  # noqa: E731  one element off
    assert check_grad(cost, wrong, theta) > 1e-4 * np.linalg.norm(grad(theta)) or abs(grad(theta)[-1]) < 1e-12


def test_lbfgs_script_on_a_short_run(call, names_txt, tmp_path):
    code, out, _ = call(lbfgs_2010.main, "--maxiter", 2, "--out", tmp_path)
    assert code == 0 and "scipy.optimize.check_grad" in out and "minibatch SGD" in out
    r = json.loads((tmp_path / "lbfgs_2010.json").read_text())
    assert r["checks_ok"] and r["iterations"] == 2 and r["lbfgs_val"] < np.log(27) and r["sgd_steps"] >= 100
    assert os.path.getsize(tmp_path / "lbfgs_2010.png") > 10_000
