"""The grader a learner can trust: every correct solution in the corpus passes every row, at several
shapes; every classic mistake, planted in a correct solution, gives exactly one `wrong` row that
names it. (The files are tests/grader/corpus/: correct solutions written in the idioms learners publish.)"""
import ast
import glob
import os
import re
import subprocess
import sys

import pytest

import practice
from lib import source
from lib.grader import catalogue, face, mistakes
from lib.lecture import GRADIENTS

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = sorted(glob.glob(os.path.join(HERE, "corpus", "ex*.py")))


def fixture(name):
    with open(os.path.join(HERE, "corpus", name)) as f:
        return f.read()


def graded(source, exercise, **shape):
    rows, _ = face.rows(source, exercise, **shape)
    return {r.name: r for r in rows}


@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p) for p in FIXTURES])
@pytest.mark.parametrize("shape", [dict(), dict(batch_size=2), dict(batch_size=5, n_hidden=7, seed=3)],
                         ids=["lecture", "batch2", "odd"])
def test_every_correct_solution_passes_every_row(names_txt, path, shape):
    source = open(path).read()
    exercise = face.guess_exercise(source)
    rows = graded(source, exercise, **shape)
    assert list(rows) == list(catalogue.EXERCISES[exercise]["graded"])  # no line rows: nothing wrong anywhere
    assert all(r.status == "ok" for r in rows.values()), {g: r.why for g, r in rows.items() if r.status != "ok"}


def test_the_corpus_covers_every_exercise_in_many_idioms():
    kinds = [face.guess_exercise(open(p).read()) for p in FIXTURES]
    assert len(FIXTURES) >= 10 and {k: kinds.count(k) >= 2
                                    for k in catalogue.EXERCISES} == dict.fromkeys(catalogue.EXERCISES, True)


def test_the_projects_own_answers_pass(names_txt):
    """Every `hint --answer` line, pasted into a practice file, is right (ex1 and the one-step forms)."""
    for exercise, ex in catalogue.EXERCISES.items():
        source = "\n".join(mistakes.answer_source(g, fused=exercise != "ex1") for g in ex["graded"]
                           if exercise != "ex1" or g in ("dlogprobs",))
        if exercise == "ex1":
            source = mistakes.answer_source("dlogprobs")
            for g in GRADIENTS[1:]:
                source += "\n" + mistakes.answer_source(g)
            source = "\n".join(dict.fromkeys(source.splitlines()))  # dcounts' two lines come with both names
        rows = graded(source, exercise)
        assert all(r.status == "ok" for r in rows.values()), (exercise, rows)


