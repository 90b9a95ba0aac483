"""2006, 2010 and 2014, runnable: the RBM's exact conditional, CD against the exact gradient, the
cost-and-gradient function handed to scipy, and the fragment embeddings' cost function beside CLIP's loss."""
import itertools
import json
import os

import numpy as np
import pytest
from scipy.optimize import check_grad

import defrag_2014
import lbfgs_2010
import rbm_cd
from lib.cli import UsageError
from lib.gradcheck import check_params, precise_gradient, rel_error
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


# 2014: deep fragment embeddings, and CLIP's loss beside them

def fake_pairs(names, seed=0):
    """make_pairs on random 'glyphs': the shapes and bookkeeping of the real data, without rendering fonts."""
    glyphs = np.random.default_rng(seed).random((3, 26, defrag_2014.box, defrag_2014.box)).astype(np.float32)
    return defrag_2014.make_pairs(names, glyphs, np.random.default_rng(seed))


SHORT = ["ab", "abc", "bca", "cab", "ba", "ac", "zed", "mo"]


def test_both_objectives_pass_the_gradient_check_and_a_planted_bug_fails(capsys):
    data = fake_pairs(SHORT)
    assert defrag_2014.gradient_checks(data, seed=0)
    out = capsys.readouterr().out
    assert out.count("all 7 tensors OK") == 3 and "multiple-instance labels" in out and "CLIP's loss" in out
    rng = np.random.default_rng(1)
    params = defrag_2014.init_params(rng, n_in=32, n_hidden=6, d=5, n_embd=3)
    batch = defrag_2014.batch_of(data, np.arange(4))
    batch["boxes"] = batch["boxes"][:, ::8]
    for objective in ("2014", "clip"):
        cost, grads = defrag_2014.cost_function(params, batch, objective)
        grads["E"][1, 0] *= 1.01  # one element of the embedding 1% off
        rows = check_params(lambda q: defrag_2014.cost_function(q, batch, objective)[0], params, grads)
        assert [r["name"] for r in rows if not r["ok"]] == ["dE"]


def test_every_fragment_has_a_positive_box_in_its_own_image_and_none_elsewhere():
    data = fake_pairs(SHORT)
    batch = defrag_2014.batch_of(data, np.arange(len(SHORT)))
    same = batch["img"][:, None] == batch["sent"][None, :]
    rng = np.random.default_rng(2)
    for scale in (1.0, -1.0):  # mixed scores, and every score negative: each fragment then gets its best box
        dots = scale * np.abs(rng.standard_normal(same.shape)) if scale < 0 else rng.standard_normal(same.shape)
        y = defrag_2014.fragment_labels(dots, same, mil=True)
        assert ((y > 0) & same).sum(0).min() >= 1 and not ((y > 0) & ~same).any()
        if scale < 0:
            assert ((y > 0).sum(0) == 1).all()
            best = np.where(same, dots, -np.inf).argmax(0)
            assert (y[best, np.arange(y.shape[1])] == 1).all()
        else:  # inside a pair, a positive score is a positive label
            assert (y[same & (dots > 0)] == 1).all()
    assert (defrag_2014.fragment_labels(dots, same, mil=False) == np.where(same, 1, -1)).all()


def test_the_hinge_and_the_softmax_weigh_negatives_as_they_should():
    rng = np.random.default_rng(3)
    S = rng.standard_normal((6, 6))
    S[0, 1] = min(S[0, 0], S[1, 1]) - defrag_2014.margin - 1.0  # a negative a margin below in both directions
    cost, dS, w = defrag_2014.ranking_hinge(S)
    numeric, _ = precise_gradient(lambda x: defrag_2014.ranking_hinge(x)[0], S.copy())
    assert rel_error(dS, numeric) < 1e-8 and abs(dS.sum()) < 1e-12  # each active hinge: +1 and -1
    assert set(np.unique(w)) <= {0.0, 1.0} and w[0, 1] == 0 and dS[0, 1] == 0  # the hinge stops pushing
    assert np.allclose(np.diag(dS), -(w.sum(1) + ((S - np.diag(S)[None, :] + 1 > 0) * (1 - np.eye(6))).sum(0)) / 6)
    cost, dlogits, p = defrag_2014.symmetric_cross_entropy(S)
    numeric, _ = precise_gradient(lambda x: defrag_2014.symmetric_cross_entropy(x)[0], S.copy())
    assert rel_error(dlogits, numeric) < 1e-8 and abs(dlogits.sum()) < 1e-12  # softmax minus one-hot
    off = ~np.eye(6, dtype=bool)
    assert (dlogits[off] > 0).all() and (p[off] > 0).all() and np.allclose(p.sum(1), 1)  # no negative weighs 0
    assert abs(cost - np.log(6)) < 1e-12 if np.ptp(S) == 0 else cost > 0
    assert abs(defrag_2014.symmetric_cross_entropy(np.zeros((35, 35)))[0] - np.log(35)) < 1e-12


