"""The practice files and the grader: every classic mistake is named, once, on its own row."""
import os
import subprocess
import sys

import numpy as np
import pytest

import practice
from lib import grader
from lib.lecture import GRADIENTS, backward, forward
from lib.model import exercise_batch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ALTERNATIVE = open(os.path.join(HERE, "practice", "ex1_alternative.py")).read()
EX4 = open(os.path.join(HERE, "practice", "ex4_solution.py")).read()


@pytest.fixture(scope="module")
def batch(names_txt):
    _, params, Xb, Yb = exercise_batch(32, n_hidden=64, seed=42)
    values = forward(**params, Xb=Xb, Yb=Yb)
    return values, backward(**values)


def graded(source, batch, exercise="ex1"):
    rows, _ = grader.grade(source, "practice.py", exercise, *batch)
    return {r["name"]: r for r in rows}


def test_new_then_check_an_untouched_file(call, names_txt, tmp_path):
    path = tmp_path / "ex1.py"
    code, out, _ = call(practice.main, "new", "ex1", "--to", path)
    assert code == 0 and "26 blanks" in out
    text = path.read_text()
    assert "dlogprobs = None  # TODO  (n, V)" in text and "#   bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdims=True)" in text
    code, out, err = call(practice.main, "check", path)
    rows = [ln for ln in out.splitlines() if ln.startswith("d") and " | " in ln]
    assert code == 1 and err == "" and len(rows) == 26 and all("| missing  |" in r for r in rows)
    assert [r.split()[0] for r in rows] == list(GRADIENTS)


def test_new_never_overwrites_without_force(call, names_txt, tmp_path):
    path = tmp_path / "ex2.py"
    path.write_text("dlogits = 42  # my work\n")
    code, _, err = call(practice.main, "new", "ex2", "--to", path)
    assert code == 2 and "--force" in err and err.count("\n") == 1
    assert path.read_text() == "dlogits = 42  # my work\n"
    code, _, _ = call(practice.main, "new", "ex2", "--to", path, "--force")
    assert code == 0 and "dlogits = None  # TODO  (n, V)" in path.read_text()


def test_a_correct_solution_written_differently_passes(call, names_txt, tmp_path):
    path = tmp_path / "ex1.py"
    path.write_text(ALTERNATIVE)
    for shape in ((), ("--batch-size", 2), ("--batch-size", 5, "--n-hidden", 7, "--seed", 3)):
        code, out, _ = call(practice.main, "check", path, *shape)
        assert code == 0 and "ex1: 26 of 26 ok" in out, out
    assert path.read_text() == ALTERNATIVE  # the learner's file is never modified


def test_the_projects_own_answers_pass(batch):
    """Every `hint --answer` line, pasted into a practice file, is right (ex1 and the one-step forms)."""
    for exercise in ("ex1", "ex2", "ex3", "ex4"):
        answers = [grader.hint(exercise, g, answer=True).split("answer")[-1].split(":\n", 1)[1]
                   for g in grader.EXERCISES[exercise]["graded"]]
        source = "\n".join(ln[4:] for a in answers for ln in a.splitlines())
        rows = graded(source, batch, exercise)
        assert all(r["status"] == "ok" for r in rows.values()), (exercise, rows)