# (fixture, line in it, its replacement, exercise, the one wrong row, words of its diagnosis)
PLANTED = [
    # exercise 2: the cross-entropy in one step
    ("ex2_lecture.py", "dlogits[range(n), Yb] -= 1", "dlogits[:, Yb] -= 1", "dlogits", "one entry per row"),
    ("ex2_lecture.py", "dlogits /= n", "dlogits /= n * 27", "dlogits", "n*V"),
    ("ex2_lecture.py", "dlogits[range(n), Yb] -= 1", "", "dlogits", "-1 is left out"),
    ("ex2_onehot.py", "dlogits = (p - y) / batch_size", "dlogits = (logits - y) / batch_size", "dlogits",
     "logits where probs"),
    ("ex2_onehot.py", "dlogits = (p - y) / batch_size", "dlogits = (np.log(p) - y) / batch_size", "dlogits",
     "log-probabilities where probs"),
    ("ex2_onehot.py", "counts.sum(axis=1, keepdims=True)", "counts.sum(axis=1)", "dlogits", "keepdims=True belongs"),
    ("ex2_lecture.py", "np.exp(logits).sum(1, keepdims=True)", "np.exp(logits).sum(1)", "dlogits", "keepdims=True"),
    ("ex2_onehot.py", "counts.sum(axis=1, keepdims=True)", "counts.sum(axis=0)", "dlogits", "axis 0 (the batch)"),
    ("ex2_onehot.py", "dlogits = (p - y) / batch_size", "dlogits = (p - y)", "dlogits", "mean is missing"),
    # exercise 3: batchnorm in one step
    ("ex3_lecture.py", "dhprebn = bngain*bnvar_inv/n", "dhprebn = bnvar_inv/n", "dhprebn", "bngain is left out"),
    ("ex3_lecture.py", "dhprebn = bngain*bnvar_inv/n", "dhprebn = bngain*bnvar**-0.5/n", "dhprebn", "EPS is left out"),
    ("ex3_lecture.py", "n/(n-1)*bnraw", "(n-1)/n*bnraw", "dhprebn", "Bessel's factor is inverted"),
    ("ex3_lecture.py", "n/(n-1)*bnraw", "bnraw", "dhprebn", "biased variance"),
    ("ex3_lecture.py", "dhpreact.sum(0) - n", "dhpreact.sum(1, keepdims=True) - n", "dhprebn", "axis 1"),
    ("ex3_lecture.py", "(dhpreact*bnraw).sum(0))", "(dhpreact - bnraw))", "dhprebn", "transcript's typo"),
    ("ex3_lecture.py", "dhprebn = bngain*bnvar_inv/n", "dhprebn = bngain*(bnvar + EPS)**-1.5/n", "dhprebn",
     "power -1.5"),
    ("ex3_rearranged.py", "dbngain = (dhpreact * bnraw).sum(0)", "dbngain = (dhpreact * bnraw).sum(1)", "dbngain",
     "summed over axis 1"),
    # exercise 4: the whole backward
    ("ex4_onehot.py", "demb = dembcat.reshape(n, block_size, n_embd)",
     "demb = dembcat.reshape(n, n_embd, block_size).transpose(0, 2, 1)", "demb", "wrong order"),
    ("ex4_lecture.py", "demb = dembcat.reshape(emb.shape)", "demb = dembcat.reshape(n, n_embd, block_size)", "demb",
     "`n_embd` and `block_size` the other way round in `dembcat.reshape(n, n_embd, block_size)`"),
    ("ex4_onehot.py", "dhpreact = dh * (1 - h ** 2)", "dhpreact = dh * (1 - hpreact ** 2)", "dhpreact",
     "pre-activation"),
    ("ex4_lecture.py", "dbngain = (bnraw * dhpreact).sum(0)", "dbngain = (hpreact * dhpreact).sum(0)", "dbngain",
     "hpreact where bnraw belongs"),
    # exercise 1: every step
    ("ex1_lecture.py", "dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes",
     "dlogits[:, logits.argmax(1)] += dlogit_maxes", "dlogits", "random upstream"),
    ("ex1_loops.py", "dlogits[i, np.argmax(logits[i])] += dlogit_maxes[i, 0]",
     "dlogits[i, np.argmax(logits[i])] += dlogit_maxes.sum()", "dlogits", "whole batch's dlogit_maxes"),
    ("ex1_functions.py", "dlogits = dnorm_logits + dlogit_maxes_grad", "dlogits = dnorm_logits.copy()", "dlogits",
     "first branch only"),
    ("ex1_loops.py", "dlogit_maxes = (-dnorm_logits).sum(1, keepdims=True)",
     "dlogit_maxes = dnorm_logits.sum(1, keepdims=True)", "dlogit_maxes", "sign is flipped"),
    ("ex1_scatter.py", "dbndiff += 2 * bndiff * dbndiff2", "dbndiff += 2 * bndiff2 * dbndiff2", "dbndiff",
     "bndiff2 where bndiff belongs"),
    ("ex1_scatter.py", "np.add.at(dC, Xb.ravel(), demb.reshape(-1, n_embd))",
     "np.add.at(dC, Xb.T.ravel(), demb.reshape(-1, n_embd))", "dC", "mismatched axes"),
    ("ex1_lecture.py", "dbndiff2 = (1.0/(n-1))", "dbndiff2 = (1.0/n)", "dbndiff2", "Bessel's 1/(n-1)"),
    ("ex1_lecture.py", "dhprebn += 1.0/n *", "dhprebn += 1.0/(n-1) *", "dhprebn", "branch of bnmeani"),
    ("ex1_lecture.py", "dlogprobs[range(n), Yb] = -1.0/n", "dlogprobs[range(n), Yb] = -1.0", "dlogprobs",
     "1/n of the mean"),
    ("ex1_lecture.py", "db1 = dhprebn.sum(0)", "db1 = dhprebn.mean(0)", "db1", "random upstream"),
    ("ex1_lecture.py", "db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)", "db2", "summed over axis 1"),
    ("ex1_lecture.py", "dW2 = h.T @ dlogits", "dW2 = list(h.T @ dlogits)", "dW2", "Python list"),
    ("ex1_lecture.py", "dbnvar = (-0.5*(bnvar + 1e-5)**-1.5)", "dbnvar = (-0.5*bnvar**-1.5)", "dbnvar",
     "EPS is left out"),
    ("ex1_lecture.py", "dcounts_sum_inv = (counts * dprobs).sum(1, keepdims=True)",
     "dcounts_sum_inv = (counts * dprobs).sum(1)", "dcounts_sum_inv", "broadcasting turns dcounts_sum"),
    ("ex1_lecture.py", "dlogprobs = np.zeros_like(logprobs)", "n = 5\ndlogprobs = np.zeros_like(logprobs)",
     "line 13", "rebinds n"),
    ("ex1_loops.py", "dbnvar = dbnvar_inv * (-0.5) * (bnvar + 1e-5) ** -1.5",
     "EPS = 0\ndbnvar = dbnvar_inv * (-0.5) * (bnvar + 1e-5) ** -1.5", "line 28", "rebinds EPS"),
    ("ex1_lecture.py", "dlogprobs = np.zeros_like(logprobs)", "import torch\ndlogprobs = np.zeros_like(logprobs)",
     "line 13", "no torch here"),
    ("ex1_functions.py", "max_idx = np.argmax(logits, axis=1)", "max_idx = np.argmax(logits, dim=1)", "dlogits",
     "line 27: torch's `dim=` where numpy's `axis=` belongs"),
    ("ex1_alternative.py", "dcounts = dcounts + np.ones((n, counts.shape[1])) * dcounts_sum\n", "", "dcounts",
     "first branch only"),
    ("ex1_alternative.py", "dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n",
     "dhprebn = np.ones(hprebn.shape) * dbnmeani / n", "dhprebn", "second branch only"),
    ("ex1_alternative.py", "dbnmeani = -np.sum", "dbnmeani = np.sum", "dbnmeani", "the sign is flipped"),
    ("ex1_alternative.py", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "dW2", "the transpose of the answer"),
    ("ex1_alternative.py", "np.add.at(dC, Xb, demb)", "dC[Xb] += demb", "dC", "rows of dC are short"),
    ("ex1_alternative.py", "dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n",
     "dhprebn = dbndiff\ndhprebn += np.ones(hprebn.shape) * dbnmeani / n", "dbndiff", "dbndiff.copy()"),
    ("ex1_alternative.py", "np.sum(counts * dprobs, axis=1, keepdims=True)", "(counts * dprobs).sum(1, keepdim=True)",
     "dcounts_sum_inv", "numpy's `keepdims=` belongs"),
    ("ex1_alternative.py", "dbndiff = dbnraw * bnvar_inv + dbndiff2 * 2 * bndiff",
     "dbndiff = (dbnraw * bnvar_inv).clone() + dbndiff2 * 2 * bndiff", "dbndiff", "numpy's copy is .copy()"),
    ("ex1_alternative.py", "demb = dembcat.reshape(n, -1, C.shape[1])", "demb = dembcat.view(emb.shape)", "demb",
     ".reshape(...)"),
    ("ex1_alternative.py", "dbnvar = dbnvar_inv * (-0.5)", "dbnvar = dbnvar_inv.item() * (-0.5)", "dbnvar",
     "`dbnvar_inv.item()` where `dbnvar_inv` belongs"),
    ("ex1_alternative.py", "dh = np.dot(dlogits, W2.T)", "dh = np.dot(dlogits, W2)", "dh", "raises ValueError"),
    ("ex1_lecture.py", "dprobs = (1.0 / probs) * dlogprobs", "dprobs = dlogprobs", "dprobs",
     "dlogprobs, the gradient from above, passed on alone"),
    ("ex1_alternative.py", "(1 - np.tanh(hpreact) ** 2)", "(1 - np.tanh(hpreact) ** 3)", "dhpreact",
     "the power `3` where `2` belongs, in `np.tanh(hpreact) ** 3`: d x^p = p x^(p-1); h = tanh(hpreact)"),
    ("ex1_einsum.py", "dlogprobs = -Y1h / n", "dlogprobs = np.zeros(logprobs.shape, dtype=int)\n"
     "dlogprobs[range(n), Yb] = -1 / n", "dlogprobs", "an array of int64"),
    ("ex1_einsum.py", "dcounts_sum = -dcounts_sum_inv / counts_sum ** 2", "dcounts_sum = -1 / counts_sum ** 2",
     "dcounts_sum", "the local derivative alone"),
    ("ex1_einsum.py", "dhpreact = (1 - h ** 2) * dh", "dhpreact = 1 - h ** 2", "dhpreact", "local derivative alone"),
    ("ex1_einsum.py", 'dcounts_sum_inv = np.einsum("ij,ij->i", counts, dprobs)[:, None]',
     "dcounts_sum_inv = counts * dprobs", "dcounts_sum_inv", "not summed"),
    ("ex1_einsum.py", "dbngain = np.sum(dhpreact * bnraw, axis=0, keepdims=True)", "dbngain = dhpreact * bnraw",
     "dbngain", "not summed"),
    ("ex1_einsum.py", "dnorm_logits = counts * dcounts", "dnorm_logits = np.exp(logits) * dcounts", "dnorm_logits",
     "exp(logits) where exp(norm_logits)"),
    ("ex1_einsum.py", "dbnvar = -0.5 * bnvar_inv ** 3 * dbnvar_inv", "dbnvar = -0.5 * bnvar_inv ** 2 * dbnvar_inv",
     "dbnvar", "bnvar_inv**3"),
    ("ex1_einsum.py", "dbnraw = dhpreact * bngain", "dbnraw = dhpreact", "dbnraw", "bngain is left out"),
    ("ex1_einsum.py", "    dC[ix] += flat[row]", "    dC[ix] = flat[row]", "dC", "rows of dC are short"),
    ("ex1_einsum.py", 'dW2 = np.einsum("nh,nv->hv", h, dlogits)', 'dW2 = np.einsum("nh,nv->hv", h, dlogits) / n', "dW2",
     "applied twice"),
    ("ex4_onehot.py", "dW1 = embcat.T @ dhprebn", "dW1 = embcat.T @ dhpreact", "dW1", "batchnorm layer sits between"),
    ("ex4_lecture.py", "dlogits /= n", "dlogits /= n\ndlogits = dlogits.T", "dlogits", "transpose"),
    ("ex2_lecture.py", "dlogits = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)", "dlogits = probs",
     "dlogits", "line 5 changes probs in place: `dlogits = probs` (line 4) made no copy, so changing dlogits"),
    # a view is no copy either: the gradient it spoils is the wrong row, the line that changes it in place is not blamed
    ("ex1_lecture.py", "dhprebn = dbndiff.copy()", "dhprebn = dbndiff[:]", "dbndiff",
     "`dhprebn = dbndiff[:]` makes no copy: dhprebn and dbndiff share one array"),
    ("ex1_lecture.py", "dhprebn = dbndiff.copy()", "dhprebn = np.asarray(dbndiff)", "dbndiff",
     "`dhprebn = np.asarray(dbndiff)` makes no copy"),
    # a product of sums: about zero here (bnraw sums to zero over the batch), like 'the local derivative alone';
    # the catalogue's form fails under random upstream gradients, and the search names the product
    ("ex3_lecture.py", "dbngain = (bnraw * dhpreact).sum(0, keepdims=True)",
     "dbngain = bnraw.sum(0, keepdims=True) * dhpreact.sum(0, keepdims=True)", "dbngain",
     "multiplies sums where the sum of the products belongs"),
]


