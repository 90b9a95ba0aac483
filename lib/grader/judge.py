"""The judge: the rows of the table from what the child's runs of a learner's file produced
(lib/grader/result.py's RunResult). It runs no learner code."""
import re

import numpy as np

from lib.gradcheck import rel_error
from lib.grader.catalogue import EXERCISES
from lib.grader.mistakes import broadcast_equal, context, diagnose, raise_hint, repair_words, right
from lib.grader.result import Row, Status
from lib.source import shapes


def line_at(line):
    return f"line {line}"


def judge(exercise, run, at=line_at):
    """The table's rows for a RunResult: one row per line of the file that is wrong on its own (status
    'wrong', name 'line N'), then one per graded gradient. at(line) says where a line is ('line 12',
    'cell [5] line 2')."""
    ex = EXERCISES[exercise]
    answers = run.answers
    true_ctx, random_ctx = context(run.values, answers), context(run.values, run.noise)
    second_ctx = context(*run.second) if run.second else None
    rows = [Row(name=at(e.line), status=Status.WRONG, why=e.why) for e in run.line_rows]
    failed_lines = {e.line: e for e in run.line_rows}
    status = {}
    for g in ex["graded"]:
        r = run.grads[g]
        a = answers[g]
        value = r.plain
        row = Row(name=g, status=Status.OK, lines=r.lines, at=at(r.lines[0]) if r.lines else "")
        if broadcast_equal(value, a):  # numbers in a shape that broadcasts: compared broadcast
            value = np.broadcast_to(value.reshape(a.shape) if value.size == a.size else value, a.shape)
        if isinstance(value, np.ndarray) and value.shape == a.shape and np.issubdtype(value.dtype, np.number):
            row.maxdiff, row.rel = float(np.abs(value - a).max()), rel_error(value, a)
            row.zero = bool(np.abs(a).max() <= 1e-12 and np.abs(value).max() <= 1e-12)  # dlogit_maxes, db1
        x = r.iso
        upstream = [u for u in sorted(r.reads & set(status), key=ex["graded"].index) if status[u] != Status.OK]
        cause = next((failed_lines[ln] for ln in r.needs if ln in failed_lines), None)
        if not r.lines:
            row.status, row.why = Status.MISSING, f"not assigned yet: {g} = ...  {shapes()[g[1:]]}"
            if r.near_miss:
                name, line, holds = r.near_miss
                row.status = Status.WRONG
                row.why = (f"not assigned: you assigned {'its right value' if holds else 'a value'} to `{name}` "
                           f"at {at(line)}: a typo of `{g}`?")
        elif r.error:
            line, err, needs = r.error
            cause = next((failed_lines[ln] for ln in needs if ln in failed_lines), None)
            if cause:
                row.status = Status.INHERITS
                row.why = f"your line is right as far as can be told; it needs what {at(cause.line)} could not make"
            else:
                row.status, row.why = Status.WRONG, raised(g, r, line, err, at)
        elif x is None:
            row.status, row.why = Status.MISSING, f"{g} is still None"
        elif r.spoils:  # its lines changed a forward tensor in place through a view: the row names the line
            line, why = r.spoils
            row.status, row.why = Status.WRONG, f"{at(line)} {why}"
        elif r.victim_of:  # the gradient the shared array spoiled: its row names the line that shared it
            culprit, line, text = r.victim_of
            row.status = Status.WRONG
            row.why = (f"{at(line)}: `{text}` makes no copy: {culprit} and {g} share one array, so the later in-place "
                       f"change of {culprit} changed {g} too; make {culprit} a copy ({g}.copy(), numpy's spelling of "
                       f"the lecture's .clone()); your line for {g} is right")
        elif r.shares:  # a helper line it reads is wrong, and the first gradient that reads it says so
            line, first = r.shares
            row.status, row.via = Status.INHERITS, first
            row.why = f"your line is right; it reads what {at(line)} makes, and that line is wrong (see {first})"
        elif not right(x, a):
            got = np.asarray(x) if isinstance(x, (float, int)) else x
            row.status = Status.WRONG
            checks = [(r.rnd, r.rnd_ref, {**random_ctx, **r.rnd_ctx})] if r.rnd_ref is not None else []
            if r.second is not None and second_ctx is not None:
                checks.append((r.second[0], r.second[1], second_ctx))
            row.why = diagnose(g, got, a, true_ctx, exercise, r.repair, at, checks, r.search_note) + rebound_note(r, at)
            if r.repair and r.repair.line not in r.lines and not row.why.startswith(at(r.repair.line)):
                row.why = f"{at(r.repair.line)}: {row.why}"  # the story is of a helper line: say which
        elif r.rnd is not None and r.rnd_ref is not None and not right(r.rnd, r.rnd_ref):
            hidden = ", ".join(u for u in sorted(r.reads) if u in answers and np.abs(answers[u]).max() < 1e-9)
            why = diagnose(g, np.asarray(r.rnd), r.rnd_ref, {**random_ctx, **r.rnd_ctx}, exercise, r.repair, at,
                           note=r.search_note)
            why = re.sub(r"^largest difference at .*", "with other upstream gradients it gives other numbers than the "
                         "answer's: a term is missing, extra or routed to the wrong place", why)
            row.status = Status.WRONG
            row.why = (f"{why} (caught with random upstream gradients in place of the true ones"
                       + (f": {hidden} is about zero here and hides it)" if hidden else ")"))
        elif broadcast_equal(x, a) and r.harm:
            row.status = Status.WRONG
            row.why = (f"shape {np.shape(x)} where {a.shape} = {shapes()[g[1:]]} is due: the numbers are right, but "
                       f"below it broadcasting turns {r.harm} into the wrong shape; keep the axis with keepdims=True")
        else:
            note = ""
            if broadcast_equal(x, a):
                note = (f"shape {np.shape(x)} where {a.shape} = {shapes()[g[1:]]} is due; the numbers are right and "
                        f"broadcasting puts them where they belong, but keepdims=True (or np.ones_like) keeps the "
                        f"tensor's shape")
            if right(value, a):
                row.status, row.why = Status.OK, note
            else:
                row.status, row.why = Status.INHERITS, inherits_why(g, r, value, a, upstream, at)
                row.via = upstream[0] if upstream else ""
        if row.status == Status.WRONG and cause:  # its lines need what a failed line did not make
            row.status = Status.INHERITS
            row.why = f"your line may be right; it needs what {at(cause.line)} could not make"
        status[g] = row.status
        rows.append(row)
    return rows


