"""The repair search: every kind of edit, planted once in a solution of the corpus, is found and named
where, what and why; a fix must hold under random upstream gradients and at a second shape; and a sweep
plants edits into the project's own answer lines."""
import ast
import os
import re

import pytest

from lib.grader import catalogue, edits, face, mistakes, repair

HERE = os.path.dirname(os.path.abspath(__file__))


def fixture(name):
    with open(os.path.join(HERE, "corpus", name)) as f:
        return f.read()


def wrong_rows(source, exercise):
    rows, result = face.rows(source, exercise)
    return [r for r in rows if r.status == "wrong"], result


# (fixture, a right line, the same line with one mistake, the wrong row, the kind of edit, words of the diagnosis)
REPAIRS = [
    ("ex4_chunked.py", "sm /= sm.sum(axis=1, keepdims=True)\nsm[np.arange(n), Yb] -= 1",
     "sm[np.arange(n), Yb] -= 1\nsm /= sm.sum(axis=1, keepdims=True)", "dlogits", "order",
         "lines 6 and 7 in the other order"),
    ("ex2_lecture.py", "dlogits[range(n), Yb] -= 1\ndlogits /= n", "dlogits /= n\ndlogits[range(n), Yb] -= 1",
     "dlogits", "order", "line 5: lines 5 and 6 in the other order: `dlogits /= n` scales what is there"),
    ("ex4_chunked.py", "dhpreact = (1.0 - np.square(h)) * dh", "dhpreact = (1.0 - np.square(h)) + dh", "dhpreact",
     "operator", "`+` where `*` belongs, in `1.0 - np.square(h) + dh`: the chain rule multiplies"),
    ("ex1_einsum.py", "dprobs = dlogprobs * probs ** -1", "dprobs = dlogprobs * counts ** -1", "dprobs", "tensor",
     "`counts` where `probs` belongs: logprobs = log(probs): d log(x)/dx = 1/x"),
    ("ex4_onehot.py", "bnraw * dbngain)", "bnraw * dbnbias)", "dhprebn", "tensor",
     "`dbnbias` where `dbngain` belongs"),  # a gradient computed above for another: the line no longer reads it
    ("ex4_chunked.py", "dbnvar_inv = (bndiff * dbnraw).sum(axis=0, keepdims=True)",
     "dbnvar_inv = (bndiff * dbnraw).sum(axis=1, keepdims=True)", "dhprebn", "axis",
     "line 16: `(bndiff * dbnraw).sum(axis=1, keepdims=True)` reduces over axis 1 where it must reduce over the batch"),
    ("ex4_chunked.py", "dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv",
     "dbnvar = -0.5 * (bnvar + 1e-5) ** -0.5 * dbnvar_inv", "dhprebn", "power",
     "line 17: the power `-0.5` where `-1.5` belongs, in `(bnvar + 1e-05) ** (-0.5)`: d x^p = p x^(p-1); bnvar_inv = "
     "(bnvar + eps) ** -0.5: d x^-1/2 = -1/2 x^-3/2"),
    ("ex4_chunked.py", "+ 2 * bndiff * (np.ones_like", "+ 0.5 * bndiff * (np.ones_like", "dhprebn", "constant",
     "line 18: `0.5` where `2` belongs"),
    ("ex2_onehot.py", "dlogits = (p - y) / batch_size", "dlogits = p - y / batch_size", "dlogits", "grouping",
     "in `p - y / batch_size` the `/` applies to `y / batch_size`: parentheses around `p - y` belong"),
    ("ex3_lecture.py", "dhprebn = bngain*bnvar_inv/n", "dhprebn = bngain/n", "dhprebn", "term",
     "line 4: a factor `bnvar_inv` is missing from"),
    ("ex2_helper_chain.py", "smax = np.divide(np.exp(logits), np.sum(np.exp(logits), axis=1, keepdims=True))",
     "smax = np.divide(np.exp(h @ W2), np.sum(np.exp(h @ W2), axis=1, keepdims=True))", "dlogits", "subexpression",
     "line 7: `h @ W2` where `logits` belongs: the forward made it: logits = h @ W2 + b2"),
    ("ex2_helper_chain.py", "smax = np.divide(np.exp(logits)", "smax = np.multiply(np.exp(logits)", "dlogits", "call",
     "line 7: `np.multiply` where `np.divide` belongs"),  # an operator written as its numpy function
    ("ex2_lecture.py", "dlogits /= n", "dlogits /= V", "dlogits", "name",
     "line 6: `V` where `n` belongs (the batch size)"),
    ("ex1_loops.py", "        dC[Xb[i, j]] += demb[i, j]", "        dC[Xb[i, j]] += demb[j, i]", "dC", "index",
     "the indices of `demb[j, i]` the other way round"),
    ("ex1_loops.py", "    for j in range(block_size):", "    for j in range(n_embd):", "dC", "name",
     "`n_embd` where `T` belongs (the context length)"),
    ("ex3_lecture.py", "bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))",
     "bngain*bnvar_inv/n * n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0)", "dhprebn",
     "parentheses", "parentheses around `n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw)"
     ".sum(0)` belong"),  # a bracket around three terms dropped
    ("ex1_alternative.py", "(1 - np.tanh(hpreact) ** 2)", "(1 - np.tanh(hpreact ** 2))", "dhpreact", "parentheses",
     "in `np.tanh(hpreact ** 2)` the parentheses belong around `hpreact`"),
    ("ex1_lecture.py", "dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv",
     "dcounts_sum = -1 * counts_sum*-2 * dcounts_sum_inv", "dcounts_sum", "operator",
     "`*` where `**` belongs, in `counts_sum * -2`"),  # as typed: `**` then binds before the `*` on its left
    ("ex1_einsum.py", 'np.einsum("ij,ij->i", counts, dprobs)', 'np.einsum("ij,ij->j", counts, dprobs)',
     "dcounts_sum_inv", "axis", "einsum's `->j` where `->i` belongs"),
    ("ex2_helper_chain.py", "np.sum(np.exp(logits), axis=1, keepdims=True)", "np.sum(np.exp(logits))", "dlogits",
     "axis", "the softmax divides by the sum of the whole matrix"),  # the edit holds; the catalogue's words lead
    ("ex2_onehot.py", "y = np.eye(vocab_size)[Yb]", "y = 1.0 * (np.arange(vocab_size) == Yb)", "dlogits", "index",
     "`Yb` is a row of n numbers where a column belongs (`[:, None]`)"),  # a one-hot's comparison; it raises
    ("ex1_lecture.py", "dcounts += np.ones_like(counts) * dcounts_sum", "dcounts = np.ones_like(counts) * dcounts_sum",
     "dcounts", "assignment", "`=` where `+=` belongs"),  # the first branch, overwritten, is searched too
    ("ex1_lecture.py", "dbngain = (bnraw * dhpreact).sum(0, keepdims=True)", "dbngain = bnraw.T @ dhpreact", "dbngain",
     "product", "`bnraw.T @ dhpreact` is a matrix product"),
    ("ex2_lecture.py", "dlogits = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)\ndlogits[range(n), Yb] -= 1\n"
     "dlogits /= n", "dlogits = np.exp(logits) / np.exp(logits).sum(1, keepdims=True) / n\ndlogits[range(n), Yb] -= 1",
     "dlogits", "constant", "`1` where `1 / n` belongs"),
    ("ex1_lecture.py", "dC = np.zeros_like(C)", "dC = np.empty_like(C)", "dC", "call",
     "`np.empty_like` where `np.zeros_like` belongs"),  # the grader's np.empty hands out NaN: the same row every run
    ("ex1_lecture.py", "np.eye(logits.shape[1])", "np.eye(logits.shape[0])", "dlogits", "axis",
     "`logits.shape[0]` (32) where `logits.shape[1]` (27) belongs"),  # not `C.shape[0]`, 27 by luck
    ("ex1_lecture.py", "dprobs = (1.0 / probs) * dlogprobs", "dprobs = np.log(probs) * dlogprobs", "dprobs",
     "derivative", "`np.log(probs)` is the forward's own function: its derivative belongs there"),
    ("ex1_lecture.py", "dbnvar = (-0.5*(bnvar + 1e-5)**-1.5) * dbnvar_inv", "dbnvar = -0.5*bnvar_inv**1.5 * dbnvar_inv",
     "dbnvar", "power", "the power `1.5` where `3` belongs, in `bnvar_inv ** 1.5`: the forward made it: bnvar_inv ="),
    ("ex1_lecture.py", "np.eye(logits.shape[1])[logits.argmax(1)]", "np.eye(logits.shape[1])[logits.max(1).indices]",
     "dlogits", "call", "torch's `.max(...).indices` where numpy's `.argmax(...)` belongs"),
    ("ex1_lecture.py", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - hpreact.tanh()**2) * dh", "dhpreact",
     "call", "torch's `.tanh()` where numpy's `np.tanh(...)` belongs"),  # a method an array lacks: searched
    ("ex1_lecture.py", "dC = np.zeros_like(C)", "dC = torch.zeros_like(C)", "dC", "call",
     "torch's `torch.zeros_like` where numpy's `np.zeros_like` belongs"),  # no torch here: a NameError, searched
    ("ex1_lecture.py", "demb = dembcat.reshape(emb.shape)", "demb = dembcat.reshape(n, n_embd, block_size)", "demb",
     "arguments", "`n_embd` and `block_size` the other way round"),
    ("ex3_recomputed.py", "m / (m - 1)", "m / m - 1", "dhprebn", "parentheses",
     "parentheses around `m - 1` belong"),  # inside the learner's function, which makes the right dbngain too
    ("ex3_recomputed.py", "np.sqrt(var + eps)", "np.sqrt(var)", "dbngain", "term",
     "a term `EPS` is missing from `var`"),  # one wrong line of the function: dhprebn inherits it
    ("ex1_lecture.py", "dbndiff = bnvar_inv * dbnraw", "dbndiff = bnvar_inv", "dbndiff", "term",
     "a factor `dbnraw` is missing from `bnvar_inv`"),  # the factor that makes (1, H) the gradient's (n, H)
    ("ex3_lecture.py", "dbngain = (bnraw * dhpreact)", "dbngain = (bnraw)", "dbngain", "term",
     "a factor `dhpreact` is missing from `bnraw`"),  # a gradient the exercise hands in; bnraw's sum is about 0
    ("ex1_lecture.py", "dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes",
     "dlogits += np.eye(logits.shape[1])[logits.argmax(1)]", "dlogits", "term",
     "a factor `dlogit_maxes` is missing"),  # a gradient made above, no longer read by the line
    ("ex3_lecture.py", "(n*dhpreact - dhpreact.sum(0)", "(dhpreact - dhpreact.sum(0)", "dhprebn", "term",
     "a factor `n` is missing from `dhpreact`"),
    ("ex1_lecture.py", "db2 = dlogits.sum(0)", "db2 = sum(dlogits, 1)", "db2", "constant",
     "`1` where `0` belongs in `sum(dlogits, 1)`: Python's sum adds its second argument"),  # a start, not an axis
    ("ex1_loops.py", "for i in range(batch_size):\n    for j in range(block_size):\n        dC",
     "for i in range(batch_size - 1):\n    for j in range(block_size):\n        dC", "dC", "constant",
     "`batch_size - 1` where `batch_size` belongs in the loop's range"),  # not Bessel's n-1
    ("ex1_loops.py", "        dC[Xb[i, j]] += demb[i, j]", "        dC[Xb[i, j]] += demb[i]", "dC", "index",
     "`demb[i]` takes a whole row where one entry belongs"),
    ("ex2_lecture.py", "dlogits[range(n), Yb] -= 1", "dlogits[range(n), dlogits.argmax(1)] -= 1", "dlogits",
     "subexpression", "line 5: `dlogits.argmax(1)` where `Yb` belongs: Yb holds each row's target"),
]