@pytest.mark.parametrize("name, old, new, row, words", PLANTED, ids=[f"{p[0][:-3]}:{p[3]}:{p[4][:20]}"
                                                                     for p in PLANTED])
def test_each_planted_mistake_gives_one_wrong_row_and_names_it(names_txt, name, old, new, row, words):
    source = fixture(name)
    assert old in source
    rows = graded(source.replace(old, new, 1), face.guess_exercise(source))
    wrong = [g for g, r in rows.items() if r.status == "wrong"]
    assert wrong == [row], {g: rows[g].why for g in wrong}
    assert words in rows[row].why, rows[row].why
    assert all(r.status in ("ok", "inherits") for g, r in rows.items() if g != row)


def test_a_layer_that_recomputes_the_variance_with_numpys_default_ddof_is_named(names_txt):
    """np.var's ddof=0 in a layer-style backward: both gradients it returns are off, and the one wrong line is one
    row, the first gradient's; the other inherits it."""
    source = fixture("ex3_recomputed.py")
    rows = graded(source.replace("ddof=1, keepdims", "ddof=0, keepdims", 1), "ex3")
    assert {g: r.status for g, r in rows.items()} == dict(dbngain="wrong", dbnbias="ok", dhprebn="inherits")
    assert "divides by n where the forward's batch variance divides by n-1 (ddof=1)" in rows["dbngain"].why
    assert rows["dbngain"].why.startswith("line 9: ") and "see dbngain" in rows["dhprebn"].why  # the var line


