"""Never a false alarm from a line's layout: every right solution of the corpus, rewritten four ways (its statements
joined by `;`, split one per line, its temporaries renamed, independent lines swapped), still passes row for row.
The grader grades statements, wherever the lines break."""
import ast
import glob
import io
import os
import tokenize

import pytest

from lib import source
from lib.grader import face
from lib.grader.catalogue import ALL_GRADIENTS
from lib.grader.runs import Statement
from lib.grader.workspace import names, prepare

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = sorted(glob.glob(os.path.join(HERE, "corpus", "ex[123]_*.py")))


def learner_statements(text):
    """The top-level statements a learner wrote (not the set-up or grading cell's), with their source text."""
    lines = text.splitlines()
    found = []
    for k, node in enumerate(ast.parse(text).body):
        st = Statement(node, "f.py", lines, k)
        if st.kind == "code":
            found.append((node, ast.get_source_segment(text, node)))
    return found


def simple(node):
    return not isinstance(node, (ast.FunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try, ast.ClassDef)) \
        and node.lineno == node.end_lineno


def joined(text):
    """Runs of consecutive one-line statements on one line, joined by `;` (their comments dropped)."""
    lines = text.splitlines()
    nodes = [n for n, _ in learner_statements(text)]
    out, k, groups = [], 0, []
    while k < len(nodes):
        run = [nodes[k]]
        while k + 1 < len(nodes) and simple(nodes[k]) and simple(nodes[k + 1]) and \
                nodes[k + 1].lineno > nodes[k].end_lineno and all(
                    not lines[i].strip() or lines[i].strip().startswith("#") and not lines[i].startswith("# %%")
                    for i in range(nodes[k].end_lineno, nodes[k + 1].lineno - 1)):
            k += 1
            run.append(nodes[k])
        k += 1
        if len(run) > 1:
            groups.append(run)
    drop = set()
    for run in groups:
        out_line = "; ".join(ast.get_source_segment(text, n) for n in run)
        lines[run[0].lineno - 1] = out_line
        drop |= {n.lineno - 1 for n in run[1:]}
    out = [ln for i, ln in enumerate(lines) if i not in drop]
    return "\n".join(out) + "\n"


def split(text):
    """Every statement on a line of its own: `a; b` becomes two lines (top level; the set-up untouched)."""
    lines = text.splitlines()
    nodes = [n for n, _ in learner_statements(text)]
    by_line = {}
    for n in nodes:
        if simple(n) and n.col_offset == 0 or simple(n):
            by_line.setdefault(n.lineno, []).append(n)
    for lineno, group in sorted(by_line.items(), reverse=True):
        if len(group) > 1:
            lines[lineno - 1:lineno] = [ast.get_source_segment(text, n) for n in group]
    return "\n".join(lines) + "\n"


def renamed(text):
    """The learner's own temporaries (names they assign that are neither a gradient nor the forward's) renamed."""
    nodes = [n for n, _ in learner_statements(text)]
    mine = set()
    for n in nodes:
        mine |= source.targets(n)
    keep = ALL_GRADIENTS | set(names(*prepare("ex1")[:1], "ex1", prepare("ex1")[1])) | {"np", "n"}
    mine = {m for m in mine if m not in keep and not m.startswith("_")}
    functions = {n.name for n in nodes if isinstance(n, ast.FunctionDef)}
    imported = {t for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom)) for t in source.targets(n)}
    mine -= functions | imported
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    out = []
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1].string if i else ""
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if tok.type == tokenize.NAME and tok.string in mine and prev != "." and nxt != "=" or (
                tok.type == tokenize.NAME and tok.string in mine and nxt == "=" and prev not in ("(", ",")):
            tok = tok._replace(string=f"my_{tok.string}_2")
        out.append(tok)
    return tokenize.untokenize(out)


def swapped(text):
    """Neighbouring top-level statements that neither read nor write what the other writes, swapped."""
    lines = text.splitlines()
    nodes = [n for n, _ in learner_statements(text)]
    defined = {n.name for n in nodes if isinstance(n, ast.FunctionDef)}
    k, swaps = 0, 0
    while k + 1 < len(nodes):
        a, b = nodes[k], nodes[k + 1]
        wa, wb = source.targets(a), source.targets(b)
        ra, rb = source.reads([a]), source.reads([b])
        independent = not (wa & (rb | wb) or wb & ra) and not ((ra | rb) & defined) and simple(a) and simple(b) \
            and a.lineno != b.lineno and not isinstance(a, ast.Import) and not isinstance(b, ast.Import)
        if independent:
            lines[a.lineno - 1], lines[b.lineno - 1] = lines[b.lineno - 1], lines[a.lineno - 1]
            swaps += 1
            k += 2
        else:
            k += 1
    return "\n".join(lines) + "\n", swaps


def statuses(text, exercise):
    rows, _ = face.rows(text, exercise)
    return {r.name: (r.status, r.why) for r in rows}


@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p) for p in FIXTURES])
def test_a_right_file_stays_right_under_any_layout(names_txt, path):
    text = open(path).read()
    exercise = face.guess_exercise(text)
    layouts = {"joined": joined(text), "split": split(joined(text)), "renamed": renamed(text)}
    layouts["swapped"], swaps = swapped(text)
    for name, changed in layouts.items():
        compile(changed, path, "exec")  # each rewrite is still Python
        rows = statuses(changed, exercise)
        bad = {g: s for g, s in rows.items() if s[0] != "ok"}
        assert not bad, (name, bad)
    assert sum(changed != text for changed in layouts.values()) >= 1  # the rewrites did rewrite


def test_the_lectures_one_line_dlogits_is_right_in_exercise_2_and_4(names_txt):
    """Three statements on one line below the blank's own `dlogits = None`: graded as three statements."""
    one_line = "dlogits = probs.copy(); dlogits[range(n), Yb] -= 1; dlogits /= n"
    ex2 = open(os.path.join(HERE, "corpus", "ex2_lecture.py")).read()
    rows = statuses("dlogits = None  # (n, V)\n" + one_line + "\n", "ex2")
    assert rows == {"dlogits": ("ok", "")}, rows
    assert "dlogits" in ex2
    ex4 = open(os.path.join(HERE, "corpus", "ex4_lecture.py")).read()
    start = ex4.index("dlogits = ")
    end = ex4.index("\n", ex4.index("dlogits /= n"))
    rows = statuses(ex4[:start] + "dlogits = None\n" + one_line + ex4[end:], "ex4")
    assert all(s == "ok" for s, _ in rows.values()), rows