@pytest.mark.parametrize("name, old, new, row, kind, words", REPAIRS, ids=[f"{r[4]}:{r[0][:-3]}" for r in REPAIRS])
def test_each_kind_of_edit_is_found_and_named(names_txt, name, old, new, row, kind, words):
    source = fixture(name)
    assert old in source
    wrong, result = wrong_rows(source.replace(old, new, 1), face.guess_exercise(source))
    assert [r.name for r in wrong] == [row], [(r.name, r.why) for r in wrong]
    found = result.grads[row].repair
    assert found is not None and found.kind == kind, found
    assert words is None or words in wrong[0].why, wrong[0].why
    assert "largest difference" not in wrong[0].why
    # the row names the edit, never the corrected line: neither the statement nor its right-hand side
    for tree in ast.parse(found.after).body if kind != "order" else []:  # an order quotes the learner's own lines
        rhs = ast.unparse(tree.value) if isinstance(tree, (ast.Assign, ast.AugAssign)) else ast.unparse(tree)
        assert squash(rhs) not in squash(wrong[0].why) or len(squash(rhs)) < 12, (rhs, wrong[0].why)


def squash(text):
    return re.sub(r"\s", "", text)


def without(check):
    """Probe.right with one of its two extra settings taken away: what the search would accept then."""
    right = repair.Probe.right

    def probe_right(self, trees, every=False):
        saved = self.random, self.second_shape
        if check == "random":
            self.random = None
        else:
            self.second_shape = lambda: (None, None)
        try:
            return right(self, trees, every)
        finally:
            self.random, self.second_shape = saved
    return probe_right