def test_one_mistake_upstream_is_one_row_and_the_rows_below_inherit_it(names_txt):
    rows = graded(fixture("ex1_alternative.py").replace("dbnvar / (n - 1)", "dbnvar / n"), "ex1")
    assert [g for g, r in rows.items() if r.status == "wrong"] == ["dbndiff2"]
    assert rows["dbndiff"].status == "inherits" and "dbndiff2" in rows["dbndiff"].why
    keep = graded(fixture("ex1_lecture.py").replace("(counts * dprobs).sum(1, keepdims=True)",
                                                     "(counts * dprobs).sum(1)"), "ex1")
    assert keep["dcounts_sum"].status == "inherits" and "(32, 32)" in keep["dcounts_sum"].why
    alias = graded(fixture("ex1_alternative.py").replace(
        "dhprebn = dbndiff + np.ones(hprebn.shape) * dbnmeani / n",
        "dhprebn = dbndiff\ndhprebn += np.ones(hprebn.shape) * dbnmeani / n"), "ex1")
    assert alias["dbndiff"].status == "wrong" and "dhprebn = dbndiff" in alias["dbndiff"].why
    assert alias["dhprebn"].status == "ok"  # the line that changed dbndiff is right: the row is the spoiled one's
    torch = graded(fixture("ex1_lecture.py").replace("dlogprobs = np.zeros_like(logprobs)",
                                                      "import torch\ndlogprobs = torch.zeros_like(logprobs)"), "ex1")
    assert [g for g, r in torch.items() if r.status == "wrong"] == ["line 13"]
    assert torch["dlogprobs"].status == "inherits" and "line 13" in torch["dlogprobs"].why


