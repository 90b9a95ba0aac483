"""A practice file works the way learners work (a script with cells, a notebook, the grader) and
cannot fool the grader or crash it: each case of the hostile sweep ends in one line."""
import ast
import inspect
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lib import source
from lib.grader import catalogue, mistakes
from lib.lecture import backward

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PRACTICE = os.path.join(ROOT, "scripts", "practice.py")
LECTURE = open(os.path.join(HERE, "corpus", "ex1_lecture.py")).read()
EX4 = open(os.path.join(HERE, "corpus", "ex4_solution.py")).read()
AT = "dW1 = embcat.T @ dhprebn"  # a line of LECTURE before which a case is planted: it lands on line L
L = LECTURE.splitlines().index(AT) + 1


def check(tmp_path, source, *flags, name="ex1.py"):
    path = tmp_path / name
    path.write_text(source)
    p = subprocess.run([sys.executable, PRACTICE, "check", name, "--out", str(tmp_path), "--no-graph",
                        *map(str, flags)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    return p.returncode, p.stdout, p.stderr


def planted(line):
    return LECTURE.replace(AT, line + "\n" + AT)


@pytest.mark.parametrize("line", ["import sys; sys.exit(0)", "raise SystemExit", "exit()", "quit()",
                                  "import os; os._exit(0)", "import sys; sys.exit(3)"])
def test_an_exit_is_one_row_naming_its_line_and_fails(names_txt, tmp_path, line):
    code, out, err = check(tmp_path, planted(line))
    assert code == 1 and err == ""
    rows = [ln for ln in out.splitlines() if ln.startswith("line ")]
    assert len(rows) == 1 and rows[0].startswith(f"line {L}         | wrong    |            - |         - | ends the "
                                                 "run "
                                                 f"({line}: ") and rows[0].endswith("take it out")
    assert f"ex1: 26 of 26 ok; wrong: line {L}" in out  # every gradient still graded


def test_deleting_a_forward_name_is_named_and_the_rest_graded(names_txt, tmp_path):
    code, out, err = check(tmp_path, planted("del probs"))
    assert code == 1 and "Traceback" not in out + err
    assert f"line {L}         | wrong    |" in out and "deletes probs" in out
    assert f"ex1: 26 of 26 ok; wrong: line {L}" in out


def test_side_effects_run_once_and_cannot_turn_rows_wrong(names_txt, tmp_path):
    code, out, _ = check(tmp_path, planted("import os; os.makedirs('dbg')"))
    assert code == 0 and "ex1: 26 of 26 ok" in out and os.path.isdir(tmp_path / "dbg")


def test_what_the_file_prints_is_shown_once_apart_from_the_table(names_txt, tmp_path):
    code, out, _ = check(tmp_path, planted("print('my shape', dhprebn.shape)"))
    assert code == 0 and out.count("my shape (32, 64)") == 1
    assert out.index("your file printed:\n  | my shape (32, 64)") < out.index("gradient        | status")


def test_a_figure_the_file_makes_is_kept(names_txt, tmp_path):
    code, out, _ = check(tmp_path, planted("import matplotlib.pyplot as plt; plt.hist(dhprebn.ravel()); plt.show()"))
    assert code == 0 and os.path.getsize(tmp_path / "practice_ex1_figure1.png") > 5_000
    assert f"your figure: {tmp_path / 'practice_ex1_figure1.png'}" in out


def test_input_gets_end_of_file_at_once(names_txt, tmp_path):
    t = time.time()
    code, out, _ = check(tmp_path, planted("x = input('a number? ')"))
    assert code == 1 and time.time() - t < 30
    assert f"line {L}" in out and "raises EOFError" in out and "without a keyboard" in out


def test_a_loop_that_never_ends_stops_at_the_limit_naming_its_line(names_txt, tmp_path):
    t = time.time()
    code, out, err = check(tmp_path, planted("k = 0\nwhile True:\n    k += 1"), "--timeout", 2)
    assert code == 1 and time.time() - t < 30 and err == ""
    assert re.search(rf"stopped: your file ran past the time limit of 2 s, at line ({L + 1}: while True:|{L + 2}: k "
                     r"\+= 1)",
                     out)  # the loop's line or its body's, wherever it was caught


def test_a_thread_left_running_does_not_hold_the_grader(names_txt, tmp_path):
    t = time.time()
    code, out, _ = check(tmp_path,
                         planted("import threading, time; threading.Thread(target=time.sleep, args=(60,)).start()"))
    assert code == 0 and time.time() - t < 30 and "ex1: 26 of 26 ok" in out


def test_the_files_keyboardinterrupt_is_not_the_users_ctrl_c(names_txt, tmp_path):
    code, out, err = check(tmp_path, planted("raise KeyboardInterrupt"))
    assert code == 1 and "interrupted" not in err
    assert f"line {L}" in out and "raises KeyboardInterrupt; your file raised it itself" in out


def test_ctrl_c_stops_the_grader_naming_where_the_file_was(names_txt, tmp_path):
    (tmp_path / "ex1.py").write_text(planted("k = 0\nwhile True:\n    k += 1").replace(
        "dlogprobs = np.zeros_like(logprobs)",
            "dlogprobs = np.zeros_like(logprobs); open('pid', 'w').write(str(os.getpid()))"))
    p = subprocess.Popen([sys.executable, PRACTICE, "check", "ex1.py", "--timeout", "60"], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(tmp_path / "pid")  # the file runs (on a loaded machine 3 s may still be the imports)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130 and re.fullmatch(rf"interrupted: the grader was running your file, at line "
                                                rf"({L + 1}: while True:|{L + 2}: k \+= 1)", err.strip())
    child = int((tmp_path / "pid").read_text())  # the grader's child, which ran the file
    assert not os.path.exists(f"/proc/{child}")  # ended, not left behind


def test_warnings_are_one_line_per_kind(names_txt, tmp_path):
    code, out, err = check(tmp_path,
                           planted("z = np.array([1 + 2j]).astype(float); q = np.log(-probs); q = np.log(-probs)"))
    assert code == 0 and err == ""
    assert f"warning: ComplexWarning at line {L}: Casting complex values to real discards the imaginary part " \
        "(1 time)" in out
    assert f"warning: RuntimeWarning at line {L}: invalid value encountered in log (2 times)" in out
    assert "np.log(-probs)" not in out  # no source lines


def test_ex4_a_file_that_changes_a_parameter_is_told_and_trains_from_the_projects(names_txt, tmp_path):
    code, out, _ = check(tmp_path, EX4 + "W2 *= 0.5\n", "--steps", 200, name="ex4.py")
    assert code == 0 and "line 22 changes W2: not run" in out
    yours, ours = out.split("last 100 steps ")[1].split()[0::2][:2]
    assert yours == ours


def test_ex4_a_backward_that_raises_during_training_ends_the_run_with_its_step(names_txt, tmp_path):
    flaky = EX4.replace("dh = dlogits @ W2.T", "import builtins\nbuiltins.calls = getattr(builtins, 'calls', 0) + 1\n"
                        "if builtins.calls > 153:\n    raise RuntimeError('boom')\ndh = dlogits @ W2.T")
    code, out, _ = check(tmp_path, flaky, "--steps", 200, name="ex4.py")
    assert code == 1
    assert "training with your backward stopped at training step 151, line 10 raises RuntimeError: boom" in out
    assert "trained 150 steps" in out  # what it did train is still plotted beside the project's


def test_ex4_chdir_in_the_file_does_not_move_the_outputs(names_txt, tmp_path):
    code, out, err = check(tmp_path, "import os\nos.chdir('/')\n" + EX4, "--steps", 100, name="ex4.py")
    assert code == 0 and "Traceback" not in out + err and (tmp_path / "practice_ex4.png").exists()


# the practice file as learners run it: a script, a notebook

def filled(exercise, tmp_path):
    """A new practice file for the exercise with every blank filled with the project's answer, and a print."""
    p = subprocess.run([sys.executable, PRACTICE, "new", exercise, "--to", str(tmp_path / f"{exercise}.py")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / f"{exercise}.py").read_text()
    src = textwrap.dedent(inspect.getsource(backward))
    body, lines = ast.parse(src).body[0].body, src.splitlines()

    def answer(blanks):
        gs = re.findall(r"^(d\w+) = None", blanks, re.M)
        if exercise == "ex1":
            return "\n".join(textwrap.dedent("\n".join(lines[s.lineno - 1:s.end_lineno])) for s in body
                             if source.targets(s) & set(gs)) + "\n"
        return "\n".join(mistakes.answer_source(g, fused=True) for g in gs) + "\n"
    text = re.sub(r"(?:^d\w+ = None  # .*\n)+", lambda m: answer(m.group(0)), text, flags=re.M)
    text = text.replace("# %% grade", "print('my own line ran')\n\n# %% grade")
    (tmp_path / f"{exercise}.py").write_text(text)
    return tmp_path / f"{exercise}.py"


@pytest.mark.parametrize("exercise", sorted(catalogue.EXERCISES))
def test_a_filled_practice_file_runs_as_a_script_and_as_a_notebook(names_txt, tmp_path, exercise):
    folder = tmp_path / "practice"
    folder.mkdir()
    os.symlink(os.path.join(ROOT, "lib"), tmp_path / "lib")  # the repository's lib/ beside practice/
    path = filled(exercise, folder)
    rows = len(catalogue.EXERCISES[exercise]["graded"])
    # from the root and from practice/ (ex4: its training once)
    for cwd in (tmp_path, folder)[:2 if exercise == "ex1" else 1]:  # from the root and from practice/ (once is enough)
        p = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=cwd, timeout=120)
        assert p.returncode == 0 and p.stderr == "", p.stdout + p.stderr
        assert "your file printed:\n  | my own line ran" in p.stdout and f"{exercise}: {rows} of {rows} ok" in p.stdout

    import jupytext
    import nbclient
    notebook = jupytext.read(path)
    assert [c.source.splitlines()[0] for c in notebook.cells if c.cell_type == "code"][-1] == \
        "# %% grade: every gradient above against the project's backward" or \
        notebook.cells[-1].source.startswith("grade(")
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    last = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []))
    assert "my own line ran" in printed and "gradient " in last and f"{exercise}: {rows} of {rows} ok" in last