PLANTED = [  # (what, line in the alternative solution, its replacement, the wrong row, words of the diagnosis)
    ("keepdims", "dcounts_sum_inv = np.sum(counts * dprobs, axis=1, keepdims=True)",
     "dcounts_sum_inv = np.sum(counts * dprobs, axis=1)", "dcounts_sum_inv", "keep it with keepdims=True"),
    ("branch", "dcounts = dcounts + np.ones((n, counts.shape[1])) * dcounts_sum\n", "", "dcounts",
     "matches the first branch only"),
    ("branch bndiff", "dbndiff = dbnraw * bnvar_inv + dbndiff2 * 2 * bndiff", "dbndiff = dbnraw * bnvar_inv",
     "dbndiff", "matches the first branch only"),
    ("branch hprebn", "dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n", "dhprebn = np.ones(hprebn.shape) * dbnmeani / n",
     "dhprebn", "matches the second branch only"),
    ("bessel", "dbnvar / (n - 1)", "dbnvar / n", "dbndiff2", "off by a factor (n-1)/n"),
    ("mean forgotten", "= -1 / n", "= -1", "dlogprobs", "the 1/n of the mean over the batch is missing"),
    ("mean twice", "= -1 / n", "= -1 / n / n", "dlogprobs", "applied twice"),
    ("sign", "dbnmeani = -np.sum", "dbnmeani = np.sum", "dbnmeani", "the sign is flipped"),
    ("transpose", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "dW2", "the transpose of the answer"),
    ("scatter", "np.add.at(dC, Xb, demb)", "dC[Xb] += demb", "dC", "rows of dC are short. Use np.add.at"),
    ("aliasing", "dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n",
     "dhprebn = dbndiff\ndhprebn += np.ones(hprebn.shape) * dbnmeani / n", "dhprebn", "dbndiff.copy()"),
    ("keepdim", "np.sum(counts * dprobs, axis=1, keepdims=True)", "(counts * dprobs).sum(1, keepdim=True)",
     "dcounts_sum_inv", "numpy spells it keepdims=True"),
    (".clone()", "dbndiff = dbnraw * bnvar_inv + dbndiff2 * 2 * bndiff",
     "dbndiff = (dbnraw * bnvar_inv).clone() + dbndiff2 * 2 * bndiff", "dbndiff", "numpy's copy is .copy()"),
    (".view()", "demb = dembcat.reshape(n, -1, C.shape[1])", "demb = dembcat.view(emb.shape)", "demb", ".reshape(...)"),
    ("torch.", "dcounts_sum = -1 / counts_sum ** 2 * dcounts_sum_inv",
     "dcounts_sum = -torch.ones_like(counts_sum) / counts_sum ** 2 * dcounts_sum_inv", "dcounts_sum", "no torch here"),
    ("F.", "dlogits = dnorm_logits + onehot * dlogit_maxes", "dlogits = F.softmax(logits, 1)", "dlogits", "F.softmax"),
    (".item()", "dbnvar = dbnvar_inv * (-0.5)", "dbnvar = dbnvar_inv.item() * (-0.5)", "dbnvar", "float(x)"),
    ("raises", "dh = np.dot(dlogits, W2.T)", "dh = np.dot(dlogits, W2)", "dh", "line 17 raises ValueError"),
    ("anything else", "(1 - np.tanh(hpreact) ** 2)", "(1 - np.tanh(hpreact))", "dhpreact", "largest difference at dhpreact["),
]


@pytest.mark.parametrize("what, old, new, row, words", PLANTED, ids=[p[0] for p in PLANTED])
def test_each_planted_mistake_gives_one_wrong_row_and_names_it(batch, what, old, new, row, words):
    assert old in ALTERNATIVE
    rows = graded(ALTERNATIVE.replace(old, new, 1), batch)
    wrong = [g for g, r in rows.items() if r["status"] == "wrong"]
    assert wrong == [row], (what, wrong)
    assert words in rows[row]["why"], rows[row]["why"]
    assert all(r["status"] in ("ok", "inherits") for g, r in rows.items() if g != row)
    if what in ("keepdims", "branch", "bessel", "raises"):  # a mistake upstream: the rows below inherit it
        assert any(r["status"] == "inherits" for r in rows.values())
    assert all(row in r["why"] or r["status"] != "inherits" or "inherits the error of" not in r["why"]
               or any(g in r["why"] for g, s in rows.items() if s["status"] != "ok") for r in rows.values())


