"""The judge: the rows of the table from what the child's runs of a learner's file produced."""
import re

import numpy as np

from lib.gradcheck import rel_error
from lib.grader.catalogue import EXERCISES
from lib.grader.mistakes import broadcast_equal, close, context, diagnose, raise_hint
from lib.source import shapes


def judge(exercise, run, values, answers, noise):
    """Rows of the table from a run of the learner's file (lib/learner.py's result).
    values: the forward; answers: lecture.backward's gradients; noise: the random upstream
    gradients of the third run. One row per graded gradient (name, status, maxdiff, rel, why),
    after one row per line of the file that is wrong on its own (status 'wrong', name 'line N')."""
    ex = EXERCISES[exercise]
    at = run.get("at") or (lambda line: f"line {line}")
    true_ctx, random_ctx = context(values, answers), context(values, noise)
    rows = [dict(name=at(e["line"]), status="wrong", maxdiff=None, rel=None, zero=False,
                 why=e["why"], lines=[]) for e in run["line_rows"]]
    failed_lines = {e["line"]: e for e in run["line_rows"]}
    status = {}
    for g in ex["graded"]:
        r = run["grads"][g]
        a = answers[g]
        value = r.get("plain")
        row = dict(name=g, maxdiff=None, rel=None, zero=False, lines=r["lines"], note="",
                   at=at(r["lines"][0]) if r["lines"] else "")
        if broadcast_equal(value, a):  # numbers in a shape that broadcasts: compared broadcast
            value = np.broadcast_to(value.reshape(a.shape) if value.size == a.size else value,
                                    a.shape)
        if (isinstance(value, np.ndarray) and value.shape == a.shape
                and np.issubdtype(value.dtype, np.number)):
            row.update(maxdiff=float(np.abs(value - a).max()), rel=rel_error(value, a),
                       # both about zero: dlogit_maxes, db1
                       zero=bool(np.abs(a).max() <= 1e-12 and np.abs(value).max() <= 1e-12))
        x = r.get("iso")
        upstream = [u for u in sorted(r["reads"] & set(status), key=ex["graded"].index)
                    if status[u] != "ok"]
        cause = next((failed_lines[ln] for ln in r.get("needs", []) if ln in failed_lines), None)
        if not r["lines"]:
            row.update(status="missing", why=f"not assigned yet: {g} = ...  {shapes()[g[1:]]}")
        elif r.get("error"):
            line, err, needs = r["error"]
            cause = next((failed_lines[ln] for ln in needs if ln in failed_lines), None)
            if cause:
                row.update(status="inherits", why=f"your line is right as far as can be told; it "
                                                  f"needs what {at(cause['line'])} could not make")
            else:
                hint = raise_hint(err + "\n" + r["source"])
                if not hint and ("not aligned" in err or "matmul" in err):
                    hint = (f"a gradient has its tensor's shape {shapes()[g[1:]]}: line the "
                            f"matmul up so the inner sizes meet (a transpose?)")
                row.update(status="wrong",
                           why=f"{at(line)} raises {err}" + (f"; {hint}" if hint else ""))
        elif x is None:
            row.update(status="missing", why=f"{g} is still None")
        elif r.get("alias"):
            other = r["alias"]
            row.update(status="wrong", why=f"{g} = {other} makes no copy: both names are one "
                                           f"array, so the later in-place change of {g} changes "
                                           f"{other} too; write {g} = {other}.copy() (numpy's "
                                           f"spelling of the lecture's .clone())")
        elif not close(x, a) and not broadcast_equal(x, a):
            got = np.asarray(x) if isinstance(x, (float, int)) else x
            row.update(status="wrong",
                       why=diagnose(g, got, a, true_ctx, exercise) + rebound_note(r, at))
        elif r.get("rnd") is not None and r.get("rnd_ref") is not None and not (
                close(r["rnd"], r["rnd_ref"]) or broadcast_equal(r["rnd"], r["rnd_ref"])):
            hidden = ", ".join(u for u in sorted(r["reads"])
                               if u in answers and np.abs(answers[u]).max() < 1e-9)
            why = diagnose(g, np.asarray(r["rnd"]), r["rnd_ref"],
                           {**random_ctx, **r.get("rnd_ctx", {})}, exercise)
            why = re.sub(r"^largest difference at .*",
                         "with other upstream gradients it gives other numbers than "
                         "the answer's: a term is missing, extra or routed to the wrong place", why)
            row.update(status="wrong", why=f"{why} (caught with random upstream gradients in place "
                                           f"of the true ones"
                       + (f": {hidden} is about zero here and hides it)" if hidden else ")"))
        elif broadcast_equal(x, a) and not r.get("harmless", True):
            row.update(status="wrong", why=(f"shape {np.shape(x)} where {a.shape} = "
                                            f"{shapes()[g[1:]]} is due: the numbers are right, "
                                            f"but below it broadcasting turns {r['harm']} into "
                                            f"the wrong shape; keep the axis with keepdims=True"))
        else:
            if broadcast_equal(x, a):
                row["note"] = (f"shape {np.shape(x)} where {a.shape} = {shapes()[g[1:]]} is due; "
                               f"the numbers are right and broadcasting puts them where they "
                               f"belong, but keepdims=True (or np.ones_like) keeps the tensor's "
                               f"shape")
            if close(value, a) or broadcast_equal(value, a):
                row.update(status="ok", why=row["note"])
            else:
                row.update(status="inherits", why=inherits_why(g, r, value, a, upstream, at))
        if row["status"] == "wrong" and cause:  # its lines need what a failed line did not make
            row.update(status="inherits", why=f"your line may be right; it needs what "
                                              f"{at(cause['line'])} could not make")
        status[g] = row["status"]
        rows.append(row)
    return rows


def rebound_note(r, at):
    return "".join(f" (your file rebinds {name} at {at(line)})"
                   for name, line in r.get("rebound", []))


def inherits_why(g, r, value, a, upstream, at):
    if r.get("victim_of"):
        culprit, line = r["victim_of"]
        return (f"your line is right, but `{culprit} = {g}` (no copy, {at(line)}) shares its "
                f"array, and the in-place change of {culprit} changed {g} too")
    if upstream:
        why = f"your line is right; it inherits the error of {', '.join(upstream)}"
        if value is None:
            why += "; with yours it could not be computed"
        elif np.shape(value) != a.shape and np.size(value) != a.size:
            why += f"; with yours it comes out {np.shape(value)}"
            if np.ndim(value) == a.ndim and np.size(value) > a.size:
                why += ": broadcasting made a matrix of a vector that lost its axis"
        return why
    if r.get("plain_error"):
        line, err = r["plain_error"]
        return f"your line is right, but as your file runs, {at(line)} raises {err}"
    if r.get("rebound"):
        return "your line is right, but" + rebound_note(r, at)
    return "your line is right, but a later line changed it (an in-place += on a shared array?)"
