import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import sample
import train
from lib.checkpoint import MODEL_KEYS
from lib.lecture import PARAMS
from lib.model import logits_eval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ("--n-hidden", 16, "--n-embd", 4, "--log-every", 100)


def train_run(call, tmp_path, name, *extra):
    out = tmp_path / name
    ckpt = out / "model.npz"
    code, stdout, stderr = call(train.main, *SMALL, "--out", out, "--checkpoint", ckpt, *extra)
    return code, stdout, stderr, out, ckpt


def test_short_run_learns_and_writes_everything(call, names_txt, tmp_path):
    code, out, _, folder, ckpt = train_run(call, tmp_path, "a", "--steps", 600, "--decay-at", 400)
    assert code == 0
    assert out.count("gradient check at step") == 2 and "FAILED" not in out
    r = json.loads((folder / "train.json").read_text())
    for key in ("train_loss", "val_loss", "test_loss", "steps", "seconds", "us_per_step", "samples"):
        assert key in r
    assert r["steps"] == 600 and len(r["samples"]) == 20 and r["us_per_step"] > 0
    assert r["val_loss"] < 2.9 < np.log(27)  # from 3.3 at init: it learned
    z = np.load(ckpt)
    lossi = z["lossi"]
    assert len(lossi) == 600 and lossi[-100:].mean() < lossi[:100].mean() - 0.4
    for png in ("loss", "tanh_hist", "saturation", "grad_hist", "update_ratio"):
        assert os.path.getsize(folder / f"train_{png}.png") > 10_000


def test_checkpoint_is_self_contained(call, names_txt, tmp_path):
    code, out, _, folder, ckpt = train_run(call, tmp_path, "a", "--steps", 200)
    assert code == 0
    z = np.load(ckpt, allow_pickle=False)
    for key in MODEL_KEYS:
        assert key in z.files
    assert list(z["itos"][:3]) == [".", "a", "b"] and len(z["itos"]) == 27
    # the val loss from the checkpoint alone, with plain numpy, matches train.json
    from lib.data import load_splits
    _, _, (_, (Xva, Yva), _) = load_splits(3)
    params = {k: z[k].astype(np.float64) for k in PARAMS}
    logits = logits_eval(params, Xva, z["bnmean"], z["bnvar"])
    logits -= logits.max(1, keepdims=True)
    val = (np.log(np.exp(logits).sum(1)) - logits[np.arange(len(Yva)), Yva]).mean()
    assert val == pytest.approx(json.loads((folder / "train.json").read_text())["val_loss"], rel=1e-5)
    # and sample.py reads it
    code, names, _ = call(sample.main, "--checkpoint", ckpt, "-n", 5, "--seed", 1)
    assert code == 0 and len(names.split()) == 5
    assert call(sample.main, "--checkpoint", ckpt, "-n", 5, "--seed", 1)[1] == names
    code, cold, _ = call(sample.main, "--checkpoint", ckpt, "-n", 50, "--temperature", 0.01)
    assert len(set(cold.split())) < 5  # at temperature ~0 the model repeats its favourite names


def test_same_seed_same_bits(call, names_txt, tmp_path):
    runs = [train_run(call, tmp_path, name, "--steps", 250) for name in ("a", "b")]
    za, zb = (np.load(r[4]) for r in runs)
    assert np.array_equal(za["lossi"], zb["lossi"])
    for k in PARAMS + ("bnmean", "bnvar"):
        assert np.array_equal(za[k], zb[k])
    other = np.load(train_run(call, tmp_path, "c", "--steps", 250, "--seed", 7)[4])
    assert not np.array_equal(other["lossi"], za["lossi"])


def test_resume_is_bit_identical(call, names_txt, tmp_path):
    full = np.load(train_run(call, tmp_path, "full", "--steps", 1500, "--decay-at", 1100)[4])
    code, _, _, folder, ckpt = train_run(call, tmp_path, "half", "--steps", 700, "--decay-at", 1100)
    assert code == 0
    code, out, _ = call(train.main, "--resume", "--steps", 1500, "--checkpoint", ckpt, "--out", folder, "--log-every",
                        100)
    assert code == 0 and "resuming from step 700" in out
    resumed = np.load(ckpt)
    assert np.array_equal(resumed["lossi"], full["lossi"]) and np.array_equal(resumed["ud"], full["ud"])
    for k in PARAMS:
        assert np.array_equal(resumed[k], full[k])


