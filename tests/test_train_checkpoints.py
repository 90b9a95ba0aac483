"""A run never lies and never loses work: signals at chosen moments, divergence that stays
finite, two writers, a failed save, messages that point the right way, output streams."""
import json
import multiprocessing
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ex1_backprop_by_hand as ex1
import ex2_cross_entropy as ex2
import results
import sample
import train
from lib import checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = [sys.executable, os.path.join(ROOT, "scripts", "train.py")]
SMALL = ["--n-hidden", "16", "--n-embd", "4"]


def start(tmp_path, *args):
    return subprocess.Popen(TRAIN + SMALL + ["--out", str(tmp_path), "--checkpoint", str(tmp_path / "m.npz"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(p, words):
    for line in p.stdout:
        if words in line:
            return line
    raise AssertionError(f"never printed {words!r}: {p.stderr.read()}")


def test_ctrl_c_after_the_last_step_keeps_the_trained_model(names_txt, tmp_path):
    # the lecture's width: what follows the last step (check, evaluation, plots) takes a second or two
    p = subprocess.Popen(TRAIN + ["--steps", "300", "--log-every", "100", "--out", str(tmp_path),
                                  "--checkpoint", str(tmp_path / "m.npz")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_for(p, "checking the gradients numerically at step 300")
    p.send_signal(signal.SIGINT)  # the check, the evaluation and the plots are still to come
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err
    assert "holds the trained model (step 300)" in err and "sample.py --checkpoint" in err
    assert err.strip().count("\n") == 0
    assert int(np.load(tmp_path / "m.npz")["step"]) == 300


def test_sigterm_finishes_the_step_saves_and_says_how_to_resume(names_txt, tmp_path):
    p = start(tmp_path, "--steps", "400000", "--log-every", "1000")
    wait_for(p, "steps/s")
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and "terminated at step" in err and "Traceback" not in err
    step = int(np.load(tmp_path / "m.npz")["step"])
    hint = err.split("continue with: ")[1].split()
    assert "--checkpoint" in hint and str(tmp_path / "m.npz") in hint and "--resume" in hint
    # following the hint literally works
    hint[hint.index("--steps") + 1] = str(step + 50)
    q = subprocess.run([sys.executable] + [os.path.join(ROOT, h) if h.startswith("scripts/") else h for h in hint[1:]],
                       capture_output=True, text=True, cwd=ROOT)
    assert q.returncode == 0, q.stderr
    assert int(np.load(tmp_path / "m.npz")["step"]) == step + 50


def test_sigkill_after_a_periodic_save_leaves_it_whole(names_txt, tmp_path):
    """--save-every stands on its own: no progress line is due, the checkpoint is still written."""
    p = start(tmp_path, "--steps", "1000000", "--log-every", "1000000", "--save-every", "500")
    deadline = time.time() + 60
    while not (tmp_path / "m.npz").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    z = checkpoint.load(str(tmp_path / "m.npz"), checkpoint.MODEL_KEYS + ("step",))
    assert int(z["step"]) % 500 == 0 and int(z["step"]) >= 500
    assert len([f for f in os.listdir(tmp_path) if f.endswith(".tmp")]) <= 1  # a kill mid-save may leave one, no more


def test_check_every_stands_on_its_own(call, names_txt, tmp_path):
    code, out, _ = call(train.main, *SMALL, "--steps", 3000, "--log-every", 5000, "--check-every", 700,
                        "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 0
    assert [int(line.split("step ")[1].split()[0].rstrip(":")) for line in out.splitlines()
            if line.startswith("gradient check at step")] == [0, 700, 1400, 2100, 2800, 3000]


def test_divergence_that_stays_finite_fails_and_keeps_the_good_checkpoint(call, names_txt, tmp_path):
    code, _, _ = call(train.main, *SMALL, "--steps", 200, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    good = (tmp_path / "m.npz").read_bytes()
    code, out, err = call(train.main, *SMALL, "--steps", 3000, "--lr", 10, "--save-every", 100,
                          "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 1 and "the run diverged" in err and "averaged above" in err and err.count("\n") == 1
    assert (tmp_path / "m.npz").read_bytes() == good  # the finished model, never replaced by a run that diverged
    finished = json.loads((tmp_path / "train.json").read_text())
    assert finished["steps"] == 200 and (tmp_path / "train_unfinished_loss.png").exists()  # its outputs kept too


def test_resuming_a_checkpoint_with_an_absurd_lr_is_caught(call, names_txt, tmp_path):
    code, _, _ = call(train.main, *SMALL, "--steps", 200, "--lr", 1e6, "--out", tmp_path, "--checkpoint", tmp_path
                      / "m.npz")
    assert code == 1
    code, _, _ = call(train.main, *SMALL, "--steps", 100, "--out", tmp_path, "--checkpoint", tmp_path / "ok.npz")
    z = dict(np.load(tmp_path / "ok.npz"))
    config = json.loads(str(z["config"]))
    config["learning_rate"] = 1e6
    np.savez(tmp_path / "bad_lr.npz", **dict(z, config=json.dumps(config)))
    before = (tmp_path / "bad_lr.npz").read_bytes()
    code, _, err = call(train.main, "--resume", "--steps", 2000, "--out", tmp_path, "--checkpoint", tmp_path
                        / "bad_lr.npz")
    assert code == 1 and "comes from" in err and (tmp_path / "bad_lr.npz").read_bytes() == before


def _save_big(path, value):
    for _ in range(3):
        checkpoint.save(path, {"w": np.full(4_000_000, value, np.float64)})


def test_two_writers_never_break_the_checkpoint(tmp_path):
    path = str(tmp_path / "m.npz")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_save_big, args=(path, v)) for v in (1.0, 2.0)]
    for q in procs:
        q.start()
    for q in procs:
        q.join()
    w = np.load(path)["w"]
    assert w[0] in (1.0, 2.0) and (w == w[0]).all()
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_a_second_run_on_the_same_checkpoint_is_told(call, names_txt, tmp_path):
    p = start(tmp_path, "--steps", "400000", "--log-every", "1000")
    try:
        wait_for(p, "steps/s")
        code, _, err = call(train.main, *SMALL, "--steps", 50, "--out", tmp_path / "b", "--checkpoint", tmp_path
                            / "m.npz")
        assert code == 0 and f"another run (pid {p.pid}) is writing" in err
    finally:
        p.kill()
        p.communicate()


def test_a_failed_save_is_one_line_and_the_rest_is_written(call, names_txt, tmp_path, monkeypatch):
    (tmp_path / "m.npz").write_bytes(b"the old checkpoint")

    def full_disk(f, **arrays):
        f.write(b"partial")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoint.np, "savez", full_disk)
    code, out, err = call(train.main, *SMALL, "--steps", 100, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 1 and "could not save" in err and "No space left on device" in err and err.count("\n") == 1
    assert (tmp_path / "m.npz").read_bytes() == b"the old checkpoint"
    assert (tmp_path / "train.json").exists() and (tmp_path / "train_loss.png").exists()
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
    assert out.splitlines()[-1].endswith("the checkpoint could NOT be saved: could not save "
                                         f"{tmp_path / 'm.new.npz'} (No space left on device)")


def test_messages_point_the_right_way(call, names_txt, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = call(train.main, "--checkpoint", blocker / "m.npz", "--out", tmp_path)
    assert code == 2 and "--checkpoint" in err and "--out" not in err
    code, _, err = call(train.main, "--checkpoint", tmp_path, "--out", tmp_path)
    assert code == 2 and "is a folder" in err
    code, _, err = call(results.main, "--out", tmp_path / "empty", "--results", tmp_path / "r.md")
    assert code == 2 and "found no results" in err
    # a checkpoint remembers its word list: resuming with another of the same vocabulary is refused
    words = tmp_path / "words.txt"
    words.write_text("\n".join(["anna", "bob", "abba", "nab"] * 50))
    code, _, _ = call(train.main, *SMALL, "--steps", 50, "--data", words, "--out", tmp_path, "--checkpoint",
                      tmp_path / "w.npz")
    assert code == 0
    other = tmp_path / "other.txt"
    other.write_text("\n".join(["nana", "bab", "baba", "ab"] * 50))
    code, _, err = call(train.main, "--resume", "--steps", 80, "--data", other, "--out", tmp_path,
                        "--checkpoint", tmp_path / "w.npz")
    assert code == 2 and "another word list" in err



def test_a_dump_names_the_file_np_savez_wrote(call, names_txt, tmp_path):
    for main, args in ((ex1.main, ("--batch-size", 4, "--n-hidden", 8)), (ex2.main, ("--batch-size", 4))):
        dump = tmp_path / main.__module__  # no .npz: np.savez appends it
        code, out, _ = call(main, *args, "--dump", dump, "--out", tmp_path)
        assert code == 0 and f"to {dump}.npz\n" in out and os.path.exists(f"{dump}.npz")


def test_an_unfinished_run_never_touches_a_finished_one(call, names_txt, tmp_path):
    """A new run beside a finished model and its outputs: until it finishes it saves beside them; stopped
    (here: diverged), it leaves them as they were and says where its own things are. Finished, it replaces them."""
    (tmp_path / "train.json").write_text('{"steps": 30000}')
    (tmp_path / "train_grad_hist.png").write_bytes(b"old")
    (tmp_path / "m.npz").write_bytes(b"a finished model")
    code, out, err = call(train.main, *SMALL, "--steps", 100, "--lr", 1e30, "--out", tmp_path, "--checkpoint",
                          tmp_path / "m.npz")
    assert code == 1 and out.splitlines()[0].startswith(f"{tmp_path / 'm.npz'} holds an earlier model: it stays")
    assert out.count("holds an earlier model") == 1  # said once, first
    assert (tmp_path / "m.npz").read_bytes() == b"a finished model"
    assert (tmp_path / "train.json").read_text() == '{"steps": 30000}' and (tmp_path / "train_grad_hist.png").exists()
    assert (tmp_path / "train_unfinished_loss.png").exists()  # this run's plot so far, beside
    code, out, _ = call(train.main, *SMALL, "--steps", 100, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 0 and int(np.load(tmp_path / "m.npz")["step"]) == 100 and not (tmp_path / "m.new.npz").exists()
    code, out, _ = call(train.main, *SMALL, "--steps", 100, "--out", tmp_path, "--checkpoint", tmp_path / "fresh.npz")
    assert code == 0 and out.startswith("data: ")  # nothing there: nothing to say before the work
    assert json.loads((tmp_path / "train.json").read_text())["steps"] == 100
    assert not [f for f in os.listdir(tmp_path) if f.startswith("train_unfinished")]


def test_an_interrupted_new_run_keeps_the_finished_model_and_says_how_to_go_on(names_txt, tmp_path):
    folder = tmp_path / "a folder with spaces"
    folder.mkdir()
    ckpt = folder / "m.npz"
    subprocess.run(TRAIN + SMALL + ["--steps", "100", "--out", str(folder), "--checkpoint", str(ckpt)],
                   capture_output=True, check=True)
    finished = ckpt.read_bytes()
    p = subprocess.Popen(TRAIN + SMALL + ["--steps", "1000000", "--out", str(folder), "--checkpoint", str(ckpt)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith(f"{ckpt} holds an earlier model")
    wait_for(p, "steps/s")  # training under way (a sleep was too short on a loaded machine: Ctrl-C came first)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and ckpt.read_bytes() == finished and "the earlier model, is untouched" in err
    hint = shlex.split(err.split("continue with: ")[1])
    assert hint[hint.index("--checkpoint") + 1] == str(folder / "m.new.npz")  # pasted, it works: quoted
    hint[hint.index("--steps") + 1] = str(int(np.load(folder / "m.new.npz")["step"]) + 20)
    q = subprocess.run([sys.executable] + [os.path.join(ROOT, h) if h.startswith("scripts/") else h
                                           for h in hint[1:]], capture_output=True, text=True, cwd=ROOT)
    assert q.returncode == 0, q.stderr


def test_output_streams(names_txt, tmp_path):
    ckpt = tmp_path / "m.npz"
    subprocess.run(TRAIN + SMALL + ["--steps", "50", "--out", str(tmp_path), "--checkpoint", str(ckpt)],
                   capture_output=True, check=True)
    cmd = f"'{sys.executable}' scripts/sample.py -n 20000 --checkpoint '{ckpt}'"
    p = subprocess.run(f"{cmd} | head -1", shell=True, capture_output=True, text=True, cwd=ROOT)
    assert p.stdout.count("\n") == 1 and p.stderr == ""
    p = subprocess.run(f"{cmd.replace('-n 20000', '-n 5')} > /dev/full", shell=True, capture_output=True, text=True,
                       cwd=ROOT)
    assert p.returncode == 1 and p.stderr == "error: cannot write the output (No space left on device)\n"
    words = tmp_path / "accents.txt"
    words.write_text("zoë\nrenée\njosé\n" * 40, encoding="utf-8")
    p = subprocess.run([sys.executable, "scripts/prepare_data.py", "--data", str(words)], capture_output=True,
                       text=True, cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="ascii"))
    assert p.returncode == 0 and "Traceback" not in p.stderr and "\\xeb" in p.stdout


def test_sample_in_process_still_prints(call, names_txt, tmp_path):
    code, _, _ = call(train.main, *SMALL, "--steps", 50, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    code, out, _ = call(sample.main, "--checkpoint", tmp_path / "m.npz", "-n", 3)
    assert code == 0 and len(out.split()) == 3


def test_a_checkpoint_path_that_is_an_output_is_refused_before_any_work(call, names_txt, tmp_path):
    import lstm_bptt
    import rnn_bptt
    for main, name in ((train.main, "train.json"), (train.main, "train_loss.png"), (rnn_bptt.main, "rnn_bptt.json"),
                       (lstm_bptt.main, "lstm_bptt.json")):
        code, out, err = call(main, "--steps", 10, "--out", tmp_path, "--checkpoint", tmp_path / name)
        assert code == 2 and "is one of this run's own outputs" in err and err.count("\n") == 1 and out == "", name
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize("script", ["train.py", "practice.py"])
def test_ctrl_c_while_a_script_still_imports_is_one_line(names_txt, tmp_path, script):
    args = [] if script == "train.py" else ["check", os.path.join(ROOT, "tests", "grader", "corpus", "ex1_lecture.py"),
                                             "--no-graph", "--out", str(tmp_path)]
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", script), *args], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.25)  # importing numpy and matplotlib
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert "Traceback" not in err and p.returncode == 130 and err.strip().count("\n") == 0, (p.returncode, err)
    assert err.strip() == "interrupted" or err.strip().startswith("interrupted: the grader was running your file")