# accidental one-edit fixes at the lecture's batch: (the line, the wrong line, its gradient, the setting that tells)
ACCIDENTS = [
    # n = 32 and H = 64 here: `2 * n / H` is 1, at n 7 and H 9 it is not
    ("\ndbnmeani = (-dbndiff).sum(0)\n", "\ndbnmeani = (-dbndiff).sum(0) * 4 * n / H\n", "dbnmeani", "second"),
    # dlogit_maxes is about zero here: whatever multiplies it vanishes, until the upstream gradient is random
    ("dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes",
     "dlogits += np.eye(logits.shape[1])[logits.argmax(1)] * dlogit_maxes * 2 + 0.001", "dlogits", "random"),
]


@pytest.mark.parametrize("old, new, g, check", ACCIDENTS, ids=[a[3] for a in ACCIDENTS])
def test_an_accidental_fix_at_the_lectures_batch_is_rejected(names_txt, monkeypatch, old, new, g, check):
    """Each planted line has a one-edit fix that is right at the lecture's batch only. With all three settings the
    search rejects it (and says nothing rather than something wrong); with the one that tells taken away, it takes
    it: so this test fails if that check is removed."""
    source = fixture("ex1_lecture.py")
    assert old in source
    wrong, result = wrong_rows(source.replace(old, new, 1), "ex1")
    assert [r.name for r in wrong] == [g] and result.grads[g].repair is None, result.grads[g].repair
    monkeypatch.setattr(repair.Probe, "right", without(check))
    accident = face.rows(source.replace(old, new, 1), "ex1")[1].grads[g].repair
    assert accident is not None, "the planted line has no accidental fix: the test proves nothing"


