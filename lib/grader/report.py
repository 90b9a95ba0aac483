"""What the learner reads: the table, the hints (the local derivative, never the answer) and the
text of a new practice file."""
import os
import re

import numpy as np

from lib.grader import catalogue
from lib.grader.catalogue import FUSED, KNOWLEDGE
from lib.grader.mistakes import answer_source
from lib.grader.result import Status
from lib.lecture import PARAMS
from lib.source import backward_sections, forward_lines, shapes


def table(rows):
    """The rows as aligned lines."""
    w = max([len("gradient")] + [len(r.name) for r in rows])
    out = [f"{'gradient':<{w}} | {'status':8} | {'max abs diff':>12} | {'rel error':>9} | diagnosis",
           f"{'-' * w}-+-{'-' * 8}-+-{'-' * 12}-+-{'-' * 9}-+-{'-' * 9}"]
    for r in rows:
        diff = f"{r.maxdiff:12.3e}" if r.maxdiff is not None else f"{'-':>12}"
        rel = f"{'-':>9}" if r.rel is None else f"{'zero':>9}" if r.zero else f"{r.rel:9.2e}"
        where = f"{r.at}: " if r.status == Status.WRONG and r.at and not re.match(r"(line|cell) ", r.why) else ""
        out.append(f"{r.name:<{w}} | {r.status:8} | {diff} | {rel} | {where}{r.why}".rstrip())
    return out


def verdict(exercise, rows):
    """(passed, the verdict line): 'ex1: 24 of 26 ok; wrong: dprobs; inherits: dcounts_sum_inv'."""
    graded = [r for r in rows if r.name in catalogue.EXERCISES[exercise]["graded"]]
    counts = {s: [r.name for r in rows if r.status == s] for s in Status}
    line = f"{exercise}: {len(counts[Status.OK])} of {len(graded)} ok" + "".join(
        f"; {s}: {', '.join(names)}" for s, names in counts.items() if s != Status.OK and names)
    return len(counts[Status.OK]) == len(graded) and not counts[Status.WRONG], line


# hints: the local derivative and what meets there, never the answer

def hint(exercise, g, answer=False):
    """The hint for gradient g of an exercise (the local derivative, the uses, the shape), and with
    answer=True the project's own line(s) for it."""
    fused = exercise != "ex1" and g in FUSED
    text, sym = FUSED[g][0] if fused else KNOWLEDGE[g]["hint"], shapes()[g[1:]]
    uses = [ln.split("#")[0].strip() for ln in forward_lines()
            if re.search(rf"=.*\b{g[1:]}\b", ln) and not re.match(rf"{g[1:]} =", ln)]
    out = [f"{g}: shape {sym}, the shape of {g[1:]}.", f"  {text}."]
    if uses:
        out.append(f"  {g[1:]} is used in: " + "; ".join(uses))
    if answer:
        out += ["  the project's answer:" if fused else "  the project's answer (lib/lecture.py):",
                *["    " + ln for ln in answer_source(g, fused).splitlines()]]
    return "\n".join(out)


# a new practice file

