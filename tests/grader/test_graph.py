"""The lecture's graph drawn (lib/graph.py): built from the forward's own statements, the four tensors used
twice marked, and in practice mode a planted mistake red at its node with exactly the nodes below it orange."""
import ast
import inspect
import os
import textwrap

from lib import graph, lecture, source
from lib.grader import face, report
from lib.lecture import GRADIENTS

HERE = os.path.dirname(os.path.abspath(__file__))
LECTURE = open(os.path.join(HERE, "corpus", "ex1_lecture.py")).read()


def test_nodes_and_edges_are_the_forwards_reads_and_writes():
    tree = ast.parse(textwrap.dedent(inspect.getsource(lecture.forward)))
    tensors = set(lecture.STEPS) | set(lecture.PARAMS) | {"Xb", "Yb"}
    expected = set()
    for st in tree.body[0].body:
        if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name) and st.targets[0].id in tensors:
            expected |= {(n.id, st.targets[0].id) for n in ast.walk(st.value) if isinstance(n, ast.Name)
                         and n.id in tensors}
    nodes, edges = graph.graph()
    assert {(r, w) for r, w, _ in edges} == expected and len(edges) == len(expected)
    assert set(nodes) == tensors and len(nodes) == 29  # 20 steps, 7 parameters, 2 inputs
    assert [n for n in nodes if n in lecture.STEPS] == list(lecture.STEPS)  # in lecture order
    assert graph.branches(edges) == ["bndiff", "counts", "hprebn", "logits"]
    assert dict(((r, w), op) for r, w, op in edges)[("counts", "counts_sum")] == "·.sum(1)"


def test_a_planted_mistake_is_red_and_exactly_the_nodes_below_it_orange(names_txt, tmp_path):
    planted = LECTURE.replace("dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv",
                              "dcounts_sum = (-counts_sum**-2) + dcounts_sum_inv")
    rows, result = face.rows(planted, "ex1")
    status = {r.name: str(r.status) for r in rows}
    # every gradient computed from dcounts_sum, but db1: batchnorm removes the mean, so it is zero whatever arrives
    below = {g for g in GRADIENTS if "dcounts_sum" in source.ancestors().get(g, set())} - {"db1"}
    assert [g for g, s in status.items() if s == "wrong"] == ["dcounts_sum"]
    assert {g for g, s in status.items() if s == "inherits"} == below
    via = {r.name: r.via for r in rows if r.via}
    assert via["dcounts"] == "dcounts_sum" and set(via) == below  # each draws the edge it inherits through
    path = report.graph("ex1", rows, result, str(tmp_path))
    assert path.endswith("practice_ex1_graph.png") and os.path.getsize(path) > 100_000


def test_a_correct_file_is_all_green_and_ex2_draws_its_part(names_txt, tmp_path):
    rows, result = face.rows(LECTURE, "ex1")
    assert {str(r.status) for r in rows} == {"ok"}
    rows, result = face.rows(open(os.path.join(HERE, "corpus", "ex2_lecture.py")).read(), "ex2")
    path = report.graph("ex2", rows, result, str(tmp_path))
    assert os.path.getsize(path) > 20_000 and [str(r.status) for r in rows] == ["ok"]


def test_check_prints_the_graphs_path(call, names_txt, tmp_path):
    import practice
    (tmp_path / "ex3.py").write_text(open(os.path.join(HERE, "corpus", "ex3_lecture.py")).read())
    code, out, _ = call(practice.main, "check", tmp_path / "ex3.py", "--out", tmp_path)
    assert code == 0 and f"your graph: {tmp_path / 'practice_ex3_graph.png'}" in out
    assert (tmp_path / "practice_ex3_graph.png").exists()
