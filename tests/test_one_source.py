"""One source: the lecture's numbers are typed once (lib/lecture.py's REFERENCE), the answers of
exercises 2 and 3 read the same wherever a script writes them out, and ex1's docstring points at
the right lines of lib/lecture.py."""
import ast
import glob
import inspect
import os
import re

from lib import layers, lecture
from lib.data import ROOT

FILES = sorted(glob.glob(os.path.join(ROOT, "scripts", "*.py")) + glob.glob(os.path.join(ROOT, "lib", "**", "*.py"),
                                                                            recursive=True)
               + [os.path.join(ROOT, "run_all.sh"), os.path.join(ROOT, ".ci", "run")])


def reference_numbers():
    values = [x for v in lecture.REFERENCE.values() for x in (v if isinstance(v, tuple) else (v,))]
    return {str(x): re.compile(rf"(?<![\d.]){re.escape(str(x))}(?!\d)") for x in values}


def block_lines():
    """The line numbers of the REFERENCE assignment in lib/lecture.py."""
    tree = ast.parse(open(lecture.__file__).read())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "REFERENCE")
    return range(node.lineno, node.end_lineno + 1)


def test_the_lecture_numbers_are_typed_in_the_reference_block_only():
    numbers, block, typed = reference_numbers(), block_lines(), []
    for path in FILES:
        with open(path, encoding="utf-8") as f:
            for k, line in enumerate(f, 1):
                found = [x for x, pattern in numbers.items() if pattern.search(line)]
                if path == lecture.__file__ and k in block:
                    typed += found
                elif found:
                    raise AssertionError(f"{os.path.relpath(path, ROOT)}:{k} types the lecture's {found}: "
                                         f"read lib.lecture.REFERENCE instead")
    assert sorted(typed) == sorted(numbers)  # the search finds each number where it belongs: it can fail


def assignments(function, names):
    """The statements of `function` that write one of `names` (x = ..., x[...] -= ..., x /= ...), as
    ast dumps: the same code whatever its line numbers, comments and indentation."""
    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(function)) if inspect.isfunction(function)
                     else open(function).read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            base = target.value if isinstance(target, ast.Subscript) else target
            if isinstance(base, ast.Name) and base.id in names:
                found.append((node.lineno, ast.dump(node)))
    return [d for _, d in sorted(found)]


def test_exercise_2s_answer_reads_the_same_in_ex2_train_and_lib():
    lines = assignments(layers.cross_entropy_backward, {"dlogits"})
    assert len(lines) == 3
    for script in ("ex2_cross_entropy.py", "train.py"):
        assert assignments(os.path.join(ROOT, "scripts", script), {"dlogits"}) == lines, script


def test_exercise_3s_answer_reads_the_same_in_ex3_train_and_lib():
    names = {"dbngain", "dbnbias", "dhprebn"}
    lines = assignments(layers.batchnorm_backward, names)
    assert len(lines) == 3
    for script in ("ex3_batchnorm.py", "train.py"):
        assert assignments(os.path.join(ROOT, "scripts", script), names) == lines, script


def test_ex1s_docstring_names_the_lines_of_lib_lecture_py_it_is_about():
    doc = open(os.path.join(ROOT, "scripts", "ex1_backprop_by_hand.py")).read().split('"""')[1]
    named = re.findall(r"lib/lecture.py lines (\d+)-(\d+) +(\w+)\(\)", doc)
    assert [f for _, _, f in named] == ["forward", "backward"]
    for first, last, name in named:
        source, start = inspect.getsourcelines(getattr(lecture, name))
        assert (int(first), int(last)) == (start, start + len(source) - 1), name
