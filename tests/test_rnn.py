"""The RNN's hand backward through time: checked, padding-proof, and the leak it measures."""
import ast
import inspect
import json
import os
import textwrap

import numpy as np

import rnn_bptt
from lib.gradcheck import check_params

STOI = {c: i for i, c in enumerate(".abcd")}
WORDS = ["ab", "dabcab", "c", "bcad"]


def small(seed=0):
    p = rnn_bptt.init(len(STOI), np.random.default_rng(seed), n_embd=3, n_hidden=5)
    p["Why"] *= 30
    return p


def test_bptt_matches_central_differences_with_padding():
    p = small()
    X, Y, mask = rnn_bptt.batch_of(WORDS, STOI)
    assert mask.sum() == sum(len(w) + 1 for w in WORDS) and (mask == 0).any()  # there is padding
    g = rnn_bptt.backward(p, rnn_bptt.forward(p, X, Y, mask)[1], X, Y, mask)
    rows = check_params(lambda q: rnn_bptt.forward(q, X, Y, mask)[0], p, g)
    assert [r["name"] for r in rows] == ["dC", "dWxh", "dWhh", "dbh", "dWhy", "dby"] and all(r["ok"] for r in rows)


def test_dropping_dh_next_is_caught():
    src = textwrap.dedent(inspect.getsource(rnn_bptt.backward))
    line = 'dh_next = dpre @ p["Whh"].T'
    assert src.count(line) == 1
    namespace = dict(vars(rnn_bptt))
    exec(src.replace(line, "dh_next = 0 * dh_next"), namespace)  # the planted bug: no gradient through time
    p = small()
    X, Y, mask = rnn_bptt.batch_of(WORDS, STOI)
    g = namespace["backward"](p, rnn_bptt.forward(p, X, Y, mask)[1], X, Y, mask)
    bad = {r["name"] for r in check_params(lambda q: rnn_bptt.forward(q, X, Y, mask)[0], p, g) if not r["ok"]}
    assert {"dWhh", "dWxh", "dC", "dbh"} <= bad and not bad & {"dWhy", "dby"}  # the output layer needs no history


def test_padding_changes_nothing():
    """A batch's loss and gradients equal those of its names one at a time, weighted by their lengths."""
    p = small(1)
    X, Y, mask = rnn_bptt.batch_of(WORDS, STOI)
    loss, cache = rnn_bptt.forward(p, X, Y, mask)
    g = rnn_bptt.backward(p, cache, X, Y, mask)
    total, sums = mask.sum(), {k: np.zeros_like(v) for k, v in p.items()}
    alone = 0.0
    for w in WORDS:
        x, y, m = rnn_bptt.batch_of([w], STOI)
        l, c = rnn_bptt.forward(p, x, y, m)
        alone += l * m.sum() / total
        for k, v in rnn_bptt.backward(p, c, x, y, m).items():
            sums[k] += v * m.sum() / total
    assert abs(loss - alone) < 1e-14
    for k in p:
        assert np.allclose(g[k], sums[k], rtol=1e-12, atol=1e-15), k


def test_short_run_shows_the_leak(call, names_txt, tmp_path):
    code, out, _ = call(rnn_bptt.main, "--steps", 300, "--n-hidden", 32, "--out", tmp_path, "--checkpoint",
                        tmp_path / "r.npz")
    assert code == 0 and "BPTT vs central differences: all 6 tensors OK" in out
    r = json.loads((tmp_path / "rnn_bptt.json").read_text())
    f = r["factors"]
    assert f["radius 0.5"] < 0.7 < f["radius 1.0"] < 1.05 < f["radius 1.5"] and "trained" in f
    assert r["val_loss"] < 2.9 and len(r["samples"]) == 20
    for png in ("rnn_bptt_leak", "rnn_bptt_loss"):
        assert os.path.getsize(tmp_path / f"{png}.png") > 10_000
    assert "itos" in np.load(tmp_path / "r.npz").files


def test_the_model_in_the_script_is_lib_recurrents_copy():
    """rnn_bptt.py shows its model (init, forward, backward, one sampling step); lstm_bptt.py trains the same RNN
    as its baseline from lib/recurrent.py: the two copies are one source, statement for statement."""
    from lib import recurrent
    for name in ("init", "forward", "backward", "rnn_step"):
        ours, theirs = ([ast.dump(s) for s in ast.parse(textwrap.dedent(inspect.getsource(getattr(m, name))))
                         .body[0].body[1:]] for m in (rnn_bptt, recurrent))  # the statements, docstring aside
        assert ours == theirs, name
    assert rnn_bptt.n_embd == recurrent.n_embd == 16


def test_a_hand_damaged_checkpoint_is_one_line_on_resume(call, names_txt, tmp_path):
    code, _, _ = call(rnn_bptt.main, "--steps", 30, "--n-hidden", 8, "--out", tmp_path, "--checkpoint",
                      tmp_path / "r.npz")
    assert code == 0
    good = dict(np.load(tmp_path / "r.npz"))
    for damage in (dict(config="not json"), dict(config=json.dumps({"lr": 0.5})), dict(lossi=np.array(["a", "b"])),
                   dict(Whh=np.zeros((3, 3))), dict(norms=np.zeros(2))):
        np.savez(tmp_path / "bad.npz", **{**good, **damage})
        code, out, err = call(rnn_bptt.main, "--resume", "--steps", 60, "--out", tmp_path, "--checkpoint",
                              tmp_path / "bad.npz")
        assert code == 2 and "is damaged" in err and err.count("\n") == 1, (damage, err)