def test_a_learners_own_helper_is_never_replaced_and_a_chunked_mistake_is_its_line(names_txt):
    wrong, _ = wrong_rows(fixture("ex2_helper_chain.py"), "ex2")
    assert wrong == []  # exercise 2 hands in no dlogprobs: the learner's own is run as written
    source = fixture("ex4_chunked.py").replace("** -1.5 * dbnvar_inv", "** -0.5 * dbnvar_inv")
    rows, _ = face.rows(source, "ex4")
    status = {r.name: r.status for r in rows}
    assert [g for g, s in status.items() if s == "wrong"] == ["dhprebn"], status
    assert status["dembcat"] == "inherits" and "line 17" in next(r.why for r in rows if r.name == "dhprebn")


def test_a_helper_line_that_a_right_gradient_reads_is_never_the_edit(names_txt):
    # `tmp` feeds dbnraw (right); dW1 reads it where dhprebn belongs. An edit of the helper (`tmp = dhprebn`) would
    # make dW1 right and dbnraw wrong: the row must name dW1's own line
    source = fixture("ex1_lecture.py").replace("dbnraw = bngain * dhpreact", "tmp = bngain * dhpreact\ndbnraw = tmp")
    source = source.replace("dW1 = embcat.T @ dhprebn", "dW1 = embcat.T @ tmp")
    wrong, result = wrong_rows(source, "ex1")
    assert [r.name for r in wrong] == ["dW1"]
    assert wrong[0].why.startswith("line 49: your `tmp` where `dhprebn` belongs"), wrong[0].why
    assert result.grads["dW1"].repair.line == 49