def test_a_notebook_grades_the_cells_as_they_were_run(names_txt, tmp_path):
    """Cell by cell: the grading cell, run before the rest is filled, grades what is there, and
    names a wrong line by its cell."""
    import nbclient
    import nbformat
    setup = "import numpy as np\nfrom lib.learner import grade, workspace\nglobals().update(workspace('ex2'))"
    cells = [setup, "p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)", "dlogits = p / n",
             "grade('ex2', globals())"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    os.symlink(os.path.join(ROOT, "lib"), tmp_path / "lib")
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    last = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []))
    assert "dlogits  | wrong    |" in last and "cell [3] line 1: the one-hot's -1 is left out" in last


# the child never outlives the grader, and the limit fits the run

def wait_for(path, seconds=60):
    """A file's text once it is there and written (a file is created empty, then written)."""
    deadline = time.time() + seconds
    while not (path.exists() and path.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    return path.read_text()


def gone(pid):
    """Ended: no such process, or a zombie waiting for its reaper."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGHUP])
def test_the_child_dies_with_the_grader_and_leaves_no_folder(names_txt, tmp_path, how):
    looping = planted("import sys; open('job', 'w').write(sys.argv[1]); open('pid', 'w').write(str(os.getpid()))\n"
                      "while True:\n    pass")
    (tmp_path / "ex1.py").write_text(looping)
    p = subprocess.Popen([sys.executable, PRACTICE, "check", "ex1.py", "--timeout", "60", "--no-graph"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child, folder = int(wait_for(tmp_path / "pid")), os.path.dirname(wait_for(tmp_path / "job"))
    time.sleep(0.3)
    p.send_signal(how)
    out, err = p.communicate(timeout=30)
    deadline = time.time() + 10
    while not (gone(child) and not os.path.exists(folder)) and time.time() < deadline:
        time.sleep(0.05)
    assert gone(child) and not os.path.exists(folder), (how, err)
    if how == signal.SIGHUP:  # the grader's own way out: one line, 129
        assert p.returncode == 129 and err.strip().startswith("hung up: the grader was running your file, at line")


def test_what_the_file_starts_is_ended_and_the_grader_is_not_its_to_signal(names_txt, tmp_path):
    code, out, err = check(tmp_path, planted("import subprocess; open('sub', 'w').write(str(subprocess.Popen(['sleep', "
                                             "'60']).pid))\nimport signal; os.kill(os.getppid(), signal.SIGTERM)"))
    assert code == 1 and err == "" and f"ex1: 26 of 26 ok; wrong: line {L + 1}" in out
    assert "raises PermissionError: [Errno 1] the grader's process" in out
    assert gone(int((tmp_path / "sub").read_text()))


def test_the_limit_grows_with_the_shape_and_is_said_first(names_txt, tmp_path):
    from lib.grader.sandbox import TIME_LIMIT, time_limit
    from lib.grader.workspace import cost_of
    small, large = (time_limit("ex1", n, 64, 0, cost_of(n, 64)) for n in (32, 20000))
    assert TIME_LIMIT <= small < 2 * TIME_LIMIT < 5 * TIME_LIMIT < large  # measured: a loaded machine's is larger
    assert time_limit("ex4", 1000, 200, 2000, 0) > time_limit("ex4", 32, 200, 2000, 0) >= TIME_LIMIT + 4
    code, out, _ = check(tmp_path, LECTURE)
    assert code == 0 and re.match(r"grading ex1\.py: .*; time limit [\d.]+ s\n", out)


def test_a_file_run_with_python_takes_its_limit_from_the_environment(names_txt, tmp_path):
    folder = tmp_path / "practice"
    folder.mkdir()
    os.symlink(os.path.join(ROOT, "lib"), tmp_path / "lib")
    (folder / "ex1.py").write_text(planted("while True:\n    pass"))
    env = dict(os.environ, PRACTICE_TIMEOUT="2")
    p = subprocess.run([sys.executable, "practice/ex1.py"], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=60)
    assert p.returncode == 1 and "time limit 2 s" in p.stdout
    assert "(PRACTICE_TIMEOUT=SECONDS python practice/ex1.py gives it longer)" in p.stdout
    p = subprocess.run([sys.executable, "practice/ex1.py"], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PRACTICE_TIMEOUT="soon"), timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "PRACTICE_TIMEOUT='soon'" in p.stderr


def test_the_jupyter_route_needs_no_converter(names_txt, tmp_path):
    """`new --notebook` writes the notebook itself; `check` reads a notebook by its code cells and names a line by
    its cell; a cell above the set-up cell (an import) is part of the learner's work."""
    import json

    import nbclient
    import nbformat
    folder = tmp_path / "practice"
    os.symlink(os.path.join(ROOT, "lib"), tmp_path / "lib")
    p = subprocess.run([sys.executable, PRACTICE, "new", "ex2", "--notebook", "--to", str(folder / "ex2.ipynb")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "open it in Jupyter" in p.stdout
    nb = json.loads((folder / "ex2.ipynb").read_text())
    blank = next(k for k, c in enumerate(nb["cells"]) if c["source"].endswith("dlogits = None  # (n, V)"))
    nb["cells"][blank]["source"] = "# %% cross-entropy loss\ndlogits = (probs - np.eye(V)[Yb]) / n * math.exp(0)"
    nb["cells"].insert(0, dict(cell_type="code", id="mine", metadata={}, execution_count=None, outputs=[],
                               source="import math"))
    (folder / "ex2.ipynb").write_text(json.dumps(nb))
    notebook = nbformat.read(str(folder / "ex2.ipynb"), as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    last = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []))
    assert "ex2: 1 of 1 ok" in last, last
    nb["cells"][blank + 1]["source"] = "# %% cross-entropy loss\ndlogits = probs / n"
    (folder / "ex2.ipynb").write_text(json.dumps(nb))
    p = subprocess.run([sys.executable, PRACTICE, "check", str(folder / "ex2.ipynb"), "--no-graph"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "cell 3 line 2: the one-hot's -1 is left out" in p.stdout, p.stdout
