"""The lecture's computational graph, drawn: exercise 1's forward as nodes (every tensor, with its shape
and its gradient as a small heat map) and edges (what each statement reads, labeled by its operation),
in lecture order, with the four tensors that feed two others marked `+=`.

    nodes, edges = graph()                       from lib/lecture.py's own statements (lib/source.py)
    fig = draw(grads)                            the whole graph with every gradient
    fig = draw(grads, status=..., why=..., via=..., keep=...)   a learner's: ok green, wrong red, ...

Built from the forward's statements, never from a hand-kept list: a node is a name a statement writes or
reads, an edge goes from each tensor a statement reads to the one it writes.
"""
import ast
import functools

import numpy as np
from matplotlib.collections import PatchCollection

from lib import lecture, source
from lib.plotting import plt

INPUTS = ("Xb", "Yb")
MAIN = {"emb", "embcat", "hprebn", "bndiff", "bnraw", "hpreact", "h", "logits", "norm_logits", "counts", "probs",
        "logprobs", "loss"}  # the main chain, on each row's line; the other steps sit above it
ROW = 5.2  # the distance between the two rows of steps
COLORS = dict(ok="#2e9d4a", wrong="#d62728", inherits="#ff8c1a", missing="#9a9a9a")


@functools.cache
def graph():
    """(nodes, edges): the tensors of lib/lecture.py's forward in the order they appear, and one
    (read, written, operation) per tensor a statement reads. Read once (cached): a grader in a notebook draws
    again at every check."""
    body = [s for s in source.function_source(lecture.forward)[1] if isinstance(s, ast.Assign)]
    tensors = set(lecture.STEPS) | set(lecture.PARAMS) | set(INPUTS)
    nodes, edges = [], []
    for st in body:
        written = sorted(source.targets(st) & tensors)
        if not written:
            continue
        read = [n.id for n in ast.walk(st.value) if isinstance(n, ast.Name) and n.id in tensors]
        for name in dict.fromkeys(read + written):
            if name not in nodes:
                nodes.append(name)
        for r in dict.fromkeys(read):
            edges.append((r, written[0], operation(st.value, tensors)))
    return tuple(nodes), tuple(edges)