def test_one_wrong_helper_line_that_several_gradients_read_is_one_wrong_row(names_txt):
    # the learner's own temporary, read by dbnraw and dbndiff, lacks its factor: its line is the one wrong line
    source = fixture("ex1_lecture.py").replace("dbnraw = bngain * dhpreact", "tmp = dhpreact\ndbnraw = tmp")
    source = source.replace("dbndiff = bnvar_inv * dbnraw", "dbndiff = bnvar_inv * tmp")
    rows, _ = face.rows(source, "ex1")
    row = {r.name: r for r in rows}
    assert [r.name for r in rows if r.status == "wrong"] == ["dbnraw"]
    assert row["dbnraw"].why.startswith("line 35: ") and "bngain" in row["dbnraw"].why
    assert row["dbndiff"].status == "inherits" and "line 35" in row["dbndiff"].why and "dbnraw" in row["dbndiff"].why


EX3_CHAIN = """dbngain = (bnraw * dhpreact).sum(0, keepdims=True)
dbnbias = dhpreact.sum(0, keepdims=True)
dbnraw = bngain * dhpreact
dbndiff = bnvar_inv * dbnraw
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdims=True)
dbnvar = -0.5 * (bnvar + EPS)**-1.5 * dbnvar_inv
dbndiff += 2 * bndiff * dbnvar / (n - 1)
dhprebn = dbndiff - dbndiff.sum(0, keepdims=True) / n
"""
EX3_STATS = """xmu = hprebn - hprebn.mean(0, keepdims=True)
var = xmu.var(0, ddof=1, keepdims=True)
std_inv = 1.0 / np.sqrt(var + EPS)
xhat = xmu * std_inv
dbngain = (xhat * dhpreact).sum(0, keepdims=True)
dbnbias = dhpreact.sum(0, keepdims=True)
dxhat = dhpreact * bngain
dhprebn = std_inv * (dxhat - dxhat.mean(0, keepdims=True) - xhat * (dxhat * xhat).sum(0, keepdims=True) / (n - 1))
"""


@pytest.mark.parametrize("body, old, new, wrong, words, inherits", [
    (EX3_CHAIN, "**-1.5 * dbnvar_inv", "**-1.5", "dhprebn", "a factor `dbnvar_inv` is missing", None),  # a dead line
    (EX3_STATS, "xmu.var(0,", "xmu.var(-1,", "dbngain", "`xmu.var(-1, ddof=1, keepdims=True)` reduces over "
     "axis -1 where it must reduce over the batch (axis 0)", "dhprebn"),  # a shared helper of the learner's own
], ids=["dead line", "shared helper"])
def test_exercise_3_in_a_learners_own_steps(names_txt, body, old, new, wrong, words, inherits):
    head = fixture("ex3_lecture.py").split("# %% batchnorm layer")[0] + "# %% batchnorm layer\n"
    assert old in body
    rows, _ = face.rows(head + body.replace(old, new) + 'grade("ex3", globals())\n', "ex3")
    row = {r.name: r for r in rows}
    assert [r.name for r in rows if r.status == "wrong"] == [wrong]
    assert words in row[wrong].why, row[wrong].why
    if inherits:
        assert row[inherits].status == "inherits" and f"see {wrong}" in row[inherits].why
    rows, _ = face.rows(head + body + 'grade("ex3", globals())\n', "ex3")
    assert all(r.status == "ok" for r in rows)  # the body as written is right