def template(exercise, values):
    """The text of a new practice file: a header, a set-up cell, the learner's cells in the
    lecture's groups (blanks to fill in), a grading cell. values: the forward, for the sizes."""
    ex, sym = catalogue.EXERCISES[exercise], shapes()
    n, H = values["hprebn"].shape
    V, E = values["C"].shape
    T = values["Xb"].shape[1]
    given = [f"#   {k:<15} {sym[k]:<10} parameter" for k in PARAMS]
    given += ["#   Xb              (n, T)     the batch's contexts (integers)",
              "#   Yb              (n,)       the targets",
              "#   n               an int     the batch size (also batch_size; block_size, vocab_size, n_embd and",
              "#                              n_hidden are T, V, E and H; parameters lists C ... b2)",
              "#   EPS             1e-5       added to the batch variance"]
    if exercise in ("ex3", "ex4"):
        given += ["#   bnmean          (1, H)     the batch mean, exercise 4's name for bnmeani"]
    given += [f"#   {g:<15} {sym[g[1:]]:<10} given: the gradient arriving from above" for g in ex["given_grads"]]
    sections = [(title, [g for g in gs if g in ex["graded"]]) for title, gs in backward_sections()]
    merged = []
    for title, gs in sections:
        if title == "embedding" and merged and gs:
            merged[-1] = (merged[-1][0] + " and the embedding", merged[-1][1] + gs)
        elif gs:
            merged.append((title, gs))
    cells = []
    for title, gs in merged:
        cells += ["", f"# %% {title}", *[f"{g} = None  # {sym[g[1:]]}" for g in gs]]
    return "\n".join([
        f"# {ex['title']}.",
        "#",
        *[f"# {ln}" for ln in ex["task"].splitlines()],
        "#",
        f"# Run it:  python practice/{exercise}.py   prints what your lines print, then grades them (exit 0 when all",
        "#          are right). Or run it cell by cell (# %% marks the cells) in VS Code, Spyder or PyCharm: every",
        "#          tensor stays in the workspace to print, plot or step through in a debugger. For Jupyter:",
        f"#          python scripts/practice.py new {exercise} --notebook writes this exercise as a notebook.",
        f"# A hint:  python scripts/practice.py hint {exercise} {ex['graded'][0]}   (--answer: the project's line)",
        "",
        "# %% set-up: the lecture's forward pass on one batch (run this cell first)",
        "import os, sys  # the repository's lib/: found from this file's folder (practice/), else from where it runs",
        f"here = os.path.dirname(os.path.abspath(globals().get('__file__') or '{exercise}.py'))",
        "sys.path[:0] = [p for p in (os.path.dirname(here), here) if os.path.isdir(os.path.join(p, 'lib', 'grader'))]"
        "[:1]",
        "try:",
        "    from lib.grader import grade, workspace  # before numpy: one BLAS thread, as every script here",
        "except ModuleNotFoundError as e:  # a file moved out of practice/, or a Python without the repository's "
        "packages",
        "    sys.exit(f'cannot import {e.name}: keep this file in the repository\\'s practice/ folder (or run it from "
        "the '",
        "             'repository), with the repository\\'s Python (.venv/bin/python, made by ./run_all.sh)')",
        "import numpy as np",
        f'globals().update(workspace("{exercise}"))  # the tensors of lib/lecture.py\'s forward, by name (below)',
        "",
        f"# These now exist as float64 numpy arrays; here n = {n} examples, T = {T} characters of context,",
        f"# E = {E}, H = {H}, V = {V}:",
        *given,
        "# and every intermediate of the forward pass (lib/lecture.py), one plain statement each,",
        "# with its shape at the end of the line:",
        "#",
        *[f"#   {ln}" if ln.strip() else "#" for ln in forward_lines()],
        "#",
        '# cmp("logprobs", dlogprobs) prints how close a gradient is to the project\'s, as the lecture\'s cmp does.',
        *cells,
        "",
        "# %% grade: every gradient above against the project's backward",
        f'grade("{exercise}", globals())',
        "",
    ])


# the learner's graph

def graph(exercise, rows, result, out):
    """The learner's graph (lib/graph.py): every graded node framed in its row's color, the wrong ones with
    their diagnosis, an inheriting node's edge from the gradient it inherits drawn heavier; exercises 2 to 4
    only the part they cover. Saved as <out>/practice_<exercise>_graph.png; returns its path."""
    from lib import graph as drawing
    from lib.plotting import save
    ex = catalogue.EXERCISES[exercise]
    by_name = {r.name: r for r in rows if r.name in ex["graded"]}
    grads = {}
    for g, r in result.grads.items():
        mine, a = r.plain, result.answers[g]
        fits = isinstance(mine, np.ndarray) and mine.size == a.size and np.issubdtype(mine.dtype, np.number)
        grads[g] = mine.reshape(a.shape) if fits else None  # (H,) for (1, H) is drawn as (1, H)
    for g in ex["given_grads"]:
        grads[g] = result.answers[g]
    status = {g: str(r.status) for g, r in by_name.items()}
    why = {g: r.why for g, r in by_name.items() if r.status == Status.WRONG}
    via = {g: r.via for g, r in by_name.items() if r.status == Status.INHERITS and r.via}
    os.makedirs(out, exist_ok=True)
    fig = drawing.draw(grads, status, why, via, keep=ex["graph"],
                       title=f"{exercise}: your backward on the lecture's graph (green ok, red wrong, orange inherits "
                             f"through the heavier edge, grey missing)")
    return save(fig, out, f"practice_{exercise}_graph")
