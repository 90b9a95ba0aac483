"""Every script keeps the promises train.py keeps: blow-ups fail, the files a user has are one
line, an empty path is refused before any work, one BLAS thread unless asked for more."""
import builtins
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

import results
import rnn_bptt
import sample
import train
from lib import checkpoint
from lib.cli import UsageError
from lib.data import read_text

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.mark.parametrize("lr", ["1e12", "1e300"])
def test_a_recurrent_run_that_blows_up_fails_in_one_line_and_saves_nothing(call, names_txt, tmp_path, lr):
    code, out, err = call(rnn_bptt.main, "--lr", lr, "--steps", 300, "--out", tmp_path, "--checkpoint", tmp_path
                          / "r.npz")
    assert code == 1 and err.strip().startswith("the loss became nan at step") and err.strip().count("\n") == 0
    assert "Traceback" not in out + err and not (tmp_path / "r.npz").exists() and not (tmp_path
                                                                                       / "rnn_bptt.json").exists()
    p = subprocess.run([sys.executable, f"{ROOT}/scripts/rnn_bptt.py", "--lr", lr, "--steps", "300", "--out",
                        str(tmp_path),
                        "--checkpoint", str(tmp_path / "r.npz")], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.strip().count("\n") == 0 and "Warning" not in p.stderr  # no numpy warnings


@pytest.mark.parametrize("main", [train.main, rnn_bptt.main])
def test_an_empty_checkpoint_path_is_refused_before_any_work(call, names_txt, tmp_path, main):
    code, out, err = call(main, "--checkpoint", "", "--steps", 10, "--out", tmp_path)
    assert code == 2 and err == "error: --checkpoint is empty; pass a file path\n" and out == ""


@pytest.fixture(scope="module")
def model(names_txt, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    assert train.main(["--steps", "300", "--out", str(folder), "--checkpoint", str(folder / "m.npz")]) == 0
    return folder / "m.npz"


BROKEN = {"NaN weights": (lambda z: z["W2"].__setitem__((0, 0), np.nan), "W2 holds NaN"),
          "a negative variance": (lambda z: z["bnvar"].__setitem__((0, 0), -1.0), "bnvar is negative"),
          "a wrong W2 shape": (lambda z: z.__setitem__("W2", z["W2"][:, :5]), "W2 has shape (200, 5)"),
          "a short itos": (lambda z: z.__setitem__("itos", z["itos"][:5]), "vocabulary has 5 characters"),
          "text weights": (lambda z: z.__setitem__("W1", z["W1"].astype(str)), "W1 holds <U"),
          "an integer itos": (lambda z: z.__setitem__("itos", np.arange(len(z["itos"]))), "not a list of single"),
          "a multi-character itos": (lambda z: z.__setitem__("itos", np.array(["." + c for c in z["itos"]])),
                                     "not a list of single characters"),
          "an itos without '.'": (lambda z: z.__setitem__("itos", np.roll(z["itos"], 1)), "does not start with '.'")}


@pytest.mark.parametrize("what", BROKEN)
def test_sample_refuses_a_broken_checkpoint_in_one_line(call, model, tmp_path, what):
    z = dict(np.load(model))
    change, words = BROKEN[what]
    change(z)
    np.savez(tmp_path / "bad.npz", **z)
    code, out, err = call(sample.main, "--checkpoint", tmp_path / "bad.npz")
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_sample_refuses_a_single_array_and_a_checkpoint_it_cannot_read(call, model, tmp_path):
    np.save(tmp_path / "one.npy", np.zeros(3))
    code, _, err = call(sample.main, "--checkpoint", tmp_path / "one.npy")
    assert code == 2 and "holds one array (.npy), not a checkpoint" in err and err.count("\n") == 1
    code, _, err = call(rnn_bptt.main, "--resume", "--steps", 10, "--out", tmp_path, "--checkpoint", model)
    assert code == 2 and "pass a checkpoint written by scripts/rnn_bptt.py" in err and err.count("\n") == 1


def test_sample_prints_names_as_it_draws_them(model):
    """`-n 100000 | head -2` ends at once: each name is printed when drawn, and the closed pipe ends the run."""
    p = subprocess.run(f"{sys.executable} {ROOT}/scripts/sample.py --checkpoint {model} -n 100000 | head -2",
                       shell=True, capture_output=True, text=True, timeout=60)
    assert len(p.stdout.splitlines()) == 2 and p.stderr == ""
    whole = subprocess.run([sys.executable, f"{ROOT}/scripts/sample.py", "--checkpoint", str(model), "-n", "5"],
                           capture_output=True, text=True)
    assert whole.stdout.splitlines()[:2] == p.stdout.splitlines()  # the same names, one at a time


def test_checkpoints_are_written_like_every_other_file(model):
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(model).st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("content, words", [
    ('{"rows": 13, "ok": 13, "steps": 0, "loss_yours": null, "loss_project": null}', "practice_ex4.json: incomplete"),
    ('{"rows": 13, "ok": 13, "ste', "practice_ex4.json: unreadable (truncated or not UTF-8 JSON)"),
    ('{"rows": 13, "ok": 13}', "practice_ex4.json: incomplete (no 'loss_yours')"),
    ("null", "practice_ex4.json: holds null, not its figures"),
    ('{"finished": false, "rows": 13}', "practice_ex4.json: an unfinished run (stopped by a signal)"),
])
def test_results_reads_what_a_failed_or_broken_run_left_in_one_row(call, names_txt, tmp_path, content, words):
    (tmp_path / "practice_ex4.json").write_text(content)
    code, out, err = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and err == "" and "| ✗ |" in out
    assert words.split(": ")[1] in out and "practice_ex4.json" in out


def test_results_reads_a_null_verdict_a_json_nested_too_deep_and_a_fifo_in_one_row_each(call, names_txt, tmp_path):
    import threading
    (tmp_path / "gradcheck.json").write_text('{"ok": null}')
    (tmp_path / "ex1.json").write_text("[" * 100000 + "]" * 100000)
    os.mkfifo(tmp_path / "rnn_bptt.json")
    threading.Thread(target=lambda: open(tmp_path / "rnn_bptt.json", "wb").close(), daemon=True).start()  # no hang
    code, out, err = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and err == "" and out.count("| ✗ |") == 3 and (tmp_path / "results.md").exists()
    assert "| gradcheck.json | (written by its script) | incomplete (TypeError: null where a verdict (true or false) " \
           "belongs); run its script again | ✗ |" in out
    assert "| ex1.json | (written by its script) | unreadable (nested too deep to be figures); run its script " \
           "again" in out
    assert "| rnn_bptt.json | (written by its script) | not a regular file (a pipe, a device or a folder); remove it " \
           "and run its script again | ✗ |" in out


def test_results_reads_a_utf16_file_and_refuses_an_empty_path(call, names_txt, tmp_path):
    (tmp_path / "train.json").write_bytes(json.dumps(dict(train_loss=2.07)).encode("utf-16"))
    code, out, err = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and "train.json | (written by its script) | unreadable (truncated or not UTF-8 JSON)" in out
    code, _, err = call(results.main, "--out", tmp_path, "--results", "")
    assert code == 2 and err == "error: --results is empty; pass a file path\n"


def test_a_file_without_read_permission_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "words.txt"
    path.write_text("emma\n")

    def refuse(*args, **kwargs):  # what open() raises on a file without read permission (root reads anyway)
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(UsageError, match=r"cannot read .*words.txt \(permission denied\); make it readable"):
        read_text(str(path), "a word list", "")


def test_one_blas_thread_unless_the_user_chose():
    code = "import os, lib; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert p.stdout.split() == ["1", "1"]
    chosen = "import os, lib; print(os.environ['OMP_NUM_THREADS'], os.environ.get('OPENBLAS_NUM_THREADS'))"
    p = subprocess.run([sys.executable, "-c", chosen], capture_output=True, text=True, cwd=ROOT,
                       env=dict(env, OMP_NUM_THREADS="2"))
    assert p.stdout.split() == ["2", "None"]  # the user's choice stands, and ours is not added beside it
    for script in sorted(f for f in os.listdir(os.path.join(ROOT, "scripts")) if f.endswith(".py")):
        text = open(os.path.join(ROOT, "scripts", script)).read()
        if "import numpy" in text:
            assert text.index("import lib") < text.index("import numpy"), script


def test_kill_is_one_line_and_exit_143_and_what_was_printed_stays(model):
    import signal
    import time
    p = subprocess.Popen([sys.executable, f"{ROOT}/scripts/sample.py", "--checkpoint", str(model), "-n", "10000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    drawn = [p.stdout.readline() for _ in range(11)]  # drawing (a sleep was too short on a loaded machine)
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 143 and err.strip() == "terminated" and len(drawn + out.splitlines()) > 11


@pytest.mark.parametrize("main, args, words", [
    (rnn_bptt.main, ("--n-hidden", 100000), "an RNN of this size needs about"),
    (train.main, ("--n-embd", 100000), "training with these sizes needs about"),
    (train.main, ("--batch-size", 1000000), "--batch-size 1000000 is larger than the 182625 training examples"),
])
def test_sizes_that_cannot_fit_are_refused_before_any_work(call, names_txt, tmp_path, main, args, words):
    code, out, err = call(main, *args, "--out", tmp_path, "--checkpoint", tmp_path / "c.npz")
    assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in out + err
    assert not (tmp_path / "c.npz").exists()


def test_a_second_recurrent_run_on_the_same_checkpoint_is_told(call, names_txt, tmp_path):
    ckpt = tmp_path / "r.npz"
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "r.npz.lock").write_text(str(other.pid))  # a live run holds it
        code, _, err = call(rnn_bptt.main, "--steps", 20, "--n-hidden", 8, "--out", tmp_path, "--checkpoint", ckpt)
        assert code == 0 and f"another run (pid {other.pid}) is writing" in err and ckpt.exists()
    finally:
        other.kill()


def test_a_full_disk_names_the_file_it_could_not_write():
    from lib.cli import OutputError, write_json
    with pytest.raises(OutputError, match=r"cannot write /dev/full \(No space left on device\); free some space"):
        write_json("/dev/full", dict(val_loss=2.1))


def signalled(args, after, signum, tmp_path):
    """Run a script, send it a signal once its output shows `after`; (exit code, stdout, stderr)."""
    import signal
    p = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in p.stdout:
        seen.append(line)
        if after in line:
            p.send_signal(signum)
            break
    out, err = p.communicate(timeout=120)
    return p.returncode, "".join(seen) + out, err


def test_rnn_bptt_saves_on_a_signal_and_resumes_to_the_same_bits(names_txt, tmp_path):
    import signal
    flags = ["--steps", 1500, "--n-hidden", 24, "--out", tmp_path]
    code, _, err = signalled([f"{ROOT}/scripts/rnn_bptt.py", *flags, "--checkpoint", tmp_path / "r.npz"], "      0/",
                             signal.SIGINT, tmp_path)
    assert code == 130 and "interrupted at step" in err and "--resume --steps 1500" in err
    stopped_at = len(np.load(tmp_path / "r.npz")["lossi"])
    assert stopped_at < 1500
    resume = subprocess.run([sys.executable, f"{ROOT}/scripts/rnn_bptt.py", *map(str, flags), "--checkpoint",
                             str(tmp_path / "r.npz"), "--resume"], capture_output=True, text=True)
    assert resume.returncode == 0 and f"resuming from step {stopped_at}" in resume.stdout
    whole = subprocess.run([sys.executable, f"{ROOT}/scripts/rnn_bptt.py", *map(str, flags), "--checkpoint",
                            str(tmp_path / "w.npz")], capture_output=True, text=True)
    assert whole.returncode == 0
    a, b = np.load(tmp_path / "r.npz"), np.load(tmp_path / "w.npz")
    assert all(np.array_equal(a[k], b[k]) for k in ("C", "Wxh", "Whh", "bh", "Why", "by", "lossi"))
    # a new run on the finished model, stopped: the model stays, the new one waits beside it, the line works pasted
    finished = (tmp_path / "r.npz").read_bytes()
    code, out, err = signalled([f"{ROOT}/scripts/rnn_bptt.py", *flags, "--checkpoint", tmp_path / "r.npz"],
                               "      0/", signal.SIGINT, tmp_path)
    assert code == 130 and (tmp_path / "r.npz").read_bytes() == finished and "the earlier model, is untouched" in err
    assert out.startswith(f"{tmp_path / 'r.npz'} holds an earlier model")
    hint = shlex.split(err.split("continue with: ")[1])
    assert hint[hint.index("--checkpoint") + 1] == str(tmp_path / "r.new.npz") and "--out" in hint
    other = tmp_path / "other.txt"
    other.write_text("\n".join(w[::-1] for w in open(names_txt).read().split()[:3000]) + "\n")  # the same alphabet
    wrong_data = subprocess.run([sys.executable, f"{ROOT}/scripts/rnn_bptt.py", *map(str, flags), "--checkpoint",
                                 str(tmp_path / "r.new.npz"), "--resume", "--data", str(other)],
                                capture_output=True, text=True)
    assert wrong_data.returncode == 2 and "another word list" in wrong_data.stderr


@pytest.mark.parametrize("script, args, after, signum, kept", [
    ("lstm_bptt", ("--steps", 3000, "--n-hidden", 16, "--recall-steps", 20, "--checkpoint", "l.npz"), "      0/",
     "SIGTERM", "lstm_bptt.json"),
    ("rbm_cd", ("--epochs", 4, "--n-hidden", 20), "epoch  1:", "SIGINT", "rbm_cd.json"),
    ("lbfgs_2010", ("--maxiter", 40), "iteration    1:", "SIGTERM", "lbfgs_2010.json"),
    ("defrag_2014", ("--steps", 3000), "2014 objective (lr", "SIGHUP", "defrag_2014.json"),  # a closed terminal
])
def test_a_signal_keeps_what_the_script_has(names_txt, tmp_path, script, args, after, signum, kept):
    import signal
    code, out, err = signalled([f"{ROOT}/scripts/{script}.py", *args, "--out", tmp_path], after,
                               getattr(signal, signum), tmp_path)
    name, exit_code = dict(SIGINT=("interrupted", 130), SIGTERM=("terminated", 143), SIGHUP=("hung up", 129))[signum]
    assert code == exit_code and f"{name} after" in err and "Traceback" not in err
    assert (tmp_path / kept).exists() and any(f.endswith(".png") for f in os.listdir(tmp_path))


def test_speed_rows_are_judged_as_ratios_of_the_same_run(call, names_txt, tmp_path):
    """A busy or slower machine: every step three times slower, and still ✓, for the ratios hold."""
    bench = dict(lecture=dict(float32=dict(us_per_step=300.0, floor_us=30.0)), ablation={"port": 330.0})
    (tmp_path / "benchmark.json").write_text(json.dumps(bench))
    code, out, _ = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert code == 0 and "| 300 us = 0.91x a plain numpy port (330 us), 10.0x the matmul floor (30.0 us) | ✓ |" in out
    bench["ablation"]["port"] = 250.0  # slower than the plain port in the same run: that does not hold
    (tmp_path / "benchmark.json").write_text(json.dumps(bench))
    code, out, _ = call(results.main, "--out", tmp_path, "--results", tmp_path / "results.md")
    assert "1.20x a plain numpy port (250 us)" in out and out.count("| ✗ |") == 1