def test_a_nan_upstream_is_no_change_in_place(names_txt):
    # `counts / dprobs` divides by dprobs's zeros: NaN flows down to dembcat, and `demb = dembcat.reshape(...)` is a
    # view of it. NaN is not equal to itself; a NaN left as it was is still no in-place change of dembcat
    source = fixture("ex1_lecture.py").replace("dcounts_sum_inv = (counts * dprobs)",
                                               "dcounts_sum_inv = (counts / dprobs)")
    rows, _ = face.rows(source, "ex1")
    assert [r.name for r in rows if r.status == "wrong"] == ["dcounts_sum_inv"]
    assert all(r.status == "inherits" for r in rows if r.name in ("dembcat", "demb", "dC"))


def test_a_line_that_fails_only_for_want_of_a_raising_gradient_is_not_a_row_of_its_own(names_txt):
    # the learner's own check after a gradient line that raises: its NameError is that line's, not a second mistake
    source = fixture("ex1_lecture.py").replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(3)\nprint(db2.shape)")
    rows, _ = face.rows(source, "ex1")
    assert [r.name for r in rows if r.status == "wrong"] == ["db2"]
    assert "`dlogits.sum(3)` reduces over axis 3" in next(r.why for r in rows if r.name == "db2")


def mutations(statement):
    """One mutation of each kind that applies to an answer statement: (kind, mutated source)."""
    tree = ast.parse(statement).body[0]
    nodes = [n for n, *_ in edits.walk(tree)]
    out = []
    ops = [n for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)]
    if ops:
        new = ast.BinOp(left=ops[0].left, op=ast.Add(), right=ops[0].right)
        out.append(("operator", ast.unparse(edits.replaced(tree, ops[0], new))))
    sums = [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "sum"
            and n.args and isinstance(n.args[0], ast.Constant)]
    if sums:
        new = ast.parse(ast.unparse(sums[0]).replace(f".sum({sums[0].args[0].value}",
                                                     f".sum({1 - sums[0].args[0].value}", 1), mode="eval").body
        out.append(("axis", ast.unparse(edits.replaced(tree, sums[0], new))))
    consts = [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) in (int, float)
              and n.value not in (0, 1)]
    if consts:
        out.append(("constant", ast.unparse(edits.replaced(tree, consts[0], ast.Constant(-consts[0].value)))))
    return out


@pytest.mark.parametrize("kind", ["operator", "axis", "constant"])
def test_a_sweep_of_edits_over_the_projects_own_answer_lines(names_txt, kind):
    """Plant an operator, an axis or a constant into every answer line of exercise 1 that has one: each
    planted line gets one wrong row, and the search names an equivalent fix (it may be another edit that is
    right too) or the catalogue names the mistake; never the bare largest difference. Every miss is listed."""
    lines = [ln for g in catalogue.EXERCISES["ex1"]["graded"] for ln in mistakes.answer_source(g).splitlines()]
    answer = "\n".join(dict.fromkeys(lines))
    planted, misses = 0, []
    for line in answer.splitlines():
        if line.startswith((" ", "for ")) or "=" not in line:
            continue
        for planted_kind, bad in mutations(line.split("#")[0].strip()):
            if planted_kind != kind:
                continue
            rows, result = face.rows(answer.replace(line, bad, 1), "ex1")
            wrong = [r for r in rows if r.status == "wrong"]
            planted += 1
            if len(wrong) != 1 or "largest difference" in wrong[0].why:
                misses.append((bad, [(r.name, r.why[:80]) for r in wrong]))
    assert planted >= 3 and len(misses) <= planted // 10, (planted, misses)