def test_printing_a_gradient_between_its_two_lines_changes_nothing(names_txt):
    line = "dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes"
    source = fixture("ex1_lecture.py").replace(line, "print('dlogits so far:', dlogits.sum())\n" + line)
    assert all(r.status == "ok" for r in graded(source, "ex1").values())


def test_right_is_right_for_shapes_that_only_drop_a_size_1_axis(names_txt):
    rows = graded(fixture("ex1_lecture.py"), "ex1")
    assert rows["dbnmeani"].status == "ok" and "keepdims=True" in rows["dbnmeani"].why
    assert rows["dbnmeani"].maxdiff is not None and rows["dbnmeani"].maxdiff < 1e-12
    row = graded(fixture("ex3_rearranged.py"), "ex3")["dbngain"]
    assert row.status == "ok" and "(64,) where (1, 64)" in row.why


def test_a_hidden_mistake_is_said_to_be_caught_only_with_random_upstream(names_txt):
    rows = graded(fixture("ex1_loops.py").replace("dlogit_maxes = (-dnorm_logits).sum(1, keepdims=True)",
                                                  "dlogit_maxes = dnorm_logits.sum(1, keepdims=True)"), "ex1")
    row = rows["dlogit_maxes"]
    assert row.status == "wrong" and "the sign is flipped" in row.why and "random upstream" in row.why
    assert row.maxdiff < 1e-15  # the numbers shown are the true ones: about zero, as the answer's


def test_the_exercise_is_read_from_the_file(names_txt):
    assert face.guess_exercise("# Exercise 3: mine\ndlogits = 1\n") == "ex3"
    assert [face.guess_exercise(fixture(n)) for n in ("ex1_scatter.py", "ex2_onehot.py", "ex3_lecture.py",
                                                        "ex4_onehot.py")] == ["ex1", "ex2", "ex3", "ex4"]
    assert face.guess_exercise("x = 1\n") is None


def test_the_knowledge_is_one_place_per_gradient_and_a_list_of_mistakes():
    assert set(catalogue.KNOWLEDGE) == set(GRADIENTS)
    assert all(k["hint"] for k in catalogue.KNOWLEDGE.values())
    assert all(m.kind in ("type", "shape", "value") for m in mistakes.MISTAKES) and len(set(mistakes.MISTAKES)) >= 14
    forward = "\n".join(source.forward_lines())
    assert '"""' not in forward and "return" not in forward and forward.startswith("n = len(Xb)")


def test_new_then_check_an_untouched_file(call, names_txt, tmp_path):
    path = tmp_path / "ex1.py"
    code, out, _ = call(practice.main, "new", "ex1", "--to", path)
    assert code == 0 and "26 blanks" in out
    text = path.read_text()
    assert "dlogprobs = None  # (n, V)" in text and "#   bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdims=True)" in text
    assert [ln for ln in text.splitlines() if ln.startswith("# %%")] == [
        "# %% set-up: the lecture's forward pass on one batch (run this cell first)", "# %% cross-entropy loss",
        "# %% linear layer 2", "# %% tanh", "# %% batchnorm layer", "# %% linear layer 1 and the embedding",
        "# %% grade: every gradient above against the project's backward"]
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
    assert code == 0 and "dlogits = None  # (n, V)" in path.read_text()


