"""The grader and Jupyter: a notebook's code cells as one source (`practice.py check ex1.ipynb`), the cells run
in an IPython session since the set-up cell (a grading cell), a practice file written as a notebook
(`practice.py new ex1 --notebook`), the graph shown below the table. Each line of a source gathered from cells
keeps where it came from ('cell 5 line 2'), for the table's rows."""
import ast
import json
import sys

from lib.cli import UsageError


def in_ipython():
    """The IPython shell this runs in (Jupyter, VS Code's interactive window), or None."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def session_cells(start):
    """The cells run in this IPython session since the set-up cell (its place in the history: start), as
    one source, and where each of its lines came from ('cell [5] line 2')."""
    history = in_ipython().user_ns.get("In", [])
    lines, origin = [], []
    for k in range(1, min(start, len(history)) - 1):  # above the set-up cell: the learner's imports still count
        try:
            body = ast.parse(history[k]).body
        except SyntaxError:
            continue
        cell = history[k].splitlines()
        for node in body:
            ours = (getattr(node, "module", "") or "").startswith("lib")  # the set-up's own import
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not ours:
                for j in range(node.lineno, node.end_lineno + 1):
                    lines.append(cell[j - 1])
                    origin.append((k, j))
    for k in range(start, len(history) - 1):  # the last one is this grading cell
        for j, line in enumerate(history[k].splitlines(), 1):
            lines.append("pass" if "get_ipython()" in line else line)  # a magic: not the learner's numpy
            origin.append((k, j))
    return joined(lines, origin, "cell [%d] line %d")


def joined(lines, origin, where):
    """Lines gathered from cells as one source, and at(line): where a line of it came from (where % (cell, line))."""
    return "\n".join(lines) + "\n", lambda line: where % origin[line - 1] if 0 < line <= len(origin) else f"line {line}"


def notebook_source(text, path):
    """A notebook's code cells as one source (magics and shell lines as `pass`), and where each line came from
    ('cell 5 line 2', counting code cells); a file that is not a notebook is one line naming what is wrong
    (UsageError)."""
    def refused(why):
        return UsageError(f"{path} is not a Jupyter notebook ({why}); pass the .py file instead")
    try:
        nb = json.loads(text)
    except ValueError:
        raise refused("not JSON") from None
    except RecursionError:
        raise refused("JSON nested too deep to be one") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise refused("its 'cells' is not a list of cells")
    code = []
    for k, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise refused(f"cell {k}'s source is not text")
        code.append(source)
    lines, origin = [], []
    for k, cell in enumerate(code, 1):
        for j, line in enumerate(cell.splitlines(), 1):
            lines.append("pass" if line.lstrip().startswith(("%", "!")) else line)
            origin.append((k, j))
    return joined(lines, origin, "cell %d line %d")


def notebook(text):
    """A practice file's text as a Jupyter notebook (nbformat 4): the header as a markdown cell, one code cell per
    `# %%` section. What `practice.py new exN --notebook` writes, so the Jupyter route needs no converter."""
    sections, current = [], []
    for line in text.splitlines():
        if line.startswith("# %%") and current:
            sections.append(current)
            current = []
        current.append(line)
    sections.append(current)
    header, cells = sections[0], []
    if header and all(ln.startswith("#") or not ln.strip() for ln in header):
        prose = "\n".join(ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in header).strip()
        cells.append(dict(cell_type="markdown", id="header", metadata={}, source=prose))
        sections = sections[1:]
    for k, section in enumerate(sections, 1):
        cells.append(dict(cell_type="code", id=f"cell-{k}", metadata={}, execution_count=None, outputs=[],
                          source="\n".join(section).strip("\n")))
    kernel = dict(display_name="Python 3", language="python", name="python3")
    return json.dumps(dict(cells=cells, metadata=dict(kernelspec=kernel, language_info=dict(name="python")),
                           nbformat=4, nbformat_minor=5), indent=1) + "\n"


def show_inline(path):
    """In Jupyter or an editor's interactive window, the graph below the table."""
    if in_ipython() is not None:
        from IPython.display import Image, display
        display(Image(filename=path))
