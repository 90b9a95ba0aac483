"""2014: deep fragment embeddings, and CLIP's loss beside them (scripts/defrag_2014.py): the hand gradients, each
loss's labels and weights, retrieval's ranks, the glyph cache, and the promises a run keeps."""
import json
import os
import signal
import threading

import numpy as np
import pytest

import defrag_2014
import results
from lib.cli import UsageError
from lib.gradcheck import check_params, precise_gradient, rel_error


def fake_pairs(names, seed=0):
    """make_pairs on random 'glyphs': the shapes and bookkeeping of the real data, without rendering fonts."""
    glyphs = np.random.default_rng(seed).random((3, 26, defrag_2014.box, defrag_2014.box)).astype(np.float32)
    return defrag_2014.make_pairs(names, glyphs, np.random.default_rng(seed))


SHORT = ["ab", "abc", "bca", "cab", "ba", "ac", "zed", "mo"]
NO_SIGNAL = type("NoSignal", (), {"signal": None})()


def open_the_other_end(path, mode):
    """In the background, open the FIFO at path from its other end and close it: a read (or a write) of it that a
    bug lets through then ends instead of waiting for ever, and the test fails instead of hanging."""
    threading.Thread(target=lambda: open(path, mode).close(), daemon=True).start()


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
        cost, grads, _ = defrag_2014.cost_function(params, batch, objective)
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


def test_a_run_dead_for_patience_steps_stops_in_one_line_and_one_dead_step_does_not():
    data, test = fake_pairs(SHORT * 20), fake_pairs(SHORT, seed=1)
    quiet = dict(stop=NO_SIGNAL, say=lambda s: None, label="2014")
    why = defrag_2014.train(defrag_2014.start(np.random.default_rng(0)), data, test, "2014", True, 1e4, 50, 50, **quiet)
    assert why.startswith("2014 diverged at step ") and "pass a smaller --lr-2014 (the default is 0.004)" in why
    n = defrag_2014.patience
    for until in (n - 1, n):  # every text unit dead from the first step: the patience-th such step stops the run
        state = defrag_2014.start(np.random.default_rng(0))
        state["params"]["b_s"][:] = -100.0
        why = defrag_2014.train(state, data, test, "2014", False, 0.004, 2 * n, until, **quiet)
        assert state["history"]["live_text"] == [0.0] * until
        assert why is None if until < n else why == (
            f"2014: every text-side ReLU unit was dead at each of the {n} steps to step {n}, so nothing learns: the "
            f"learning rate 0.004 is too high: pass a smaller --lr-2014 (the default is 0.004)")


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory):
    """The alphabets drawn afresh, and a cache of them that cannot be written: drawn, nothing left behind."""
    folder = tmp_path_factory.mktemp("glyphs")
    (folder / "file").write_text("a file, where the cache's folder would be")
    glyphs = defrag_2014.render_glyphs(folder / "file" / "g.npz")
    assert os.listdir(folder) == ["file"]  # nothing written, no temporary file left
    return glyphs


def test_the_glyphs_render_offline_and_a_cache_that_cannot_be_written_costs_nothing(glyphs, tmp_path):
    assert glyphs.shape == (20, 26, 16, 16) and glyphs.dtype == np.float32 and 0 <= glyphs.min() and glyphs.max() <= 1
    ink = glyphs.sum((2, 3)).mean(0)
    assert ink[defrag_2014.LETTERS.index("m")] > 1.5 * ink[defrag_2014.LETTERS.index("i")]
    assert glyphs.sum((2, 3)).min() > 10  # every letter inked: the sound cache's floor (5) is well below
    (tmp_path / "g.npz").write_bytes(b"PK half a zip")  # a cache cut short: drawn again, and written whole
    assert np.array_equal(defrag_2014.render_glyphs(tmp_path / "g.npz"), glyphs)
    with np.load(tmp_path / "g.npz") as z:
        assert np.array_equal(z["glyphs"], glyphs)


@pytest.mark.parametrize("damage", ["strings", "complex", "npy", "all zero"])
def test_a_damaged_glyph_cache_is_drawn_again(glyphs, tmp_path, damage):
    path = tmp_path / "g.npz"
    if damage == "npy":
        with open(path, "wb") as f:  # a lone array where the archive belongs
            np.save(f, glyphs)
    else:  # strings were a traceback, complex one later (boxes are real); all zero: every score at chance
        np.savez(path, glyphs={"strings": glyphs.astype(str), "complex": glyphs.astype(complex),
                               "all zero": np.zeros_like(glyphs)}[damage])
    drawn = defrag_2014.render_glyphs(path)
    assert drawn.dtype == np.float32 and np.array_equal(drawn, glyphs)  # a complex cache was read: a traceback later
    with np.load(path) as z:  # and written again, whole
        assert z["glyphs"].dtype == np.float32 and np.array_equal(z["glyphs"], glyphs)