def test_ranks_count_ties_and_nan_against_the_model():
    N = 5
    assert (defrag_2014.ranks(np.eye(N)) == 1).all()
    assert (defrag_2014.ranks(np.ones((N, N))) == N).all()          # all tied: last, not first
    S = np.eye(N)
    S[2, 2] = np.nan                                                # a NaN true score: last
    S[3, 0] = np.nan                                                # a NaN rival: ahead of the true match
    assert list(defrag_2014.ranks(S)) == [1, 1, N, 2, 1]
    r = defrag_2014.retrieval(np.full((N, N), np.nan))
    assert r["i2t_r1"] == r["t2i_r1"] == 0 and r["i2t_median"] == r["t2i_median"] == N


def test_a_dead_run_stops_in_one_line_naming_the_flag():
    data, test = fake_pairs(SHORT * 20), fake_pairs(SHORT, seed=1)
    stop = type("NoSignal", (), {"signal": None})()
    with pytest.raises(UsageError, match=r"(died|diverged) at step \d+.*pass a smaller --lr-2014 \(the default is "):
        defrag_2014.train(defrag_2014.start(np.random.default_rng(0)), data, test, "2014", True, 1e4, 50, 50, stop,
                          say=lambda s: None, label="2014")


def test_the_glyphs_render_offline_and_a_cache_that_cannot_be_written_costs_nothing(tmp_path):
    (tmp_path / "file").write_text("a file, where the cache's folder would be")
    glyphs = defrag_2014.render_glyphs(tmp_path / "file" / "g.npz")
    assert glyphs.shape == (20, 26, 16, 16) and 0 <= glyphs.min() and glyphs.max() <= 1
    ink = glyphs.sum((2, 3)).mean(0)
    assert ink[defrag_2014.LETTERS.index("m")] > 1.5 * ink[defrag_2014.LETTERS.index("i")]
    assert os.listdir(tmp_path) == ["file"]  # nothing written, no temporary file left
    (tmp_path / "g.npz").write_bytes(b"PK half a zip")  # a cache cut short: drawn again, and written whole
    assert np.array_equal(defrag_2014.render_glyphs(tmp_path / "g.npz"), glyphs)
    with np.load(tmp_path / "g.npz") as z:
        assert np.array_equal(z["glyphs"], glyphs)


def test_a_short_run_beats_chance_without_the_network(call, names_txt, tmp_path, monkeypatch):
    import socket

    def refuse(*a, **k):
        raise AssertionError("defrag_2014.py tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    code, out, err = call(defrag_2014.main, "--steps", 300, "--out", tmp_path)
    assert code == 0 and out.count("all 7 tensors OK") == 3 and "Traceback" not in err
    expected = float(out.split("should be about: 2014 ")[1].split()[0])
    first = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("  the loss at step 1 was")]
    assert len(first) == 2 and abs(first[0] - expected) < 2 and abs(first[1] - np.log(35)) < 0.05  # 2014, CLIP
    r = json.loads((tmp_path / "defrag_2014.json").read_text())
    assert r["finished"] and r["checks_ok"] and r["tables"][0]["chance"]["i2t_r10"] == 1.0
    for key in ("2014", "2014_nomil", "clip"):
        assert r["tables"][0][key]["i2t_r10"] > 10 and r["tables"][0][key]["t2i_r10"] > 5
    for png in ("alignment", "scores", "training"):
        assert os.path.getsize(tmp_path / f"defrag_2014_{png}.png") > 20_000