def raised(g, r, line, err, at):
    """A line that raises: the edit that makes it run and be right names the cause, numpy's message follows; else
    what the error names for certain (a torch spelling), a guess from its shapes, or the message alone."""
    if r.repair:
        return f"{repair_words(r.repair, at)} (as written, {at(line)} raises {err})"
    hint = raise_hint(err + "\n" + r.source)
    if not hint and ("not aligned" in err or "matmul" in err):
        hint = (f"a gradient has its tensor's shape {shapes()[g[1:]]}: line the matmul up so the inner "
                f"sizes meet (a transpose?)")
    return f"{at(line)} raises {err}" + (f"; {hint}" if hint else "") + (f"; {r.search_note}" if r.search_note else "")


def rebound_note(r, at):
    return "".join(f" (your file rebinds {name} at {at(line)})" for name, line in r.rebound)


def inherits_why(g, r, value, a, upstream, at):
    if upstream:
        why = f"your line is right; it inherits the error of {', '.join(upstream)}"
        if value is None:
            why += "; with yours it could not be computed"
        elif np.shape(value) != a.shape and np.size(value) != a.size:
            why += f"; with yours it comes out {np.shape(value)}"
            if np.ndim(value) == a.ndim and np.size(value) > a.size:
                why += ": broadcasting made a matrix of a vector that lost its axis"
        return why
    if r.plain_error:
        line, err = r.plain_error
        return f"your line is right, but as your file runs, {at(line)} raises {err}"
    if r.rebound:
        return "your line is right, but" + rebound_note(r, at)
    return "your line is right, but a later line changed it (an in-place += on a shared array?)"