def test_ex4_trains_beside_the_project(call, names_txt, tmp_path):
    path = tmp_path / "ex4.py"
    path.write_text(fixture("ex4_lecture.py"))
    code, out, _ = call(practice.main, "check", path, "--steps", 300, "--out", tmp_path)
    assert code == 0 and "ex4: 13 of 13 ok" in out and "trained 300 steps" in out
    assert "lines 23, 25, 26 update the parameters: not run" in out  # the update lines
    yours, ours = out.split("last 100 steps ")[1].split()[0::2][:2]
    assert yours == ours  # the same run, to the printed digit
    assert os.path.getsize(tmp_path / "practice_ex4.png") > 10_000
    path.write_text(fixture("ex4_lecture.py").replace("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h"))
    code, out, _ = call(practice.main, "check", path, "--steps", 50, "--out", tmp_path)
    assert code == 1 and "training with your backward stopped at training step 1: dW2 is (27, 200)" in out


def test_bad_input_is_one_line(call, names_txt, tmp_path):
    code, _, err = call(practice.main, "check", tmp_path / "nope.py")
    assert code == 2 and "no such file" in err and err.count("\n") == 1
    odd = tmp_path / "mine.py"
    odd.write_text("x = 1\n")
    code, _, err = call(practice.main, "check", odd)
    assert code == 2 and "--exercise" in err
    code, _, err = call(practice.main, "hint", "ex2", "dcounts")
    assert code == 2 and "asks for dlogits" in err
    wide = tmp_path / "ex2.py"
    wide.write_bytes("dlogits = None\n".encode("utf-16"))  # what some Windows editors call 'Unicode'
    code, _, err = call(practice.main, "check", wide)
    assert code == 2 and "looks like UTF-16" in err and err.count("\n") == 1
    broken = tmp_path / "ex1.py"
    broken.write_bytes(b"\xef\xbb\xbfdlogprobs = (\r\n")  # a BOM, Windows line ends, a line that does not parse
    code, out, err = call(practice.main, "check", broken)
    assert code == 1 and "line 1: SyntaxError" in out and "Traceback" not in out + err
    short = tmp_path / "words.txt"
    short.write_text("emma\nolivia\nava\nmia\n")
    code, _, err = call(practice.main, "check", odd, "--exercise", "ex1", "--data", short)
    assert code == 2 and err.count("\n") == 1


def answer_parts(source):
    """The right-hand sides of the project's answer statements (whitespace dropped): what a hint must not print."""
    return [re.sub(r"\s+", "", ast.get_source_segment(source, node.value)) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr))]


@pytest.mark.parametrize("exercise", sorted(catalogue.EXERCISES))
def test_hints_never_print_the_answer_and_answer_does(call, names_txt, exercise):
    for g in catalogue.EXERCISES[exercise]["graded"]:
        parts = [p for p in answer_parts(mistakes.answer_source(g, exercise != "ex1")) if len(p) > 6]
        code, out, _ = call(practice.main, "hint", exercise, g)
        assert code == 0 and f"{g}: shape" in out and "answer" not in out
        assert not [p for p in parts if p in re.sub(r"\s+", "", out)], (g, out)
        code, out, _ = call(practice.main, "hint", exercise, g, "--answer")
        assert parts and all(p in re.sub(r"\s+", "", out) for p in parts), (g, out)


def test_a_practice_file_written_before_the_move_still_imports_lib_learner(names_txt, tmp_path):
    """Files made by earlier versions import `from lib.learner import grade, workspace` and probe for lib/learner.py."""
    text = fixture("ex1_lecture.py")
    assert "from lib.learner import grade, workspace" in text and "'lib', 'learner.py'" in text
    (tmp_path / "practice").mkdir()
    os.symlink(os.path.join(os.path.dirname(os.path.dirname(HERE)), "lib"), tmp_path / "lib")
    (tmp_path / "practice" / "ex1.py").write_text(text.replace("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h"))
    p = subprocess.run([sys.executable, "practice/ex1.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 1 and p.stderr == "" and "ex1: 25 of 26 ok; wrong: dW2" in p.stdout
    assert "dW2             | wrong    |            - |         - | line 27: shape (27, 64) where (64, 27)" in p.stdout