def test_nan_guard_keeps_what_was_written(call, names_txt, tmp_path):
    code, _, _, folder, ckpt = train_run(call, tmp_path, "a", "--steps", 100)
    good = ckpt.read_bytes()
    (folder / "train.json").unlink()
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "train.py"), *map(str, SMALL), "--steps", "500",
                        "--lr", "1e30", "--out", str(folder), "--checkpoint", str(ckpt)], capture_output=True,
                            text=True)
    assert p.returncode == 1
    assert "the loss became" in p.stderr and "lower --lr" in p.stderr and p.stderr.count("\n") == 1
    assert ckpt.read_bytes() == good  # the last good checkpoint is kept as it was
    assert os.path.getsize(folder / "train_loss.png") > 5_000 and not (folder / "train.json").exists()


def test_ctrl_c_saves_and_resume_finishes(names_txt, tmp_path):
    ckpt = tmp_path / "model.npz"
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "train.py"), *map(str, SMALL), "--steps", "400000",
           "--out", str(tmp_path), "--checkpoint", str(ckpt)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:  # wait for training to be under way
        if "steps/s" in line:
            break
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted at step" in err and "Traceback" not in err
    z = np.load(ckpt)
    step = int(z["step"])
    assert 0 < step < 400000 and len(z["lossi"]) == step
    assert os.path.getsize(tmp_path / "train_loss.png") > 5_000


def test_corrupt_and_foreign_checkpoints(call, names_txt, tmp_path):
    code, _, _, folder, ckpt = train_run(call, tmp_path, "a", "--steps", 100)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(ckpt.read_bytes()[:2000])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    for bad, message in ((truncated, "not a readable checkpoint"), (foreign, "not a checkpoint of this model"),
                         (tmp_path / "missing.npz", "no checkpoint at")):
        code, _, err = call(sample.main, "--checkpoint", bad)
        assert code == 2 and message in err and err.count("\n") == 1
        code, _, err = call(train.main, "--resume", "--checkpoint", bad, "--out", folder)
        assert code == 2 and message in err
    # a model checkpoint is not a resumable one when it lacks the training state
    sample_only = tmp_path / "sample_only.npz"
    z = np.load(ckpt)
    np.savez(sample_only, **{k: z[k] for k in MODEL_KEYS})
    code, _, err = call(train.main, "--resume", "--checkpoint", sample_only, "--out", folder)
    assert code == 2 and "missing config, step, lossi, ud" in err
    code, _, err = call(train.main, "--resume", "--checkpoint", ckpt, "--steps", 50, "--out", folder)
    assert code == 2 and "already at step 100" in err


@pytest.mark.parametrize("args, message", [
    (("--batch-size", 1), "--batch-size must be >= 2"),
    (("--steps", 0), "must be > 0"),
    (("--n-hidden", -3), "must be > 0"),
    (("--n-embd", 0), "must be > 0"),
    (("--block-size", 0), "must be > 0"),
    (("--lr", 0), "must be > 0"),
    (("--lr", "-0.1"), "must be > 0"),
    (("--dtype", "float16"), "invalid choice"),
])
def test_bad_input(call, names_txt, tmp_path, args, message):
    code, out, err = call(train.main, *args, "--out", tmp_path / "o", "--checkpoint", tmp_path / "m.npz")
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_unwritable_out_is_refused_before_any_work(call, names_txt, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = call(train.main, "--out", blocker / "plots")
    assert code == 2 and "cannot write to --out" in err and out == ""


def test_batch_size_2_passes_its_checks(call, names_txt, tmp_path):
    """A correct run at batch size 2 (the lecture's smallest batch for Bessel's n-1) passes every
    gradient check: its final check used to fail dC and dW1 on differences of 1e-12."""
    code, out, _ = call(train.main, "--batch-size", 2, "--steps", 2000, "--out", tmp_path, "--checkpoint",
                        tmp_path / "m.npz")
    assert code == 0 and "NOT OK" not in out
    assert "gradient check at step 2000 (3 random directions per tensor): all 7" in out