@pytest.mark.parametrize("damage", ["a letter without ink", "nan", "float64", "shape", "object", "no glyphs", "text"])
def test_more_damaged_glyph_caches_are_not_read(tmp_path, damage):
    glyphs = 0.5 + 0.5 * np.random.default_rng(0).random((20, 26, 16, 16)).astype(np.float32)
    path = tmp_path / "g.npz"
    np.savez(path, glyphs=glyphs)
    assert np.array_equal(defrag_2014.read_glyphs(path), glyphs)  # a sound one is read
    bad = {"a letter without ink": np.where(np.arange(26)[:, None, None] == 3, 0, glyphs).astype(np.float32),
           "nan": np.where(glyphs > 0.99, np.nan, glyphs).astype(np.float32), "float64": glyphs.astype(float),
           "shape": glyphs[:, :25]}
    if damage == "no glyphs":
        np.savez(path, other=glyphs)
    elif damage == "text":
        path.write_text("glyphs\n")
    elif damage == "object":
        np.savez(path, glyphs=glyphs.astype(object), allow_pickle=True)
    else:
        np.savez(path, glyphs=bad[damage])
    assert defrag_2014.read_glyphs(path) is None


def test_a_glyph_cache_that_is_a_fifo_is_one_line_not_a_hang(tmp_path):
    path = tmp_path / "g.npz"
    os.mkfifo(path)
    open_the_other_end(path, "wb")
    with pytest.raises(UsageError, match=r"the glyph cache .*g.npz is not a regular file; remove it \(the letters "
                                         r"are then drawn again\)"):
        defrag_2014.render_glyphs(path)
    assert os.listdir(tmp_path) == ["g.npz"]


@pytest.mark.parametrize("output", ["defrag_2014.json", "defrag_2014_training.png"])
def test_an_output_path_that_is_a_fifo_is_refused_before_any_work(call, names_txt, tmp_path, output):
    os.mkfifo(tmp_path / output)
    open_the_other_end(tmp_path / output, "rb")  # were it written after all the work, the test ends, and fails
    code, out, err = call(defrag_2014.main, "--steps", 1, "--out", tmp_path)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert f"{tmp_path / output} is not a regular file" in err and "pass another --out" in err
    assert os.listdir(tmp_path) == [output]


@pytest.fixture
def few_names(monkeypatch, names_txt):
    """The run on 1,500 of the names (1,000 held out): the same code, its data drawn in a tenth of the time."""
    words = open(names_txt).read().split()[:1500]
    monkeypatch.setattr(defrag_2014, "load_words", lambda: (None, None, (words, [], [])))