def test_broadcast_blowup_is_explained_on_the_row_below(batch):
    rows = graded(ALTERNATIVE.replace(PLANTED[0][1], PLANTED[0][2]), batch)
    assert rows["dcounts_sum"]["status"] == "inherits"
    assert "(32, 32)" in rows["dcounts_sum"]["why"] and "dcounts_sum_inv" in rows["dcounts_sum"]["why"]
    alias = graded(ALTERNATIVE.replace(PLANTED[10][1], PLANTED[10][2]), batch)
    assert alias["dbndiff"]["status"] == "inherits" and "dhprebn = dbndiff" in alias["dbndiff"]["why"]


def test_ex3_textbook_formula_and_ex2(batch):
    ex3 = ("dbngain = (bnraw * dhpreact).sum(0, keepdims=True)\ndbnbias = dhpreact.sum(0, keepdims=True)\n"
           "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))\n")
    rows = graded(ex3, batch, "ex3")
    assert [g for g, r in rows.items() if r["status"] != "ok"] == ["dhprebn"]
    assert "biased variance" in rows["dhprebn"]["why"] and "n/(n-1)" in rows["dhprebn"]["why"]
    ex2 = "p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)\ndlogits = (p - np.eye(27)[Yb]) / n\n"
    assert graded(ex2, batch, "ex2")["dlogits"]["status"] == "ok"
    assert "n = 32 times too large" in graded(ex2.replace("Yb]) / n", "Yb])"), batch, "ex2")["dlogits"]["why"]


def test_ex4_trains_beside_the_project(call, names_txt, tmp_path):
    path = tmp_path / "ex4.py"
    path.write_text(EX4)
    code, out, _ = call(practice.main, "check", path, "--steps", 300, "--out", tmp_path)
    assert code == 0 and "ex4: 13 of 13 ok" in out and "trained 300 steps" in out
    yours, ours = out.split("last 100 steps ")[1].split()[0::2][:2]
    assert yours == ours  # the same run, to the printed digit
    assert os.path.getsize(tmp_path / "practice_ex4.png") > 10_000
    path.write_text(EX4.replace("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h"))
    code, out, _ = call(practice.main, "check", path, "--steps", 50, "--out", tmp_path)
    assert code == 1 and "no training run with your backward" in out and "dW2 (27, 200)" in out


def test_bad_input_is_one_line(call, names_txt, tmp_path):
    code, _, err = call(practice.main, "check", tmp_path / "nope.py")
    assert code == 2 and "no such file" in err and err.count("\n") == 1
    odd = tmp_path / "mine.py"
    odd.write_text("dlogits = 1\n")
    code, _, err = call(practice.main, "check", odd)
    assert code == 2 and "--exercise" in err
    code, _, err = call(practice.main, "hint", "ex2", "dcounts")
    assert code == 2 and "asks for dlogits" in err
    wide = tmp_path / "ex2.py"
    wide.write_bytes("dlogits = None\n".encode("utf-16"))  # what some Windows editors call 'Unicode'
    code, _, err = call(practice.main, "check", wide)
    assert code == 2 and "looks like UTF-16" in err and err.count("\n") == 1
    broken = tmp_path / "ex1.py"
    broken.write_bytes(b"\xef\xbb\xbfdlogprobs = (\n")  # a BOM, and a line that does not parse
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "practice.py"), "check", str(broken)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "line 1: SyntaxError" in p.stdout and "Traceback" not in p.stderr + p.stdout


def test_hint_gives_the_derivative_not_the_answer(call, names_txt):
    code, out, _ = call(practice.main, "hint", "ex1", "dcounts")
    assert code == 0 and "used twice" in out and "(n, V)" in out and "dcounts_sum_inv * dprobs" not in out.split("used in")[1]
    assert "answer" not in out
    code, out, _ = call(practice.main, "hint", "ex1", "dcounts", "--answer")
    assert "dcounts += np.ones_like(counts) * dcounts_sum" in out