def operation(expr, tensors):
    """A short label for what a statement does: its right-hand side with the tensors it reads as dots."""
    class Dots(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.Name(id="·", ctx=ast.Load()) if node.id in tensors else node

        def visit_keyword(self, node):
            return None if node.arg == "keepdims" else node
    text = ast.unparse(Dots().visit(ast.parse(ast.unparse(expr), mode="eval")))
    return text.replace("np.", "").replace("1 / n * ·.sum(0)", "mean(0)").replace("1 / (n - 1) * ·.sum(0)",
                                                                                    "sum(0) / (n-1)")


def branches(edges):
    """The tensors read by two statements: their gradient takes a `+=` (counts, logits, bndiff, hprebn)."""
    readers = {}
    for r, w, _ in edges:
        readers.setdefault(r, set()).add(w)
    return sorted(r for r, ws in readers.items() if len(ws) > 1 and r in lecture.STEPS)


def layout(nodes, edges):
    """Positions in lecture order: two rows of ten steps (the forward runs left to right, then the second
    row), the main chain on each row's line, side steps (a statistic, a max, a sum) above it,
    parameters and inputs below the step that reads them."""
    steps = list(lecture.STEPS)
    pos = {}
    for k, name in enumerate(steps):
        row, col = divmod(k, 10)
        pos[name] = (col * 1.9, -row * ROW + (0 if name in MAIN else 1.6))
    for name in nodes:
        if name in pos:
            continue
        reader = next(w for r, w, _ in edges if r == name)
        x, y = pos[reader]
        row_y = -ROW * (steps.index(reader) // 10)
        others = [n for n in pos if n not in steps and abs(pos[n][0] - x) < 0.7 and pos[n][1] < row_y - 1]
        pos[name] = (x + 1.6 * len(others) - 0.6 * (name in ("b1", "bnbias", "b2")), row_y - 1.6)
    return pos


def thumbnail(g):
    """A 2-d view of a gradient for its heat map, or None where a heat map says nothing."""
    g = np.asarray(g, dtype=float)
    if g.ndim == 0 or g.size <= 1:
        return None
    if g.ndim == 1:
        g = g[None, :]
    if g.ndim > 2:
        g = g.reshape(g.shape[0], -1)
    return g


def draw(grads, status=None, why=None, via=None, keep=None, title=None):
    """The graph with each node's gradient (grads: {'d' + name: array}); with status ({gradient: 'ok' | 'wrong' |
    'inherits' | 'missing'}) a learner's, each node framed in its color, why ({gradient: one line}) beside the
    wrong ones, via ({gradient: the gradient it inherits from}) drawn heavier, keep: the nodes to draw."""
    nodes, edges = graph()
    pos = layout(nodes, edges)
    keep = set(keep or nodes)
    status, why, via = status or {}, why or {}, via or {}
    xs = [pos[n][0] for n in keep]
    ys = [pos[n][1] for n in keep]
    width, height = max(xs) - min(xs) + 2.4, max(ys) - min(ys) + 2.6
    fig, ax = plt.subplots(figsize=(min(1.05 * width + 1, 17), min(1.05 * height + 1.2, 11)))
    ax.set_xlim(min(xs) - 1.1, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 1.2, max(ys) + 1.0 + 1.2 * bool(why))
    ax.set_aspect("equal")
    ax.axis("off")
    meets = branches(edges)
    heavy = {(u[1:], w[1:]) for u, w in via.items()}
    frames = []  # the nodes' boxes, drawn as one collection: one artist, not 29
    for r, w, op in edges:
        if r not in keep or w not in keep:
            continue
        (x0, y0), (x1, y1) = pos[r], pos[w]
        bold = (r, w) in heavy
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", lw=3.2 if bold else 0.9, shrinkA=28, shrinkB=28,
                                    color=COLORS["inherits"] if bold else "#555555",
                                    connectionstyle="arc3,rad=0.12" if abs(y1 - y0) > 3 else "arc3,rad=0"))
        if abs(y1 - y0) <= 3:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, op if len(op) <= 16 else op[:15] + "…", fontsize=7.5, zorder=5,
                    ha="center", va="bottom", color="#333333", rotation=0,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    for name in nodes:
        if name not in keep:
            continue
        x, y = pos[name]
        g = "d" + name
        state = status.get(g)
        edge = COLORS.get(state, "#444444")
        frames.append(plt.Rectangle((x - 0.72, y - 0.6), 1.44, 1.2, fc="#fbfbfb" if state != "missing" else "#eeeeee",
                                    ec=edge, lw=3 if state else 1.0))
        shape = source.shapes().get(name, "")
        if name == "loss":
            shape = "scalar"
        ax.text(x, y + 0.45, name, ha="center", va="center", fontsize=9.5, weight="bold", zorder=3)
        ax.text(x, y - 0.45, shape if name not in INPUTS else "(n, T)" if name == "Xb" else "(n,)",
                ha="center", va="center", fontsize=7.5, color="#555555", zorder=3)
        value = grads.get(g)
        img = thumbnail(value) if value is not None else None
        if name in INPUTS:
            ax.text(x, y, "integers:\nno gradient", ha="center", va="center", fontsize=7.5, zorder=3)
        elif name == "loss":
            ax.text(x, y, "dloss = 1", ha="center", va="center", fontsize=8, zorder=3)
        elif value is None:
            text = "missing" if state == "missing" else "inside a\none-step line" if status and g not in status else "-"
            ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=3)
        elif img is None or np.abs(img).max() < 1e-12:
            norm = float(np.linalg.norm(np.asarray(value, dtype=float)))
            ax.text(x, y, "about zero" if norm < 1e-12 else f"|g| {norm:.2g}", ha="center", va="center",
                    fontsize=8, zorder=3)
        else:
            lim = float(np.abs(img).max())
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest", zorder=3,
                      extent=(x - 0.62, x + 0.62, y - 0.3, y + 0.3))
        if name in meets:
            ax.text(x + 0.72, y + 0.6, "+=", ha="center", va="center", fontsize=8, weight="bold", color="white",
                    zorder=4, bbox=dict(boxstyle="circle,pad=0.15", fc="#6a3d9a", ec="none"))
        if state == "wrong" and why.get(g):
            above = name in lecture.STEPS and name not in MAIN  # a side step: its diagnosis above it, else below
            ax.text(x, y + 0.8 if above else y - 0.8, wrap(why[g], 44), ha="center", va="bottom" if above else "top",
                    fontsize=7.5, color=COLORS["wrong"], zorder=6,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=COLORS["wrong"], lw=0.8))
    ax.add_collection(PatchCollection(frames, match_original=True, zorder=2), autolim=False)
    handles = [plt.Line2D([], [], color=c, lw=3, label=s) for s, c in COLORS.items() if s in status.values()]
    handles.append(plt.Line2D([], [], marker="o", ls="", color="#6a3d9a", label="+= : used twice, two gradients add"))
    ax.legend(handles=handles, loc="upper right", fontsize=9, frameon=False)
    ax.set_title(title or "exercise 1: the forward in the lecture's 20 steps, each node's gradient as a heat map "
                          "(red +, blue -)", fontsize=12)
    w, h = fig.get_size_inches()  # the margins tight_layout finds (0.15 in, the title 0.36 in), without its
    fig.subplots_adjust(left=0.153 / w, right=1 - 0.153 / w, bottom=0.153 / h, top=1 - 0.36 / h)  # measuring every text
    return fig


def wrap(text, width):
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines[:4]) + (" …" if len(lines) > 4 else "")
