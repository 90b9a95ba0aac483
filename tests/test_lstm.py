"""The LSTM's hand backward through time: checked, a dropped branch caught, and what the cell carries."""
import json

import numpy as np

import lstm_bptt
from lib import recurrent


def test_bptt_matches_central_differences_on_every_tensor():
    rows = lstm_bptt.gradient_check(np.random.default_rng(0))
    assert [r["name"] for r in rows] == ["dC", "dWx", "dWh", "db", "dWhy", "dby"]
    assert all(r["ok"] for r in rows) and max(r["rel"] for r in rows) < 1e-8


def test_dropping_the_carried_dc_or_dh_is_caught():
    for drop in (dict(carry_c=False), dict(carry_h=False)):
        rows = lstm_bptt.gradient_check(np.random.default_rng(0), lambda *a, drop=drop: lstm_bptt.backward(*a, **drop))
        bad = {r["name"] for r in rows if not r["ok"]}
        assert {"dWh", "dWx", "db"} <= bad and "dWhy" not in bad, (drop, bad)  # the output layer sees no time


def test_float32_training_follows_the_float64_gradient():
    rng = np.random.default_rng(1)
    p64 = lstm_bptt.init(27, rng, n_hidden=16)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    X, Y, mask = recurrent.batch_of(["emma", "olivia", "ava"], {c: i for i,
                                                                c in enumerate(".abcdefghijklmnopqrstuvwxyz")})
    g64 = lstm_bptt.backward(p64, lstm_bptt.forward(p64, X, Y, mask)[1], X, Y, mask)
    g32 = lstm_bptt.backward(p32, lstm_bptt.forward(p32, X, Y, mask)[1], X, Y, mask)
    assert all(g32[k].dtype == np.float32 and np.allclose(g32[k], g64[k], rtol=1e-3, atol=1e-6) for k in g64)


def test_the_cell_path_alone_is_the_forget_gates_product():
    """With the hidden path dropped, dloss/dc_t is dloss/dc_T times f_T ... f_{t+1}, element by element."""
    rng = np.random.default_rng(2)
    p = lstm_bptt.init(17, rng, n_hidden=8, forget_bias=1.0)
    X, Y, mask = lstm_bptt.recall_batch(rng, 4, 6)
    cache = lstm_bptt.forward(p, X, Y, mask)[1]
    _, _, dcs = lstm_bptt.backward(p, cache, X, Y, mask, keep=True, carry_h=False)
    f = cache[3][:, :, 8:16]  # the forget gates, (T, B, H)
    assert np.allclose(dcs[2], dcs[-1] * np.prod(f[3:], axis=0))


def test_a_short_recall_run_an_open_gate_solves_and_a_vanilla_rnn_does_not():
    open_gate = lstm_bptt.train_recall("open", 40, 400, seed=0)
    rnn = lstm_bptt.train_recall("rnn", 40, 400, seed=0)
    assert open_gate["accuracy"] >= 0.99 and rnn["accuracy"] < 0.5, (open_gate["accuracy"], rnn["accuracy"])


def test_the_script_end_to_end(call, names_txt, tmp_path):
    (tmp_path / "rnn_bptt.json").write_text('{"val_loss": 2.0')  # rnn_bptt.py's file, truncated: not ours to fail on
    code, out, _ = call(lstm_bptt.main, "--steps", 30, "--recall-steps", 20, "--n-hidden", 16, "--out", tmp_path,
                        "--checkpoint", tmp_path / "lstm.npz")
    assert code == 0 and "all 6 tensors OK" in out and "4 of 6 rows fail" in out
    result = json.loads((tmp_path / "lstm_bptt.json").read_text())
    assert set(result["recall"]) == {"rnn", "lstm", "open"}  # keyed by model, not by its label
    assert list(result["recall"]["rnn"]) == ["20", "100"] and 2.5 < result["val_loss"] < 3.4
    assert all((tmp_path / f"lstm_bptt_{k}.png").stat().st_size > 10_000 for k in ("through_time", "recall", "loss"))
    assert (tmp_path / "lstm.npz").exists() and "holds an earlier model" not in out
    for damaged in (b"", b"\xef\xbb\xbf{\"val_loss\": 2.0231}", b'{"val_loss": "2.02"}', b"[1, 2]"):
        (tmp_path / "rnn_bptt.json").write_bytes(damaged)
        assert lstm_bptt.rnn_val_loss(tmp_path / "rnn_bptt.json") == (2.0231 if damaged.startswith(b"\xef") else None)


def test_a_stopped_run_never_replaces_a_finished_model(names_txt, tmp_path):
    import signal
    import subprocess
    import sys
    (tmp_path / "l.npz").write_bytes(b"a finished model")
    p = subprocess.Popen([sys.executable, lstm_bptt.__file__, "--steps", "3000", "--n-hidden", "16", "--recall-steps",
                          "20", "--out", str(tmp_path), "--checkpoint", str(tmp_path / "l.npz")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith(f"{tmp_path / 'l.npz'} holds an earlier model")
    for line in p.stdout:
        if "      0/" in line:
            p.send_signal(signal.SIGTERM)
            break
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143 and (tmp_path / "l.npz").read_bytes() == b"a finished model"
    assert "the earlier model, is untouched" in err and (tmp_path / "l.new.npz").exists()
