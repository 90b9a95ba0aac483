"""Where learners are: every script runs without what Windows' Python lacks (signal.SIGHUP, os.killpg, os.fork,
the resource module) and what macOS lacks (prctl; it starts processes by spawn), through tests/posix_less.py, and
keeps its promises with what the platform has."""
import os
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest

import posix_less

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPTS = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "scripts")) if f.endswith(".py"))
SMALL = ["--n-hidden", "16", "--n-embd", "4"]

# one process for every script's --help (numpy and matplotlib imported once), after a check that the launcher
# really took away what it says
EVERY_HELP = """
import contextlib, io, os, runpy, sys
sys.path[:0] = [{here!r}]
import posix_less
posix_less.take_away()
import ctypes, multiprocessing, signal
missing = [not hasattr(signal, "SIGHUP"), not hasattr(os, "killpg"), not hasattr(os, "fork")]
try:
    import resource
except ImportError:
    missing.append(True)
try:
    ctypes.CDLL(None).prctl
except AttributeError:
    missing.append(True)
missing.append(multiprocessing.get_start_method() == "spawn")
print("taken away:", sum(missing), "of", len(missing))
for script in sys.argv[1:]:
    sys.argv = [script, "--help"]
    sys.path[0] = os.path.dirname(script)
    text = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # a console's stream: lib.cli.run reconfigures it
    try:
        with contextlib.redirect_stdout(text):
            runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code
    except BaseException as e:
        code = type(e).__name__ + ": " + str(e)
    text.flush()
    print(os.path.basename(script), code, b"usage:" in text.buffer.getvalue())
"""


def test_every_scripts_help_runs_without_posix(names_txt):
    scripts = [os.path.join(ROOT, "scripts", s + ".py") for s in SCRIPTS]
    p = subprocess.run([sys.executable, "-c", EVERY_HELP.format(here=HERE), *scripts], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    lines = p.stdout.splitlines()
    assert lines[0] == "taken away: 6 of 6", p.stdout + p.stderr
    assert lines[1:] == [f"{s}.py 0 True" for s in SCRIPTS], p.stdout + p.stderr


def test_train_runs_stops_and_resumes_without_posix(names_txt, tmp_path):
    ckpt = tmp_path / "m.npz"
    p = posix_less.start("train", *SMALL, "--steps", "1000000", "--out", tmp_path, "--checkpoint", ckpt, cwd=ROOT)
    for line in p.stdout:
        if "steps/s" in line:
            break
    p.send_signal(signal.SIGINT)  # Ctrl-C, which Windows has
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "interrupted at step" in err and "Traceback" not in err, err
    step = int(np.load(ckpt)["step"])
    hint = shlex.split(err.split("continue with: ")[1])
    hint[hint.index("--steps") + 1] = str(step + 30)
    q = posix_less.run("train", *hint[2:], cwd=ROOT)  # the pasted line, under the launcher
    assert q.returncode == 0 and f"resuming from step {step}" in q.stdout, q.stderr
    assert int(np.load(ckpt)["step"]) == step + 30 and not (tmp_path / "m.npz.lock").exists()
    r = posix_less.run("sample", "--checkpoint", ckpt, "-n", 5, cwd=ROOT)
    assert r.returncode == 0 and len(r.stdout.split()) == 5 and r.stderr == ""


@pytest.mark.parametrize("script, args", [
    ("rnn_bptt", ("--steps", 30, "--n-hidden", 8)),
    ("lstm_bptt", ("--steps", 30, "--n-hidden", 16, "--recall-steps", 20)),
])
def test_the_recurrent_scripts_run_without_posix(names_txt, tmp_path, script, args):
    p = posix_less.run(script, *args, "--out", tmp_path, "--checkpoint", tmp_path / "c.npz", cwd=ROOT)
    assert p.returncode == 0 and "all 6 tensors OK" in p.stdout and p.stderr == "", p.stderr
    assert (tmp_path / f"{script}.json").exists() and (tmp_path / "c.npz").exists()
    assert not (tmp_path / "c.npz.lock").exists()


def test_a_lock_is_probed_without_os_kill_on_windows(monkeypatch):
    """On Windows os.kill(pid, 0) sends Ctrl-C to pid's console group: the lock's probe asks the kernel instead."""
    from lib import training
    calls = []

    class Kernel32:
        def OpenProcess(self, access, inherit, pid):
            calls.append(("open", pid))
            return 7 if pid == 1234 else 0

        def GetExitCodeProcess(self, handle, code):
            code._obj.value = 259  # STILL_ACTIVE
            return 1

        def CloseHandle(self, handle):
            calls.append(("close", handle))

    import ctypes
    monkeypatch.setattr(ctypes, "windll", type("windll", (), {"kernel32": Kernel32()})(), raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: 87, raising=False)  # ERROR_INVALID_PARAMETER: no such pid
    monkeypatch.setattr(training, "WINDOWS", True)
    monkeypatch.setattr(training.os, "kill", lambda *a: pytest.fail("os.kill is no probe on Windows"))
    assert training.alive(1234) and not training.alive(4321)
    assert calls == [("open", 1234), ("close", 7), ("open", 4321)]


def test_the_resume_line_is_quoted_for_the_platforms_shell(monkeypatch, tmp_path):
    from lib import training
    keep = training.Keep(str(tmp_path / "a folder" / "m.npz"), hint=["python", "scripts/train.py"])
    keep.release()
    assert f"--checkpoint '{tmp_path}/a folder/m.npz' --resume" in keep.resume_line(10)
    monkeypatch.setattr(training, "WINDOWS", True)  # cmd.exe knows no single quotes; PowerShell takes these too
    assert f'--checkpoint "{tmp_path}/a folder/m.npz" --resume --steps 10' in keep.resume_line(10)
