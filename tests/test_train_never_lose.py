"""Never lose what was written, in the corners: a closed terminal (SIGHUP), a checkpoint path that turns into a
folder mid-run, a disk that fills at the final save or under a plot; and the one-line notes and refusals."""
import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

import practice
import train
from lib import checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMALL = ["--n-hidden", "16", "--n-embd", "4"]


@pytest.mark.parametrize("script, args, after", [
    ("train", SMALL + ["--steps", 1000000, "--log-every", 100], "steps/s"),
    ("rnn_bptt", ("--steps", 3000, "--n-hidden", 8), "      0/"),
    ("lstm_bptt", ("--steps", 3000, "--n-hidden", 16, "--recall-steps", 20), "      0/"),
])
def test_a_closed_terminal_saves_and_leaves_no_lock(names_txt, tmp_path, script, args, after):
    ckpt = tmp_path / "c.npz"
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", f"{script}.py"), *map(str, args), "--out",
                          str(tmp_path), "--checkpoint", str(ckpt)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    for line in p.stdout:
        if after in line:
            p.send_signal(signal.SIGHUP)
            break
    _, err = p.communicate(timeout=120)
    assert p.returncode == 129 and "hung up" in err and "Traceback" not in err, err
    assert ckpt.exists() and not [f for f in os.listdir(tmp_path) if f.endswith(".lock")]
    if script != "lstm_bptt":
        assert "--resume" in err.split("continue with: ")[1]


def _turns_into_a_folder(monkeypatch, path, at_call):
    """From the at_call-th loss of train.py's loop on, path is a folder (made by something else mid-run)."""
    calls = [0]
    forward = train.cross_entropy_forward

    def forward_then_folder(*args):
        calls[0] += 1
        if calls[0] == at_call:
            if path.exists():
                path.unlink()
            path.mkdir()
        return forward(*args)
    monkeypatch.setattr(train, "cross_entropy_forward", forward_then_folder)


@pytest.mark.parametrize("earlier", [False, True])
def test_a_checkpoint_that_becomes_a_folder_mid_run_is_one_line(call, names_txt, tmp_path, monkeypatch, earlier):
    ckpt = tmp_path / "m.npz"
    if earlier:  # a new run beside a finished model: its model is moved over that one at the end
        assert call(train.main, *SMALL, "--steps", 50, "--out", tmp_path, "--checkpoint", ckpt)[0] == 0
    _turns_into_a_folder(monkeypatch, ckpt, 50)
    code, out, err = call(train.main, *SMALL, "--steps", 400, "--save-every", 100, "--out", tmp_path, "--checkpoint",
                          ckpt)
    assert code == 1 and "Traceback" not in err and ckpt.is_dir()
    lines = err.splitlines()
    assert all(line.startswith("error: could not ") and str(ckpt) in line for line in lines) and lines, err
    assert json.loads((tmp_path / ("train_unfinished.json" if earlier else "train.json")).read_text())["steps"] == 400
    if earlier:  # the model is kept where it was saved, and the line says so
        assert "the model is in" in lines[-1] and int(np.load(tmp_path / "m.new.npz")["step"]) == 400


def test_a_full_disk_at_the_final_save_keeps_the_finished_runs_figures(call, names_txt, tmp_path, monkeypatch):
    ckpt = tmp_path / "m.npz"
    assert call(train.main, *SMALL, "--steps", 60, "--out", tmp_path, "--checkpoint", ckpt)[0] == 0
    earlier, model = (tmp_path / "train.json").read_text(), ckpt.read_bytes()

    def full_disk(f, **arrays):
        f.write(b"partial")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoint.np, "savez", full_disk)
    code, _, err = call(train.main, *SMALL, "--steps", 80, "--out", tmp_path, "--checkpoint", ckpt)
    assert code == 1 and "No space left on device" in err and err.count("\n") == 1
    assert ckpt.read_bytes() == model and (tmp_path / "train.json").read_text() == earlier  # the two still agree
    unsaved = json.loads((tmp_path / "train_unfinished.json").read_text())
    assert unsaved["steps"] == 80 and unsaved["checkpoint_saved"] is False
    assert (tmp_path / "train_unfinished_loss.png").exists()


PLOT_ON_A_FULL_DISK = """
import resource, sys
sys.path.insert(0, {root!r})
from lib.cli import OutputError
from lib.plotting import plt, save
resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))  # no file may grow past 4000 bytes: a disk that fills
fig, ax = plt.subplots()
ax.plot(range(100))
try:
    save(fig, sys.argv[1], "plot")
except OutputError as e:
    print(e)
"""


def test_a_plot_on_a_full_disk_is_whole_or_not_at_all(tmp_path):
    (tmp_path / "plot.png").write_bytes(b"the earlier plot")
    p = subprocess.run([sys.executable, "-c", PLOT_ON_A_FULL_DISK.format(root=ROOT), str(tmp_path)],
                       capture_output=True, text=True)
    assert p.stdout.startswith(f"cannot write {tmp_path / 'plot.png'} (File too large)"), p.stdout + p.stderr
    assert (tmp_path / "plot.png").read_bytes() == b"the earlier plot" and os.listdir(tmp_path) == ["plot.png"]
    assert resource.getrlimit(resource.RLIMIT_FSIZE)  # (the limit was the child's alone)


def test_a_batch_the_size_of_the_training_set_gets_a_note(call, names_txt, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(["anna", "bob", "abba", "nab", "ban"] * 20))
    code, out, _ = call(train.main, *SMALL, "--steps", 5, "--data", words, "--out", tmp_path, "--checkpoint",
                        tmp_path / "m.npz")
    n = int(out.split("data: ")[1].split()[0])
    code, out, _ = call(train.main, *SMALL, "--steps", 5, "--batch-size", n, "--data", words, "--out", tmp_path,
                        "--checkpoint", tmp_path / "m2.npz")
    assert code == 0 and f"note: --batch-size {n} is the whole training set's size" in out
    code, _, err = call(train.main, *SMALL, "--steps", 5, "--batch-size", n + 1, "--data", words, "--out", tmp_path,
                        "--checkpoint", tmp_path / "m3.npz")
    assert code == 2 and f"is larger than the {n} training examples" in err


def test_practice_new_writes_the_kind_its_path_names(call, tmp_path):
    code, out, err = call(practice.main, "new", "ex2", "--notebook", "--to", tmp_path / "x.py")
    assert code == 2 and "is not named .ipynb" in err and err.count("\n") == 1 and not (tmp_path / "x.py").exists()
    code, _, _ = call(practice.main, "new", "ex2", "--to", tmp_path / "x.ipynb")  # the name says notebook
    assert code == 0 and json.loads((tmp_path / "x.ipynb").read_text())["nbformat"] == 4
    code, _, _ = call(practice.main, "new", "ex2", "--to", tmp_path / "x.py")
    assert code == 0 and (tmp_path / "x.py").read_text().startswith("#")