def test_a_diverged_objective_keeps_the_finished_ones_and_results_shows_them(call, few_names, tmp_path):
    code, out, err = call(defrag_2014.main, "--steps", 20, "--lr-clip", 1e300, "--out", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: CLIP's loss diverged at step ") and "pass a smaller --lr-clip" in err
    assert "the figures of the runs that finished are in" in err
    r = json.loads((tmp_path / "defrag_2014.json").read_text())
    assert not r["finished"] and r["trained"] == [{"2014": 20, "2014_nomil": 20}] and list(r["failed"]) == ["clip"]
    assert 0 < r["tables"][0]["2014"]["i2t_r10"] <= 100 and "clip" not in r["tables"][0]
    for png in ("alignment", "scores", "training"):
        assert os.path.getsize(tmp_path / f"defrag_2014_{png}.png") > 20_000
    code, out, _ = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    mine = [line for line in out.splitlines() if line.startswith("| 2014: ")]
    i2t, t2i = r["tables"][0]["2014"]["i2t_r10"], r["tables"][0]["2014"]["t2i_r10"]
    assert code == 0 and len(mine) == 4 and f"the 2014 objective (1 seed, 20 steps) | ≥ 60 / ≥ 40 (chance 1 / 1) | " \
        f"{i2t:.1f} / {t2i:.1f}; without" in mine[1]
    assert "CLIP's loss, same model | ≥ 60 / ≥ 40 (chance 1 / 1) | CLIP's loss diverged at step" in mine[2]
    assert mine[2].endswith("| ✗ |") and "unfinished run" not in out


def test_a_signal_during_the_plots_keeps_a_finished_run(call, few_names, tmp_path, monkeypatch):
    draw = defrag_2014.plot_alignment

    def interrupted(*args):  # Ctrl-C after every step, as the first plot is drawn
        os.kill(os.getpid(), signal.SIGINT)
        return draw(*args)
    monkeypatch.setattr(defrag_2014, "plot_alignment", interrupted)
    code, out, err = call(defrag_2014.main, "--steps", 20, "--out", tmp_path)
    assert code == 130 and "interrupted after the last step: kept " in err and "Traceback" not in err
    r = json.loads((tmp_path / "defrag_2014.json").read_text())
    assert r["finished"] and r["trained"] == [{"2014": 20, "2014_nomil": 20, "clip": 20}] and r["failed"] == {}
    assert all(os.path.exists(tmp_path / f"defrag_2014_{png}.png") for png in ("alignment", "scores", "training"))
    code, out, _ = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and "unfinished" not in out and out.count("| 2014: R@10 among 1000 held-out names") == 2
    assert f"{r['tables'][0]['clip']['i2t_r10']:.1f} / {r['tables'][0]['clip']['t2i_r10']:.1f} |" in out


def test_a_short_run_is_not_stopped_by_one_dead_step_and_beats_chance_offline(call, names_txt, tmp_path,
                                                                              monkeypatch):
    """At 20, 100 or 200 steps every score of a batch is at or below 0 at step 5 or 6 (the warm-up's rate is at its
    top): the next steps recover."""
    import socket

    def refuse(*a, **k):
        raise AssertionError("defrag_2014.py tried to reach the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    code, out, err = call(defrag_2014.main, "--steps", 100, "--out", tmp_path)
    assert code == 0 and out.count("all 7 tensors OK") == 3 and err == ""
    expected = float(out.split("should be about: 2014 ")[1].split()[0])
    first = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("  the loss at step 1 was")]
    assert len(first) == 2 and abs(first[0] - expected) < 2 and abs(first[1] - np.log(35)) < 0.05  # 2014, CLIP
    r = json.loads((tmp_path / "defrag_2014.json").read_text())
    assert r["finished"] and r["checks_ok"] and r["tables"][0]["chance"]["i2t_r10"] == 1.0
    for key in ("2014", "2014_nomil", "clip"):
        assert r["tables"][0][key]["i2t_r10"] > 3 and r["tables"][0][key]["t2i_r10"] > 3  # chance: 1
        assert r["tables"][0][key]["align"] > r["tables"][0]["chance"]["align"] + 15
    for png in ("alignment", "scores", "training"):
        assert os.path.getsize(tmp_path / f"defrag_2014_{png}.png") > 20_000


def test_results_counts_each_objective_over_the_seeds_where_it_finished(call, names_txt, tmp_path):
    """--full stopped by a signal during the second seed's CLIP run: the 2014 figures of both seeds, CLIP's of one."""
    def table(r10, align):
        return {"i2t_r10": r10, "t2i_r10": r10 - 20, "align": align}
    chance = {"i2t_r10": 1.0, "t2i_r10": 1.0, "align": 35.0}
    tables = [dict(chance=chance, **{"2014": table(80, 97), "2014_nomil": table(78, 96), "clip": table(79, 90)}),
              dict(chance=chance, **{"2014": table(70, 95), "2014_nomil": table(72, 94), "clip": table(10, 50)})]
    trained = [{"2014": 800, "2014_nomil": 800, "clip": 800}, {"2014": 800, "2014_nomil": 800, "clip": 300}]
    (tmp_path / "defrag_2014.json").write_text(json.dumps(dict(finished=False, checks_ok=True, steps=800, n_test=1000,
                                                               tables=tables, trained=trained, failed={})))
    code, out, err = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and err == "" and "unfinished run" not in out
    assert "the 2014 objective (2 seeds, 800 steps) | ≥ 60 / ≥ 40 (chance 1 / 1) | 75.0 / 55.0; without the " \
           "multiple-instance step 75.0 / 55.0 | ✓ |" in out
    assert "CLIP's loss, same model (1 seed, 800 steps) | ≥ 60 / ≥ 40 (chance 1 / 1) | 79.0 / 59.0 | ✓ |" in out
    assert "| above chance (35.0%) | 96.0% (CLIP's loss 90.0%) | ✓ |" in out
    trained[0]["clip"] = 500  # no seed finished CLIP's run
    (tmp_path / "defrag_2014.json").write_text(json.dumps(dict(finished=False, checks_ok=True, steps=800, n_test=1000,
                                                               tables=tables, trained=trained, failed={})))
    code, out, err = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert "CLIP's loss, same model | ≥ 60 / ≥ 40 (chance 1 / 1) | an unfinished run (stopped by a signal after 500 " \
           "of 800 steps); run its script again | ✗ |" in out and out.count("| ✗ |") == 1
