"""A resume that resumes into the model: a run stopped beside a finished model and resumed from the line it printed
ends in the model file the user asked for (the one sample.py and a later --resume read), bit for bit the run never
stopped; no .new files pile up; two runs on one model never share a file (train.py and rnn_bptt.py)."""
import os
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest

import rnn_bptt
import train

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMALL = ["--n-hidden", "16", "--n-embd", "4"]
RNN = ["--n-hidden", "8"]
MAIN = {"train": train.main, "rnn_bptt": rnn_bptt.main}  # in-process where no signal is sent: no start-up to pay
KEYS = {"train": ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "bnmean", "bnvar", "lossi", "step"),
        "rnn_bptt": ("C", "Wxh", "Whh", "bh", "Why", "by", "lossi", "norms")}


def command(script, *args):
    return [sys.executable, os.path.join(ROOT, "scripts", f"{script}.py"), *map(str, args)]


def start(script, *args):
    return subprocess.Popen(command(script, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


def first_line(p):
    return p.stdout.readline()


def stop(p, after, signum=signal.SIGINT):
    """Signal p once its output shows `after`; its stderr."""
    for line in p.stdout:
        if after in line:
            p.send_signal(signum)
            break
    _, err = p.communicate(timeout=120)
    return err


def pasted(err, steps):
    """The printed continue-with line, its --steps set, run as the user would paste it (from the repository)."""
    hint = shlex.split(err.split("continue with: ")[1])
    hint[hint.index("--steps") + 1] = str(steps)
    return subprocess.run([sys.executable, *hint[1:]], capture_output=True, text=True, cwd=ROOT)


def new_files(folder):
    return sorted(f for f in os.listdir(folder) if ".new" in f)


@pytest.mark.parametrize("script, args, after", [
    ("train", SMALL + ["--log-every", "100"], "steps/s"),
    ("rnn_bptt", RNN, "      0/"),
])
def test_a_stopped_run_beside_a_model_resumes_into_it(call, names_txt, tmp_path, script, args, after):
    model, out = tmp_path / "m.npz", ["--out", tmp_path]
    assert call(MAIN[script], *args, "--steps", 100, *out, "--checkpoint", model)[0] == 0
    p = start(script, *args, "--steps", 100000, *out, "--checkpoint", model)
    assert first_line(p).startswith(f"{model} holds an earlier model")
    err = stop(p, after)
    assert p.returncode == 130 and "the earlier model, is untouched" in err, err
    stopped = len(np.load(tmp_path / "m.new.npz")["lossi"])
    finished = stopped + 40
    q = pasted(err, finished)
    assert q.returncode == 0, q.stderr
    assert q.stdout.startswith(f"{tmp_path / 'm.new.npz'} is a run of {model}: finished, it replaces {model}")
    assert new_files(tmp_path) == []  # the run's file went into the model
    whole = tmp_path / "whole.npz"
    assert call(MAIN[script], *args, "--steps", finished, "--out", tmp_path / "w", "--checkpoint", whole)[0] == 0
    a, b = np.load(model), np.load(whole)
    assert all(np.array_equal(a[k], b[k]) for k in KEYS[script])  # the model file holds the resumed run, bit for bit


def test_no_new_files_pile_up(call, names_txt, tmp_path):
    """A run stopped beside a model leaves one file; the next new run takes it over (it says so first), and once a
    run finishes there is none."""
    model, args = tmp_path / "m.npz", SMALL + ["--log-every", "100", "--out", tmp_path, "--checkpoint", tmp_path
                                               / "m.npz"]
    assert call(train.main, *args, "--steps", 100)[0] == 0
    for k in range(2):
        p = start("train", *args, "--steps", 100000)
        line = first_line(p)
        assert ("an unfinished run of it that no run is writing, is replaced" in line) == (k == 1), line
        assert stop(p, "steps/s") and p.returncode == 130
        assert new_files(tmp_path) == ["m.new.npz"]
    code, out, _ = call(train.main, *args, "--steps", 100)
    assert code == 0 and "is replaced" in out and new_files(tmp_path) == []
    assert int(np.load(model)["step"]) == 100 and not [f for f in os.listdir(tmp_path) if f.endswith(".lock")]


@pytest.mark.parametrize("script, args, after", [
    ("train", SMALL + ["--log-every", "100"], "steps/s"),
    ("rnn_bptt", RNN, "      0/"),
])
def test_two_new_runs_on_one_model_never_share_a_file(call, names_txt, tmp_path, script, args, after):
    """The second run starts while the first runs: it saves to a file of its own, so that the first one's resume
    line still names its own model, whatever the second does (here it finishes first)."""
    model, out = tmp_path / "m.npz", ["--out", tmp_path]
    assert call(MAIN[script], *args, "--steps", 100, *out, "--checkpoint", model)[0] == 0
    first = start(script, *args, "--steps", 100000, *out, "--checkpoint", model)
    assert f"saves go to {tmp_path / 'm.new.npz'}" in first_line(first)
    second = start(script, *args, "--steps", 60, "--out", tmp_path / "b", "--checkpoint", model)
    assert f"saves go to {tmp_path / 'm.new2.npz'}" in first_line(second)
    second.communicate(timeout=120)
    assert second.returncode == 0 and len(np.load(model)["lossi"]) == 60  # the second one's model, finished
    err = stop(first, after)
    assert first.returncode == 130 and str(tmp_path / "m.new.npz") in err.split("continue with: ")[1]
    stopped = len(np.load(tmp_path / "m.new.npz")["lossi"])
    hint = shlex.split(err.split("continue with: ")[1])
    hint[hint.index("--steps") + 1] = str(stopped + 20)
    assert call(MAIN[script], *hint[2:])[0] == 0  # the line, in-process
    assert len(np.load(model)["lossi"]) == stopped + 20 and new_files(tmp_path) == []


def test_a_user_file_named_like_a_runs_is_left_alone(call, names_txt, tmp_path):
    import train
    (tmp_path / "m.npz").write_bytes(b"a finished model")
    (tmp_path / "m.new.npz").write_bytes(b"the user's own file")
    p = start("train", *SMALL, "--steps", 100000, "--log-every", 100, "--out", tmp_path, "--checkpoint",
              tmp_path / "m.npz")
    assert f"saves go to {tmp_path / 'm.new2.npz'}" in first_line(p)
    stop(p, "steps/s")
    assert (tmp_path / "m.new.npz").read_bytes() == b"the user's own file"
    assert (tmp_path / "m.npz").read_bytes() == b"a finished model" and (tmp_path / "m.new2.npz").exists()
    code, _, _ = call(train.main, *SMALL, "--steps", 50, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 0 and (tmp_path / "m.new.npz").read_bytes() == b"the user's own file"