def test_a_line_that_calls_outside_numpy_is_run_as_written_and_never_searched(names_txt, tmp_path):
    """`x if 0 < 1 else shutil.rmtree(d)`: the search would edit the guard and delete the folder; a line that logs
    would log once per candidate. Such lines are run by the three runs only, never edited or repeated."""
    keep = tmp_path / "keep"
    keep.mkdir()
    log = tmp_path / "log.txt"
    source = fixture("ex2_onehot.py").replace(
        "dlogits = (p - y) / batch_size",
        f"import shutil\nd = {str(keep)!r}\n"
        f"def logged(x):\n    open({str(log)!r}, 'a').write('one\\n')\n    return x\n"
        "dlogits = logged(p - y) if 0 < 1 else shutil.rmtree(d)")
    wrong, result = wrong_rows(source, "ex2")
    assert [r.name for r in wrong] == ["dlogits"] and keep.is_dir()
    assert log.read_text().count("one") == 3  # as written, isolated, with random upstream: three runs, no more
    note = result.grads["dlogits"].search_note
    assert "`open`" in note and "`shutil.rmtree`" in note and "never edited or repeated" in note
    assert "n = 32 times too large" in wrong[0].why  # the catalogue still names it, checked without rerunning it


def test_an_unsafe_call_anywhere_in_the_gradients_lines_keeps_the_search_out():
    from lib.grader import repair
    from lib.grader.runs import Statement

    class File:
        stmts = []
    for code, bad in (("dx = a * 2 + os.fork()", ["os.fork"]), ("dx = np.save('f', a) or a", ["np.save"]),
                      ("dx = (a * b).sum(0, keepdims=True) + np.exp(a).T", []), ("dx = print(a) or a", ["print"]),
                      ("while True:\n    dx = a", []), ("np.abs = None", ["np.abs"]),
                      ("dx = sum(a) + len(a) + a.reshape(-1).max()", [])):
        File.stmts = [Statement(node, "f.py", code.splitlines(), k) for k, node in enumerate(ast.parse(code).body)]
        ns = {"np": __import__("numpy"), "os": os, "a": __import__("numpy").ones(3), "b": 2.0}
        assert repair.confined(File.stmts, File, ns) == bad, code


UNBROADCAST = """def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(0)
    return grad
"""


def test_a_while_in_the_learners_helper_is_counted_not_timed(names_txt, monkeypatch):
    """A `while` is searched on every platform: its steps are counted (LOOP_STEPS), so a candidate whose loop never
    ends is no fix, with or without an alarm (Windows has none)."""
    from lib.grader import repair
    monkeypatch.setattr(repair, "ALARM", False)
    tree = ast.parse("while True:\n    x = 1").body[0]
    ns = {repair.TICK: repair.ticks(1000)}
    with pytest.raises(repair.TooLong):
        exec(compile(ast.fix_missing_locations(ast.Module(body=[repair.looped(tree)], type_ignores=[])), "f.py",
                     "exec"), ns)
    assert ast.unparse(tree) == "while True:\n    x = 1"  # the learner's tree is never changed
    source = fixture("ex1_lecture.py").replace("db2 = dlogits.sum(0)",
                                               UNBROADCAST + "db2 = unbroadcast(-dlogits, b2.shape)")
    wrong, result = wrong_rows(source, "ex1")
    assert [r.name for r in wrong] == ["db2"] and result.grads["db2"].repair is not None
    assert "the minus of `-dlogits`" in wrong[0].why, wrong[0].why


def test_the_search_counts_candidates_and_says_when_its_safety_net_stopped_it(names_txt, monkeypatch):
    """The same table on any machine: a slow machine (each clock reading 10 ms later than the last) finds the same
    fix as this one; a stalled one (a minute between readings) stops at once and the row says so."""
    from lib.grader import repair
    source = fixture("ex2_onehot.py").replace("dlogits = (p - y) / batch_size", "dlogits = (p - y) // batch_size")
    quick = wrong_rows(source, "ex2")[0][0].why
    assert "`//` where `/` belongs" in quick
    for step, expect in ((0.01, quick), (60.0, repair.STOPPED)):
        clock = iter(range(10 ** 6))
        monkeypatch.setattr(repair.time, "perf_counter", lambda: next(clock) * step)
        why = wrong_rows(source, "ex2")[0][0].why
        assert why == expect if step < 1 else expect in why, why
