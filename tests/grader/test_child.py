"""The grader's child keeps its promises (lib/grader/child.py, lib/grader/sandbox.py): bad time limits and bad
notebooks are one line; a file that patches numpy, builtins or pickle cannot crash the grader; what a file starts
in a session of its own is ended; the time limit is the learner's; a practice file finds its repository by its own
place; and every grader path runs where the platform lacks POSIX's signals, process groups and resource limits.
The contract: no job or training dict comes back."""
import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from lib.grader import face, sandbox
from lib.grader.result import SEARCHING, Job, Training

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PRACTICE = os.path.join(ROOT, "scripts", "practice.py")
LECTURE = open(os.path.join(HERE, "corpus", "ex1_lecture.py")).read()
AT = "dW1 = embcat.T @ dhprebn"  # a line of LECTURE before which a case is planted: it lands on line L
L = LECTURE.splitlines().index(AT) + 1


def planted(lines):
    return LECTURE.replace(AT, lines + "\n" + AT)


def check(tmp_path, source, *flags, env=None, name="ex1.py"):
    (tmp_path / name).write_text(source)
    p = subprocess.run([sys.executable, PRACTICE, "check", name, "--out", str(tmp_path), "--no-graph",
                        *map(str, flags)], capture_output=True, text=True, cwd=tmp_path, timeout=180,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def gone(pid):
    """Ended: no such process, or a zombie waiting for its reaper."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def all_gone(pids, seconds=10):
    deadline = time.time() + seconds
    while not all(gone(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


# bad numbers and bad notebooks: one line, exit code 2

@pytest.mark.parametrize("flags, env, said", [
    (("--timeout", "1e19"), {}, "--timeout 1e+19 is not a number of seconds above 0 and at most 86400"),
    ((), {"PRACTICE_TIMEOUT": "inf"}, "PRACTICE_TIMEOUT='inf' is not a number of seconds above 0"),
    ((), {"PRACTICE_TIMEOUT": "1e400"}, "PRACTICE_TIMEOUT='1e400' is not a number of seconds above 0"),
])
def test_a_time_limit_no_clock_takes_is_one_line(names_txt, tmp_path, call, monkeypatch, flags, env, said):
    import practice
    (tmp_path / "ex1.py").write_text(LECTURE)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code, out, err = call(practice.main, "check", tmp_path / "ex1.py", "--no-graph", "--out", tmp_path, *flags)
    assert code == 2 and err.count("\n") == 1 and said in err and "Traceback" not in out + err


def test_a_negative_timeout_in_grade_is_the_callers_not_the_files(names_txt, tmp_path, capsys):
    (tmp_path / "ex1.py").write_text(LECTURE)
    with pytest.raises(SystemExit) as e:  # grade() from a script (under a debugger): exit code 2
        face.grade("ex1", {"__file__": str(tmp_path / "ex1.py")}, timeout=-5)
    out, err = capsys.readouterr()
    assert e.value.code == 2 and "ran past" not in out and "your file" not in out
    assert err == "error: grade(timeout=-5) is not a number of seconds above 0 and at most 86400 (a day); pass the " \
                  "seconds your file may run: grade('ex1', globals(), timeout=SECONDS)\n"


@pytest.mark.parametrize("text, why", [
    (json.dumps({"cells": {"a": 1}}), "its 'cells' is not a list of cells"),
    (json.dumps({"cells": ["x = 1", "y = 2"]}), "its 'cells' is not a list of cells"),
    (json.dumps({"cells": [{"cell_type": "code", "source": 7}]}), "cell 1's source is not text"),
    ("[" * 100000 + "]" * 100000, "JSON nested too deep to be one"),
    ("{", "not JSON"),
])
def test_a_notebook_that_is_not_one_is_one_line(names_txt, tmp_path, call, text, why):
    import practice
    (tmp_path / "ex1.ipynb").write_text(text)
    code, out, err = call(practice.main, "check", tmp_path / "ex1.ipynb", "--out", tmp_path)
    assert code == 2 and out == "" and err == f"error: {tmp_path / 'ex1.ipynb'} is not a Jupyter notebook ({why}); " \
                                             f"pass the .py file instead\n"


# what the file does to the grader's own tools

def test_patching_numpy_builtins_or_pickle_is_one_row_each_and_the_rest_is_graded(names_txt, tmp_path):
    """np.abs = None crashed the grader, pickle.dump = None lost the result, builtins.len = ... was blamed as the
    file ending the grader's run; a complex gradient's ComplexWarnings reached stderr."""
    code, out, err = check(tmp_path, planted("np.abs = None\nimport pickle; pickle.dump = None\n"
                                             "import builtins; builtins.len = lambda x: 0\n"
                                             "z = np.array([1 + 2j]).astype(float)") + "db2 = db2 + 0j\n")
    assert code == 1 and err == "" and "Traceback" not in out
    rows = [ln for ln in out.splitlines() if re.match(r"line \d+ +\| wrong", ln)]
    assert [re.split(r" *\| *", r)[0] for r in rows] == [f"line {L}", f"line {L + 1}", f"line {L + 2}"]
    for row, what in zip(rows, ("np.abs", "pickle.dump", "builtins.len")):
        assert row.endswith(f"patches {what}, which the grader's own code uses: it was put back after this line, and "
                            "your other lines ran with the real one; give your own function a name of its own")
    assert re.search(r"ex1: 2\d of 26 ok; wrong: ", out)
    assert f"warning: ComplexWarning at line {L + 3}: Casting complex values to real discards the imaginary part" in out
    assert "warning: ComplexWarning: db2 holds complex numbers; the grader compared their real parts" in out


def test_what_the_file_starts_in_a_session_of_its_own_is_ended_and_the_child_has_a_process_limit(names_txt,
                                                                                                  tmp_path):
    code, out, err = check(tmp_path, planted(textwrap.dedent("""\
        import subprocess, time
        open('pids', 'a').write(f"{subprocess.Popen(['sleep', '60'], start_new_session=True).pid}\\n")
        r, w = os.pipe()
        if (pid := os.fork()) == 0:  # a double fork, the second in a session of its own: its parent is gone at once
            os.setsid()
            if os.fork() == 0:
                os.write(w, f"{os.getpid()}\\n".encode())
                time.sleep(60)
            os._exit(0)
        os.close(w); open('pids', 'a').write(os.read(r, 20).decode()); os.close(r); os.waitpid(pid, 0)
        open('limits', 'w').write(open('/proc/self/limits').read())""")))
    assert code == 0 and err == "" and "ex1: 26 of 26 ok" in out, out + err
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert len(pids) >= 6 and all_gone(pids) == []  # each run's two, the second reparented to the child
    limit = re.search(r"Max processes +(\S+) +(\S+)", (tmp_path / "limits").read_text())
    assert limit.group(1) == limit.group(2) != "unlimited" and int(limit.group(1)) > 64


def test_the_time_limit_is_the_learners_not_the_searchs(names_txt, tmp_path):
    """A wrong line that takes 0.45 s: its three runs fit the limit; the repair search's candidates, each as slow,
    ran past it ('a loop that never ends?') and left no table."""
    code, out, err = check(tmp_path, LECTURE.replace(AT, "import time\ndW1 = (time.sleep(0.45) or 2) * (embcat.T @ "
                                                         "dhprebn)"))
    assert code == 1 and err == "" and "ran past" not in out
    assert re.search(r"^dW1 +\| wrong ", out, re.M) and "ex1: 25 of 26 ok; wrong: dW1" in out


def test_a_time_out_in_training_keeps_the_steps_trained(names_txt, tmp_path):
    code, out, err = check(tmp_path, open(os.path.join(HERE, "corpus", "ex4_solution.py")).read(), "--steps", 10 ** 6,
                           "--timeout", 4, name="ex4.py")
    assert code == 1 and err == "" and "ex4: 13 of 13 ok" in out
    assert re.search(r"training with your backward stopped by the time limit of 4 s, training step \d+", out)
    trained = int(re.search(r"trained (\d+) steps", out).group(1))
    assert trained >= 100 and trained % 100 == 0 and (tmp_path / "practice_ex4.png").exists()


def progress_child(tmp_path, mark, seconds):
    """A stand-in child at a progress mark, sleeping."""
    job = face.job("", "ex1.py", "ex1", 32, 64, 42, None, 0, 0.1, None, str(tmp_path))
    with open(job.progress, "w") as f:
        f.write(mark)
    return job, subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_the_limit_counts_the_learners_part_and_the_search_has_its_own_net(tmp_path, monkeypatch):
    job, child = progress_child(tmp_path, "line 3", 30)
    t = time.monotonic()
    assert sandbox.watch(child, job, 1.0) == "learner" and time.monotonic() - t < 10
    child.kill()
    child.wait()
    job, child = progress_child(tmp_path, "", 2)  # starting (imports, the forward): not the file's time either
    assert sandbox.watch(child, job, 0.3) is None and child.returncode == 0
    job, child = progress_child(tmp_path, SEARCHING, 2)
    assert sandbox.watch(child, job, 0.3) is None and child.returncode == 0  # the search's 2 s are not the file's
    monkeypatch.setattr(sandbox, "GRADER_SECONDS", 0.5)
    job, child = progress_child(tmp_path, SEARCHING, 30)
    assert sandbox.watch(child, job, 30) == "grader"
    child.kill()
    child.wait()


# a practice file finds its repository by its own place

def test_a_practice_file_finds_its_repository_from_anywhere_or_says_what_to_do(names_txt, tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    shutil.copytree(os.path.join(ROOT, "lib"), repo / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere.mkdir()
    p = subprocess.run([sys.executable, PRACTICE, "new", "ex2", "--to", str(repo / "practice" / "ex2.py")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = (repo / "practice" / "ex2.py").read_text()
    setup = text[text.index("import os, sys"):text.index("import numpy as np")]
    setup = setup.replace("from lib.grader import grade, workspace", "import lib; found = lib.__file__")
    ns = {"__file__": str(repo / "practice" / "ex2.py")}
    saved, cwd = list(sys.path), os.getcwd()
    modules = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "lib" or k.startswith("lib.")}
    try:
        os.chdir(elsewhere)
        exec(setup, ns)  # the set-up cell's own lines, from another folder: the copy's lib/, by the file's place
    finally:
        os.chdir(cwd)
        sys.path[:] = saved
        for k in [k for k in sys.modules if k == "lib" or k.startswith("lib.")]:
            del sys.modules[k]
        sys.modules.update(modules)
    assert ns["found"] == str(repo / "lib" / "__init__.py")
    shutil.copy(repo / "practice" / "ex2.py", elsewhere / "ex2.py")  # moved out of the repository: what to do
    p = subprocess.run([sys.executable, "-S", str(elsewhere / "ex2.py")], capture_output=True, text=True, cwd=tmp_path,
                       timeout=60)
    assert p.returncode == 1 and p.stdout == "" and p.stderr == (
        "cannot import lib: keep this file in the repository's practice/ folder (or run it from the repository), with "
        "the repository's Python (.venv/bin/python, made by ./run_all.sh)\n")


# where POSIX is missing (Windows; macOS has no prctl): every path still grades

POSIX_LESS = '''"""A Python with what Windows lacks taken away (and macOS's prctl): each grader path must do without."""
import ctypes
import os
import signal
import sys

for name in ("SIGHUP", "SIGUSR1", "SIGALRM", "SIGSTOP", "setitimer", "getitimer", "ITIMER_REAL", "pthread_sigmask"):
    if hasattr(signal, name):
        delattr(signal, name)
for name in ("killpg", "getpgid", "fork", "setsid", "pwrite"):
    if hasattr(os, name):
        delattr(os, name)
sys.modules["resource"] = None  # import resource: ImportError


class NoPrctl(ctypes.CDLL):
    def __getattr__(self, name):
        if name == "prctl":
            raise AttributeError(name)
        return super().__getattr__(name)


ctypes.CDLL = NoPrctl
'''


@pytest.fixture
def posix_less(tmp_path):
    """The environment of a Python without POSIX's extras, for the grader and for its child (a sitecustomize on
    PYTHONPATH, which the child inherits)."""
    site = tmp_path / "posix_less"
    site.mkdir()
    (site / "sitecustomize.py").write_text(POSIX_LESS)
    return {"PYTHONPATH": str(site)}


def test_every_grader_path_runs_without_posix(names_txt, tmp_path, posix_less):
    probe = subprocess.run([sys.executable, "-c", "import signal, os\ntry:\n    import resource\nexcept ImportError:\n"
                            "    print(hasattr(signal, 'SIGUSR1'), hasattr(os, 'killpg'))"],
                           capture_output=True, text=True, env=dict(os.environ, **posix_less))
    assert probe.stdout == "False False\n"  # the launcher works
    code, out, err = check(tmp_path, planted("import sys; print(hasattr(os, 'fork'), 'resource' in sys.modules)"),
                           env=posix_less)
    assert code == 0 and err == "" and "ex1: 26 of 26 ok" in out and "  | False True" in out  # the child is posix-less
    code, out, err = check(tmp_path, planted("dbnvar = (-0.5*(bnvar + 1e-5)**-0.5) * dbnvar_inv"), env=posix_less)
    assert code == 1 and err == "" and "Traceback" not in out  # a wrong line: the search runs without SIGALRM
    assert "`-0.5` where `-1.5` belongs" in out or "the power is -0.5 where -1.5 belongs" in out
    code, out, err = check(tmp_path, planted("k = 0\nwhile True:\n    k += 1"), "--timeout", 2, env=posix_less)
    assert code == 1 and err == "" and f"ran past the time limit of 2 s, at line {L + 1}: while True:" in out
    folder = tmp_path / "practice"  # a practice file run with python
    folder.mkdir()
    (folder / "ex1.py").write_text(planted("print('mine')"))
    p = subprocess.run([sys.executable, "practice/ex1.py"], capture_output=True, text=True, cwd=tmp_path, timeout=180,
                       env=dict(os.environ, **posix_less))
    assert p.returncode == 0 and p.stderr == "" and "  | mine" in p.stdout and "ex1: 26 of 26 ok" in p.stdout


# the contract: records, not dicts

JOB_KEYS = set(Job.__dataclass_fields__) | {"result", "progress", "dump", "training"}
TRAINING_KEYS = set(Training.__dataclass_fields__)


def dict_uses(tree):
    """Where a job or a training comes back as a dict: a subscript of a name job or training (or of x.job), a
    string subscript 'losses'/'stopped', a .get on a job, a dict built with four keys of a Job (three are a shape)
    or with a Training's."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            base = node.value
            name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if name in ("job", "training") or key in TRAINING_KEYS:
                found.append(node.lineno)
        elif isinstance(node, ast.Call):
            keys = {k.arg for k in node.keywords}
            func = node.func
            if isinstance(func, ast.Name) and func.id == "dict" and (len(keys & JOB_KEYS) > 3 or keys >= TRAINING_KEYS):
                found.append(node.lineno)
            if isinstance(func, ast.Attribute) and func.attr == "get" and getattr(func.value, "id", "") == "job":
                found.append(node.lineno)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys & JOB_KEYS) > 3 or keys >= TRAINING_KEYS:
                found.append(node.lineno)
    return found


def test_a_job_or_a_training_is_a_record_never_a_dict():
    assert dict_uses(ast.parse('job["source"]; child.job["seed"]; t = dict(losses=[], stopped="")')) == [1, 1, 1]
    assert dict_uses(ast.parse('{"exercise": 1, "source": 2, "path": 3, "seed": 4}; x["stopped"]; job.get("out")')) \
        == [1, 1, 1]
    assert dict_uses(ast.parse('shape = dict(batch_size=32, n_hidden=64, seed=42)')) == []
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "lib", "grader", "*.py"))):
        with open(path) as f:
            lines = dict_uses(ast.parse(f.read()))
        if lines:
            found[os.path.basename(path)] = lines
    assert found == {}
    constructed = [os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "lib", "grader", "*.py"))
                   if re.search(r"\bJob\(", open(p).read())]
    assert constructed == ["face.py"]  # built in one place
    constructed = [os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "lib", "grader", "*.py"))
                   if re.search(r"\bTraining\(", open(p).read())]
    assert constructed == ["ex4.py"] and open(os.path.join(ROOT, "lib", "grader", "ex4.py")).read().count(
        "Training(") == 1
