"""The practice grader's knowledge: what each gradient is, the classic ways to get it wrong, and
how a learner's value is judged. It never runs learner code (lib/learner.py does, in a process of
its own); it judges what those runs produced.

A gradient is judged on what its own lines give when every other gradient they read is right
(the 'isolated' run), so one mistake is one 'wrong' row and a right line below it says whose
error it 'inherits'. Backward lines are linear in the upstream gradients they read, so each line
is also run with random upstream gradients: a term multiplied by a near-zero upstream
(dlogit_maxes is about 1e-17) still counts there.

The mistakes, in the order they are tried on a value that is not the answer; the first that
explains it names the row. Adding a diagnosis: one function below, one name here, one test row
in tests/test_practice.py.
"""
MISTAKES = (
    "not_an_array",        # a list, a number or None where an array is due
    "integer_array",       # np.zeros(shape, dtype=int): -1/n stored as 0
    "transposed",          # (27, 64) where (64, 27) is due
    "lost_axis",           # a sum without keepdims=True
    "not_summed",          # a broadcast's gradient left unsummed
    "broadcast_blowup",    # a vector met a column, and broadcasting made a matrix
    "wrong_axis",          # summed over the other axis
    "wrong_shape",         # any other shape
    "one_branch_only",     # a tensor used twice in the forward, one use's gradient left out
    "known_form",          # the gradient's own classic wrong answers (KNOWLEDGE[g]['wrong'])
    "branch_factor",       # the mean's 1/n or Bessel's 1/(n-1) wrong in one branch, or its sign
    "constant_factor",     # the whole answer times -1, n, 1/n, (n-1)/n, n/(n-1), 2, 1/2
    "scatter_overwrites",  # dC[Xb] += demb: one gradient per row of C, not one per use
    "no_chain_rule",       # the local derivative alone, not times the gradient from above
)
import ast
import functools
import inspect
import re
import textwrap

import numpy as np

from lib import lecture
from lib.gradcheck import rel_error

EXERCISES = {
    "ex1": dict(title="Exercise 1: backprop through the whole thing, one small step at a time",
                graded=lecture.GRADIENTS, given_grads=(), n_hidden=64,
                task="Fill in every gradient below, in this order: from the loss back to the\n"
                     "embedding, then the parameters. Where a tensor is used twice in the forward\n"
                     "pass, its gradient has two parts."),
    "ex2": dict(title="Exercise 2: the cross-entropy backward in one step",
                graded=("dlogits",), given_grads=(), n_hidden=64,
                task="Compute dlogits directly from logits (or probs), Yb and n, in one or a few\n"
                     "lines: work out d loss / d logits on paper for one row first."),
    "ex3": dict(title="Exercise 3: the batchnorm backward in one step",
                graded=("dbngain", "dbnbias", "dhprebn"), given_grads=("dhpreact",), n_hidden=64,
                task="dhpreact (n, H), the gradient arriving at the batchnorm output, is given.\n"
                     "Compute dbngain, dbnbias and then dhprebn in one (long) line, from the\n"
                     "forward's names."),
    "ex4": dict(title="Exercise 4: the whole backward of a training step, then train with it",
                graded=("dlogits",
                        "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias", "dhprebn", "dembcat",
                        "dW1", "db1", "demb", "dC"), given_grads=(), n_hidden=200,
                task="Write the backward of the training step, from dlogits down to dC, using\n"
                     "the one-step forms of exercises 2 and 3. Grading it then trains with it\n"
                     "beside the project's own backward and plots both loss curves (your update\n"
                     "lines, if any, are not run)."),
}
PARAM_SHAPES = dict(C="(V, E)", W1="(T*E, H)", b1="(H,)", bngain="(1, H)", bnbias="(1, H)",
                    W2="(H, V)", b2="(V,)")
# The notebook's own names around the forward, which learners' lines use (in every practice file).
NOTEBOOK_NAMES = dict(batch_size="n", block_size="T", vocab_size="V", n_embd="E", n_hidden="H")
ALL_GRADIENTS = set(lecture.GRADIENTS)
SKIPPED_BN = ("dhpreact where dhprebn belongs: the batchnorm layer sits between hprebn and "
              "hpreact, so the gradient reaches W1, b1 and embcat only through it (dhprebn)")

# Everything known about each gradient, in one place: the hint (the local derivative, never the
# answer), the branches of a tensor used twice (the forward line of each use, and its share of the
# gradient), and the classic wrong answers (an expression in the forward's names, the upstream
# gradients and V, H, T, E, onehot (the targets, (n, V)), maxhot (each row's max, (n, V)), and
# add_at(index, values) (a fresh dC with np.add.at), each with what went wrong and the fix).
# 'fused': the one-step form of exercises 2 to 4, its hint and its answer.
# bnraw as a layer that recomputes the batch variance with np.var's default ddof=0 gets it (1/n)
BIASED_BNRAW = "bndiff * ((n - 1) / n * bnvar + EPS) ** -0.5"
BIASED_VAR = ("the batch variance is recomputed with 1/n (np.var's default, ddof=0) where the "
              "forward divides by n-1: np.var(..., ddof=1), or reuse the forward's bnvar and bnraw")
KNOWLEDGE = {
    "dlogprobs": dict(
        hint="loss = -(mean of the n target log-probs): each target entry gets -1/n, every other "
             "entry 0",
        wrong=[("-np.ones_like(logprobs) / n",
                "every entry got -1/n: only the n target entries enter the loss "
                "(dlogprobs[np.arange(n), Yb] = -1/n), the others get 0"),
               ("-colhot / n",
                "dlogprobs[:, Yb] sets every row at every target column: index one element per "
                "row, dlogprobs[np.arange(n), Yb]"),
               ("-onehot / (n * V)",
                "divided by n*V: the loss is the mean of n numbers (one per row), so 1/n")]),
    "dprobs": dict(
        hint="logprobs = log(probs): d log(x)/dx = 1/x, times dlogprobs (the chain rule, element "
             "by element)",
        wrong=[("probs * dlogprobs", "times probs: d log(x)/dx is 1/x, so divide by probs"),
               ("dlogprobs / logprobs",
                "divided by logprobs: d log(x)/dx is 1/x with x = probs, not log(probs)"),
               ("1 / probs",
                "the local derivative alone: multiply it by dlogprobs (the chain rule)")]),
    "dcounts_sum_inv": dict(
        hint="probs = counts * counts_sum_inv: counts_sum_inv (n, 1) was broadcast over the V "
             "columns, so its gradient sums counts * dprobs over axis 1 (keep the axis)",
        wrong=[("(counts_sum_inv * dprobs).sum(1, keepdims=True)",
                "times counts_sum_inv: in probs = counts * counts_sum_inv the local derivative "
                "for counts_sum_inv is the other factor, counts")]),
    "dcounts_sum": dict(
        hint="counts_sum_inv = counts_sum ** -1: d x^-1 = -x^-2",
        wrong=[("-counts_sum ** -1 * dcounts_sum_inv",
                "-x^-1 where -x^-2 belongs: d x^-1 = -1 * x^(-1-1)"),
               ("counts_sum ** -2 * dcounts_sum_inv",
                "the sign is flipped: d x^-1 = -x^-2, with a minus")]),
    "dcounts": dict(
        hint="counts is used twice: in probs = counts * counts_sum_inv (gives counts_sum_inv * "
             "dprobs) and in counts_sum = counts.sum(1) (a sum sends its gradient to every "
             "element: dcounts_sum broadcast); add both",
        branches=[("probs = counts * counts_sum_inv", "counts_sum_inv * dprobs"),
                  ("counts_sum = counts.sum(1, keepdims=True)",
                   "np.ones_like(counts) * dcounts_sum")]),
    "dnorm_logits": dict(
        hint="counts = exp(norm_logits): d exp(x) = exp(x), which is counts",
        wrong=[("norm_logits * dcounts",
                "times norm_logits: d exp(x) = exp(x), which is counts, not x"),
               ("np.exp(logits) * dcounts",
                "exp(logits) where exp(norm_logits) belongs: counts came from the normalised "
                "logits, so its derivative is counts itself"),
               ("dcounts",
                "the local derivative is missing: d exp(x) = exp(x) = counts, so counts * "
                "dcounts")]),
    "dlogit_maxes": dict(
        hint="norm_logits = logits - logit_maxes: logit_maxes (n, 1) was broadcast and "
             "subtracted, so minus the sum of dnorm_logits over axis 1. It should come out about "
             "zero: why?",
        wrong=[("-dnorm_logits.mean(1, keepdims=True)",
                "the mean over the row where the sum belongs: logit_maxes "
                "(n, 1) was broadcast over V columns, and a broadcast's gradient sums them"),
               ("-dnorm_logits.sum()",
                "summed over the whole batch: each row's max gets the sum of its own row "
                "(.sum(1, keepdims=True))")]),
    "dlogits": dict(
        hint="logits is used twice: norm_logits = logits - logit_maxes (passes dnorm_logits "
             "straight through) and logit_maxes = logits.max(1) (routes dlogit_maxes to the "
             "position of each row's max: np.eye(V)[argmax])",
        branches=[("norm_logits = logits - logit_maxes", "dnorm_logits"),
                  ("logit_maxes = logits.max(1, keepdims=True)", "maxhot * dlogit_maxes")],
        wrong=[("dnorm_logits + colhot_max * dlogit_maxes",
                "the max routed to every row's max column in every row: [:, argmax] picks whole "
                "columns; route each row's dlogit_maxes to its own row's max, [np.arange(n), "
                "logits.argmax(1)] (or np.eye(V)[logits.argmax(1)])"),
               ("dnorm_logits + globalhot * dlogit_maxes.sum()",
                "the whole batch's dlogit_maxes routed to one entry (the max of the whole "
                "matrix): each row has its own max; np.eye(V)[logits.argmax(1)]"),
               ("dnorm_logits + globalhot * dlogit_maxes",
                "routed to one entry of the whole matrix (argmax without axis=1): each row's "
                "dlogit_maxes goes to that row's own max, np.eye(V)[logits.argmax(1)]"),
               ("dnorm_logits + maxhot * dlogit_maxes.sum()",
                "every row's max got the whole batch's dlogit_maxes: "
                "each row's max gets its own row's, maxhot * dlogit_maxes (broadcast (n, 1))"),
               ("dnorm_logits + minhot * dlogit_maxes",
                "routed to each row's minimum: logit_maxes came from the max, argmax(1)"),
               ("dnorm_logits + dlogit_maxes",
                "dlogit_maxes added to every entry of its row: the max passes gradient only to "
                "the entry that was the max (np.eye(V)[logits.argmax(1)] * dlogit_maxes)"),
               ("(probs - colhot) / n",
                "dlogits[:, Yb] -= 1 subtracts 1 in every row at every target column: one "
                "element per row, dlogits[np.arange(n), Yb] -= 1"),
               ("(probs - onehot) / (n * V)",
                "divided by n*V: the loss is a mean over the n rows only, so / n"),
               ("probs / n",
                "the one-hot's -1 is left out: d loss / d logit_i = p_i - [i == target], so "
                "subtract 1 at each row's target, dlogits[np.arange(n), Yb] -= 1"),
               ("(logits - onehot) / n",
                "logits where probs belong: the softmax's probabilities, exp(logits) / "
                "exp(logits).sum(1, keepdims=True), minus the one-hot"),
               ("(logprobs - onehot) / n",
                "log-probabilities where probs belong: use the softmax itself, probs = "
                "exp(logprobs), minus the one-hot"),
               ("(counts - onehot) / n",
                "exp(logits) without dividing by each row's sum: probs = counts / counts.sum(1, "
                "keepdims=True)"),
               ("(softmax_over_batch - onehot) / n",
                "the softmax's sum runs over axis 0 (the batch): each row's probabilities sum "
                "over that row, .sum(1, keepdims=True)"),
               ("(softmax_over_all - onehot) / n",
                "the softmax divides by the sum of the whole matrix: each row by its own sum, "
                ".sum(1, keepdims=True)"),
               ("(onehot - probs)",
                "the sign is flipped and the 1/n of the mean is missing: (probs - onehot) / n")],
        fused=("loss = mean over rows of -log softmax(logits)[Yb]: for one row, d/dlogit_i = p_i "
               "- [i == y]; then divide by n for the mean",
               "dlogits = probs.copy()\ndlogits[np.arange(n), Yb] -= 1\ndlogits /= n")),
    "dh": dict(hint="logits = h @ W2 + b2: for a matmul the gradient is a matmul too; match the "
                    "shapes: (n, V) and (H, V) -> (n, H)"),
    "dW2": dict(hint="logits = h @ W2 + b2: (n, H) and (n, V) -> (H, V); which one is transposed?"),
    "db2": dict(hint="b2 (V,) was broadcast over the n rows: sum dlogits over axis 0",
                wrong=[("dlogits.mean(0)",
                        "the mean over the batch where the sum belongs: b2 was broadcast over "
                        "the n rows, and a broadcast's gradient is their sum (the 1/n is "
                        "already in dlogits)")]),
    "dhpreact": dict(
        hint="h = tanh(hpreact): d tanh(x) = 1 - tanh(x)^2, and tanh(x) is h",
        wrong=[("(1 - hpreact ** 2) * dh",
                "1 - hpreact**2 squares the pre-activation: tanh's derivative is "
                "1 - tanh(x)^2 = 1 - h**2, from the output h"),
               ("(1 - h) * dh",
                "1 - h: the square is missing, d tanh(x) = 1 - tanh(x)^2 = 1 - h**2"),
               ("(1 - h) ** 2 * dh",
                "(1 - h)**2 squares the difference: tanh's derivative is 1 - h**2"),
               ("(1 - np.tanh(h) ** 2) * dh",
                "tanh applied twice: h is already tanh(hpreact), so 1 - h**2"),
               ("1 - h ** 2", "the local derivative alone: multiply it by dh (the chain rule)")]),
    "dbngain": dict(
        hint="hpreact = bngain * bnraw + bnbias: bngain (1, H) was broadcast over the batch: sum "
             "bnraw * dhpreact over axis 0",
        wrong=[("(hpreact * dhpreact).sum(0, keepdims=True)",
                "hpreact where bnraw belongs: in hpreact = bngain * "
                "bnraw + bnbias the factor next to bngain is bnraw, the normalised input"),
               ("(bndiff * dhpreact).sum(0, keepdims=True)",
                "bndiff where bnraw belongs: bngain multiplies the "
                "normalised bnraw = bndiff * bnvar_inv"),
               ("(hprebn * dhpreact).sum(0, keepdims=True)",
                "hprebn where bnraw belongs: bngain multiplies the "
                "normalised bnraw"),
               (f"({BIASED_BNRAW} * dhpreact).sum(0, keepdims=True)", BIASED_VAR)]),
    "dbnraw": dict(
        hint="hpreact = bngain * bnraw + bnbias: times bngain (broadcast over the batch)",
        wrong=[("dhpreact",
                "bngain is left out: hpreact = bngain * bnraw + bnbias, so bngain * dhpreact"),
               ("bnbias * dhpreact",
                "bnbias where bngain belongs: bnraw is multiplied by bngain")]),
    "dbnbias": dict(
        hint="hpreact = ... + bnbias: bnbias (1, H) was broadcast over the batch: sum dhpreact "
             "over axis 0",
        wrong=[("(bnraw * dhpreact).sum(0, keepdims=True)",
                "that is dbngain: bnbias is added, so its local derivative is 1: "
                "dhpreact.sum(0, keepdims=True)")]),
    "dbndiff": dict(
        hint="bndiff is used twice: bnraw = bndiff * bnvar_inv (gives bnvar_inv * dbnraw) and "
             "bndiff2 = bndiff ** 2 (gives 2 * bndiff * dbndiff2); add both",
        branches=[("bnraw = bndiff * bnvar_inv", "bnvar_inv * dbnraw"),
                  ("bndiff2 = bndiff ** 2", "2 * bndiff * dbndiff2")],
        wrong=[("bnvar_inv * dbnraw + 2 * bndiff2 * dbndiff2",
                "bndiff2 where bndiff belongs: d(x^2) = 2x, and x is bndiff: 2 * bndiff * "
                "dbndiff2"),
               ("bnvar_inv * dbnraw + bndiff * dbndiff2",
                "the 2 of d(x^2) = 2x is missing: 2 * bndiff * dbndiff2"),
               ("bnvar_inv * dbnraw + 2 * dbndiff2",
                "d(x^2) = 2x: times bndiff, 2 * bndiff * dbndiff2")]),
    "dbnvar_inv": dict(
        hint="bnraw = bndiff * bnvar_inv: bnvar_inv (1, H) was broadcast over the batch: sum "
             "bndiff * dbnraw over axis 0",
        wrong=[("(bndiff2 * dbnraw).sum(0, keepdims=True)",
                "bndiff2 where bndiff belongs: bnraw = bndiff * bnvar_inv, so (bndiff * "
                "dbnraw).sum(0, keepdims=True)"),
               ("(bnraw * dbnraw).sum(0, keepdims=True)",
                "bnraw where bndiff belongs: the factor next to bnvar_inv in bnraw = bndiff * "
                "bnvar_inv is bndiff")]),
    "dbnvar": dict(
        hint="bnvar_inv = (bnvar + eps) ** -0.5: d x^-1/2 = -1/2 x^-3/2 (eps is 1e-5)",
        wrong=[("-0.5 * bnvar ** -1.5 * dbnvar_inv",
                "EPS is left out: bnvar_inv = (bnvar + EPS) ** -0.5, so its derivative is -0.5 * "
                "(bnvar + EPS) ** -1.5"),
               ("-0.5 * (bnvar + EPS) ** -0.5 * dbnvar_inv",
                "the power is -0.5 where -1.5 belongs: d x^p = p x^(p-1), p = -0.5 gives -0.5 * "
                "x ** -1.5"),
               ("0.5 * (bnvar + EPS) ** -0.5 * dbnvar_inv",
                "the power rule: d x^-0.5 = -0.5 x^-1.5, not 0.5 x^-0.5"),
               ("-0.5 * (bnvar + EPS) ** 1.5 * dbnvar_inv",
                "x^1.5 where x^-1.5 belongs: d x^-0.5 = -0.5 x^(-0.5-1)"),
               ("-0.5 * bnvar_inv ** 2 * dbnvar_inv",
                "bnvar_inv**2 is (bnvar + EPS)^-1: the power rule gives (bnvar + EPS)^-1.5, "
                "which is bnvar_inv**3"),
               ("-0.5 * (bnvar + EPS) ** -1 * dbnvar_inv",
                "x^-1 where x^-1.5 belongs: d x^-0.5 = -0.5 x^(-0.5-1)"),
               ("-0.5 * (bnvar + EPS) ** -2 * dbnvar_inv",
                "x^-2 where x^-1.5 belongs: d x^-0.5 = -0.5 x^(-0.5-1)"),
               ("-1.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv",
                "-1.5 x^-1.5: the factor of d x^p = p x^(p-1) is p = -0.5, not the new power")]),
    "dbndiff2": dict(
        hint="bnvar = 1/(n-1) * bndiff2.sum(0): a sum broadcasts its gradient back to every row, "
             "times 1/(n-1) (Bessel's correction, not 1/n)"),
    "dbnmeani": dict(
        hint="bndiff = hprebn - bnmeani: bnmeani (1, H) was broadcast and subtracted: minus the "
             "sum of dbndiff over axis 0",
        wrong=[("-dbndiff.mean(0, keepdims=True)",
                "the mean over the batch where the sum belongs: bnmeani was "
                "broadcast over the n rows, and a broadcast's gradient is their sum")]),
    "dhprebn": dict(
        hint="hprebn is used twice: bndiff = hprebn - bnmeani (passes dbndiff through) and "
             "bnmeani = 1/n * hprebn.sum(0) (sends 1/n * dbnmeani to every row); add both",
        branches=[("bndiff = hprebn - bnmeani", "dbndiff"),
                  ("bnmeani = 1 / n * hprebn.sum(0, keepdims=True)",
                   "1 / n * np.ones_like(hprebn) * dbnmeani")],
        wrong=[("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * "
                "bnraw).sum(0))",
                "the textbook formula for the biased variance (1/n), but the forward divides by "
                "n-1 (Bessel): the variance path keeps a factor n/(n-1), ... - n/(n-1) * bnraw * "
                "(dhpreact * bnraw).sum(0)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - (n - 1) / n * bnraw * "
                "(dhpreact * bnraw).sum(0))",
                "Bessel's factor is inverted: (n-1)/n where n/(n-1) belongs, ... - n/(n-1) * "
                "bnraw * (dhpreact * bnraw).sum(0)"),
               ("bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
                "(dhpreact * bnraw).sum(0))",
                "bngain is left out: hpreact = bngain * bnraw + bnbias, so every path starts "
                "with bngain * dhpreact: bngain * bnvar_inv / n * (...)"),
               ("bngain * bnvar ** -0.5 / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * "
                "bnraw * (dhpreact * bnraw).sum(0))",
                "EPS is left out of the variance: bnvar ** -0.5 where bnvar_inv = (bnvar + EPS) "
                "** -0.5 belongs"),
               ("bngain * (bnvar + EPS) ** -1.5 / n * (n * dhpreact - dhpreact.sum(0) - n / (n - "
                "1) * bnraw * (dhpreact * bnraw).sum(0))",
                "the variance to the power -1.5 where -0.5 belongs: the outer factor is "
                "bnvar_inv = (bnvar + EPS) ** -0.5"),
               ("bngain * (bnvar + EPS) ** 0.5 / n * (n * dhpreact - dhpreact.sum(0) - n / (n - "
                "1) * bnraw * (dhpreact * bnraw).sum(0))",
                "the variance to the power +0.5 where -0.5 belongs: the outer factor is "
                "bnvar_inv = (bnvar + EPS) ** -0.5"),
               ("bngain * (bnvar + EPS) ** -1 / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) "
                "* bnraw * (dhpreact * bnraw).sum(0))",
                "1/variance where 1/sqrt(variance + EPS) belongs: the outer factor is bnvar_inv "
                "= (bnvar + EPS) ** -0.5"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
                "(dhpreact - bnraw))",
                "(dhpreact - bnraw) where the batch sum of their product belongs (the lecture "
                "transcript's typo): ... * bnraw * (dhpreact * bnraw).sum(0)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(1, keepdims=True) - n / (n "
                "- 1) * bnraw * (dhpreact * bnraw).sum(1, keepdims=True))",
                "the sums run over axis 1 (the H neurons): batchnorm normalises each neuron over "
                "the batch, so sum over axis 0"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(1, keepdims=True) - n / (n "
                "- 1) * bnraw * (dhpreact * bnraw).sum(0))",
                "dhpreact.sum(1) sums over axis 1 (the H neurons): the mean path sums over the "
                "batch, dhpreact.sum(0)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * "
                "(dhpreact * bnraw).sum(1, keepdims=True))",
                "(dhpreact * bnraw).sum(1) sums over axis 1 (the H neurons): the variance path "
                "sums over the batch, .sum(0)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - n / (n - 1) * bnraw * (dhpreact * "
                "bnraw).sum(0))",
                "the mean's path is missing: - dhpreact.sum(0) (hprebn moves the batch mean, "
                "which moves every row)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0))",
                "the variance's path is missing: - n/(n-1) * bnraw * (dhpreact * bnraw).sum(0)"),
               ("bngain * bnvar_inv * dhpreact",
                "only the direct path: hprebn also moves the batch mean and the batch variance, "
                "and both send gradient back to every row"),
               (f"bngain * ((n - 1) / n * bnvar + EPS) ** -0.5 / n * (n * dhpreact "
                f"- dhpreact.sum(0) - n / (n - 1) * {BIASED_BNRAW} * (dhpreact * {BIASED_BNRAW})"
                f".sum(0))", BIASED_VAR)],
        fused=("hprebn reaches the loss three ways: directly through bnraw, through the batch "
               "mean and through the batch variance. Sum the three (scripts/ex3_batchnorm.py "
               "derives it); mind Bessel's n-1",
               "dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - "
               "1) * bnraw * (dhpreact * bnraw).sum(0))")),
    "dembcat": dict(hint="hprebn = embcat @ W1 + b1: (n, H) and (T*E, H) -> (n, T*E)",
                    wrong=[("dhpreact @ W1.T", SKIPPED_BN)]),
    "dW1": dict(hint="hprebn = embcat @ W1 + b1: (n, T*E) and (n, H) -> (T*E, H)",
                wrong=[("embcat.T @ dhpreact", SKIPPED_BN)]),
    "db1": dict(hint="b1 (H,) was broadcast over the batch: sum dhprebn over axis 0. It should "
                     "come out about zero: why?",
                wrong=[("dhprebn.mean(0)",
                        "the mean over the batch where the sum belongs: b1 was broadcast over "
                        "the n rows, and a broadcast's gradient is their sum"),
                       ("dhpreact.sum(0)", SKIPPED_BN)]),
    "demb": dict(
        hint="embcat = emb.reshape(n, -1) only moved numbers around: reshape the gradient back to "
             "emb's shape",
        wrong=[("dembcat.reshape(n, E, T).transpose(0, 2, 1)",
                "reshaped in the wrong order: embcat laid out each example's T characters one "
                "after another, E numbers each, so dembcat.reshape(n, T, E) (emb.shape)"),
               ("dembcat.reshape(emb.shape, order='F')",
                "reshaped in Fortran order: embcat = emb.reshape(n, -1) used numpy's C order, so "
                "reshape back the same way"),
               ("dembcat.T.reshape(emb.shape)",
                "transposed before the reshape: the numbers of one example are a row of "
                "dembcat; dembcat.reshape(emb.shape)")]),
    "dC": dict(
        hint="emb = C[Xb] copied row Xb[k, j] of C into place (k, j): every copy sends its "
             "gradient back to its row, and rows used many times add up all of them (a loop with "
             "+=, or np.add.at; not dC[Xb] += demb)",
        wrong=[("add_at(Xb.T.ravel(), demb.reshape(-1, E))",
                "np.add.at over mismatched axes: Xb.T.ravel() lists the characters position by "
                "position, demb.reshape(-1, E) example by example; flatten both the same way, "
                "np.add.at(dC, Xb.ravel(), demb.reshape(-1, E))"),
               ("add_at(Xb.ravel(), demb.transpose(1, 0, 2).reshape(-1, E))",
                "np.add.at over mismatched axes: "
                "Xb.ravel() goes example by example, the transposed demb position by position; use "
                "np.add.at(dC, Xb, demb)"),
               ("add_at(Xb[:, 0], demb.sum(1))",
                "every example's gradient went to its first character only: each of the T "
                "characters gets its own, np.add.at(dC, Xb, demb)"),
               ("add_at(Xb[:, -1], demb.sum(1))",
                "every example's gradient went to its last character only: each of the T "
                "characters gets its own, np.add.at(dC, Xb, demb)")]),
}
# The one-step forms' answers, as exercises 2 to 4 ask for them.
FUSED = {g: k["fused"] for g, k in KNOWLEDGE.items() if "fused" in k}

# Errors a learner's line raises, and what they mean: (pattern in the line or the error, the fix).
RAISES = [
    (r"keepdim\s*=", "numpy spells it keepdims=True, with an s"),
    (r"\bdim\s*=",
     "numpy's keyword is axis=, not dim= (or pass the axis first: .sum(1, keepdims=True))"),
    (r"\.clone\(\)", "numpy's copy is .copy(), not torch's .clone()"),
    (r"\.view\(",
     "numpy reshapes with .reshape(...); its .view() reinterprets the bytes as another dtype"),
    (r"\btorch\.",
     "there is no torch here: use numpy's function (np.zeros_like, np.exp, np.arange ...)"),
    (r"\bF\.", "F.softmax and F.cross_entropy are torch: write them with np.exp(...) and a sum"),
    (r"\.item\(\)", "numpy: float(x) instead of .item() (which only works on one number)"),
    (r"\.(exp|log|tanh|t)\(\)",
     "numpy has no tensor methods for these: np.exp(x), np.log(x), np.tanh(x), x.T"),
    (r"^\s*import torch|^\s*from torch",
     "no torch here: this file is numpy only (np is already imported)"),
    (r"object has no attribute '(\w+)'", lambda m: NUMPY_SPELLING.get(m.group(1), "")),
    (r"'int' object is not callable.*\.size\(",
     "numpy: x.shape[0] (x.size is the number of elements, not a method)"),
    (r"^KeyboardInterrupt", "your file raised it itself (a Ctrl-C stops the grader, not a line)"),
    (r"EOFError",
     "input() gets no input here: the grader runs your file without a keyboard; remove the "
     "input()"),
    (r"could not be broadcast together with shapes \(\d+,\d+\) \(\d+,\)",
     "a sum lost its axis: keep it with keepdims=True, so (n, 1) broadcasts along the row"),
]


@functools.cache
def shapes():
    """Symbolic shape of every tensor, from the comment on its forward line:
    {'emb': '(n, T, E)', ...}."""
    found = dict(PARAM_SHAPES, loss="scalar")
    for line in forward_lines():  # parsed once (cached): every row and diagnosis asks
        m = re.match(r"(\w+) = .*#\s*(\([^)]*\))", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


@functools.cache
def forward_lines():
    """lib/lecture.py's forward, its body as written (comments kept, docstring and return dropped),
    found through its syntax tree."""
    src = textwrap.dedent(inspect.getsource(lecture.forward))
    body = [s for s in ast.parse(src).body[0].body
            if not isinstance(s, ast.Return)
            and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    lines = src.splitlines()[body[0].lineno - 1:body[-1].end_lineno]
    return tuple(textwrap.dedent("\n".join(lines)).splitlines())


@functools.cache
def backward_source():
    """lib/lecture.py's backward: its source, dedented, and its body's statements, parsed once."""
    src = textwrap.dedent(inspect.getsource(lecture.backward))
    return src, tuple(ast.parse(src).body[0].body)


def backward_sections():
    """lib/lecture.py's backward as its sections:
    [(comment, [gradients it assigns, in order]), ...]."""
    src, body = backward_source()
    lines = src.splitlines()
    sections, seen = [], set()
    for s in body:
        above = lines[s.lineno - 2].strip()
        if above.startswith("#"):
            sections.append((above.lstrip("# "), []))
        for g in sorted(targets(s) & ALL_GRADIENTS - seen, key=lecture.GRADIENTS.index):
            sections[-1][1].append(g)
            seen.add(g)
    return sections


# reading the learner's file

IN_PLACE = {"copyto",
            "put_along_axis", "put", "place", "putmask", "fill_diagonal"}  # np.f(target, ...)
IN_PLACE_METHODS = {"fill",
                    "put", "itemset", "sort", "resize"}                       # target.f(...)


def targets(stmt):
    """The names a statement writes: assigned (plainly, augmented, through an index or an
    attribute), deleted, the first argument of ufunc.at and numpy's in-place functions, an out=
    argument, and the array of an in-place method (dC.fill(0))."""
    out = set()

    def base(node):
        while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(stmt):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif (isinstance(node, (ast.Subscript, ast.Attribute))
              and isinstance(node.ctx, (ast.Store, ast.Del))):
            out.add(base(node))
        elif isinstance(node, ast.Call):
            f = node.func
            name = (f.attr if isinstance(f, ast.Attribute) else
                    f.id if isinstance(f, ast.Name) else "")
            if node.args and (name == "at" or name in IN_PLACE):
                out.add(base(node.args[0]))
            if isinstance(f, ast.Attribute) and name in IN_PLACE_METHODS:
                out.add(base(f.value))
            for kw in node.keywords:
                if kw.arg == "out":
                    out.add(base(kw.value.elts[0] if isinstance(kw.value, ast.Tuple) else kw.value))
    out.discard(None)
    return out


def reads(stmts):
    return {node.id for s in stmts for node in ast.walk(s)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def guess_exercise(source):
    """The exercise a practice file is, from its first line ('# Exercise 3: ...') or, failing
    that, from the gradients it assigns; None when it cannot be told."""
    m = re.match(r"\ufeff?\s*#\s*Exercise (\d)", source)
    if m and f"ex{m.group(1)}" in EXERCISES:
        return f"ex{m.group(1)}"
    try:
        written = set().union(*(targets(s) for s in ast.parse(source).body))
    except SyntaxError:
        return None
    if written & (ALL_GRADIENTS - set(EXERCISES["ex4"]["graded"]) - {"dbngain", "dbnbias"}):
        return "ex1"  # dlogprobs, dcounts, dbndiff2 ... exist only in the long way round
    if written & {"dC", "dW1", "dW2", "dembcat", "demb", "dh"}:
        return "ex4"
    if written & {"dhprebn", "dbngain", "dbnbias"}:
        return "ex3"
    if "dlogits" in written:
        return "ex2"
    return None


# judging one gradient

def context(values, grads):
    """The names a wrong form or a branch may use: the forward, the gradients (true or random),
    the sizes and a few one-hot matrices."""
    n, V = values["logits"].shape
    T, E = values["emb"].shape[1:]
    logits, Yb, C = values["logits"], values["Yb"], values["C"]
    eye = np.eye(V)
    colhot, colhot_max = np.zeros((n, V)), np.zeros((n, V))
    colhot[:, Yb] = 1
    colhot_max[:, logits.argmax(1)] = 1
    globalhot = np.zeros((n, V))
    globalhot.flat[logits.argmax()] = 1
    e = np.exp(logits)

    def add_at(index, vals):
        out = np.zeros_like(C)
        np.add.at(out, index, vals)
        return out
    return {**values, **grads, "np": np, "n": n, "V": V, "H": values["hprebn"].shape[1], "T": T,
            "E": E, "EPS": lecture.EPS, "onehot": eye[Yb], "maxhot": eye[logits.argmax(1)],
            "minhot": eye[logits.argmin(1)],
            "colhot": colhot, "colhot_max": colhot_max, "globalhot": globalhot, "add_at": add_at,
            "softmax_over_batch": e / e.sum(0), "softmax_over_all": e / e.sum()}


def evaluate(expr, ctx):
    """The value of a wrong form in this context, or None when it cannot be computed."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(eval(expr, ctx), dtype=np.float64)
    except Exception:  # a form that does not apply to this batch (shapes that do not meet)
        return None


def close(x, a):
    """Same shape and the same numbers, to round-off (relative to the tensor's scale: a tensor of
    round-off, like dlogit_maxes, compares by its scale, not element by element)."""
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)
            and x.shape == np.shape(a)):
        return False
    with np.errstate(all="ignore"):
        scale = float(np.abs(a).max(initial=0))
        return bool(np.allclose(x, a, rtol=1e-7, atol=1e-9 * scale + 1e-13))


def broadcast_equal(x, a):
    """x differs from a only in its shape, and not in a way that changes a number: size-1 axes
    dropped or added (the lecture's (-dbndiff).sum(0)), or a row that broadcasts over the batch."""
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)) or x.shape == a.shape:
        return False
    if x.size == a.size and [s for s in x.shape if s != 1] == [s for s in a.shape if s != 1]:
        return close(x.reshape(a.shape), a)
    try:
        return close(np.broadcast_to(x, a.shape).copy(), a) and x.ndim <= a.ndim
    except ValueError:
        return False


class Case:
    """One gradient whose value is not the answer: what a diagnosis may look at."""

    def __init__(self, g, x, a, ctx, exercise):
        self.g, self.x, self.a, self.ctx, self.exercise = g, x, a, ctx, exercise
        self.n = ctx["n"]
        self.sym = shapes().get(g[1:], "")
        self.know = KNOWLEDGE.get(g, {})
        self.due = f"{a.shape} = {self.sym}" if self.sym else str(a.shape)

    def matches(self, expr):
        return close(self.x, evaluate(expr, self.ctx))


def not_an_array(c):
    if isinstance(c.x, np.ndarray) and np.issubdtype(c.x.dtype, np.number):
        return None
    if isinstance(c.x, (list, tuple)):
        try:
            right = close(np.asarray(c.x, dtype=np.float64), c.a)
        except (TypeError, ValueError):
            right = False
        return (f"{c.g} is a Python {type(c.x).__name__}"
                + (" with the right numbers" if right else "") +
                f", where a numpy array of shape {c.sym} is due: make it with numpy "
                f"(np.array(...), np.zeros_like)")
    return f"{c.g} is a {type(c.x).__name__}, where a numpy array of shape {c.sym} is due"


def integer_array(c):
    if np.issubdtype(c.x.dtype, np.integer) or c.x.dtype == bool:
        return (f"{c.g} is an array of {c.x.dtype}: numpy arrays keep their dtype, so the "
                f"fractions written into it were cut to whole numbers; make it float, e.g. "
                f"np.zeros_like({c.g[1:]}) or np.zeros({c.sym})")
    return None


def transposed(c):
    if c.x.ndim == 2 and c.x.shape == c.a.shape[::-1] and c.x.shape != c.a.shape:
        values = "the transpose of the answer" if np.allclose(c.x.T, c.a) else "transposed"
        return (f"shape {c.x.shape} where {c.due} is due: {values}. A gradient has the shape of "
                f"its tensor; line the matmul up so the shapes chain, e.g. dW2 = h.T @ dlogits, "
                f"not dlogits.T @ h")
    return None


def lost_axis(c):
    dropped = [k for k in range(c.a.ndim)
               if c.a.shape[k] == 1 and c.x.shape == c.a.shape[:k] + c.a.shape[k + 1:]]
    if dropped:
        right = " (the numbers are right)" if np.allclose(c.x, c.a.reshape(c.x.shape)) else ""
        return (f"shape {c.x.shape} where {c.due} is due: the sum over axis {dropped[0]} dropped "
                f"it{right}; keep it with keepdims=True")
    return None


def not_summed(c):
    """The gradient of a broadcast tensor, left at the broadcast shape: the sum over that axis is
    missing."""
    axes = tuple(k for k in range(c.a.ndim)
                 if c.a.shape[k] == 1 and c.x.ndim == c.a.ndim and c.x.shape[k] > 1)
    if axes and all(c.x.shape[k] == c.a.shape[k] for k in range(c.a.ndim) if k not in axes):
        if close(c.x.sum(axes, keepdims=True), c.a):
            k = axes[0]
            return (f"shape {c.x.shape} where {c.due} is due: not summed: {c.g[1:]} was broadcast "
                    f"along axis {k}, so its gradient sums over it: .sum({k}, keepdims=True)")
    return None


def broadcast_blowup(c):
    if c.x.ndim == c.a.ndim and any(s == 1 and xs > 1 for xs, s in zip(c.x.shape, c.a.shape)):
        return (f"shape {c.x.shape} where {c.due} is due: a ({c.n},) vector met a column, and "
                f"broadcasting silently made a matrix; a sum lost its axis: keep it with "
                f"keepdims=True")
    return None


def wrong_axis(c):
    """A sum over the other axis: the right reduction, of the right thing, along the wrong axis."""
    body = ast.parse(answer_source(c.g)).body
    if len(body) != 1 or not isinstance(body[0], ast.Assign):
        return None
    expr = ast.unparse(body[0].value)
    for m in re.finditer(r"\.sum\(([01])(, keepdims=True)?\)", expr):
        axis = 1 - int(m.group(1))
        for keep in (", keepdims=True", ""):
            form = expr[:m.start()] + f".sum({axis}{keep})" + expr[m.end():]
            if c.matches(form):
                what = "the batch" if axis == 0 else "the entries of each row"
                return (f"shape {c.x.shape} where {c.due} is due: summed over axis {axis} "
                        f"({what}); {c.g[1:]} was broadcast along axis {1 - axis}, so its "
                        f"gradient sums over axis {1 - axis}: {expr}")
    return None


def wrong_shape(c):
    if c.x.shape == c.a.shape:
        return None
    if c.g == "demb" and c.x.shape == c.a.shape[:1] + c.a.shape[:0:-1]:
        return (f"shape {c.x.shape} where {c.due} is due: emb is (n, T, E), T characters of E "
                f"numbers each; dembcat.reshape(emb.shape)")
    if c.g in ("dbndiff2", "dcounts", "dhprebn") and c.x.ndim == 2 and c.x.shape[0] == 1:
        return (f"shape {c.x.shape} where {c.due} is due: the forward's sum over the batch is a "
                f"broadcast in the backward: every row gets the gradient (np.ones_like(...) * ...)")
    return f"shape {c.x.shape} where {c.due} is due"


def one_branch_only(c):
    branches = c.know.get("branches", [])
    for k, (use, expr) in enumerate(branches):
        if c.matches(expr):
            other = branches[1 - k][0]
            return (f"matches the {('first', 'second')[k]} branch only ({use}): {c.g[1:]} is used "
                    f"twice in the forward pass, and the other use ({other}) also sends gradient: "
                    f"add it with +=")
    return None


def known_form(c):
    for expr, why in c.know.get("wrong", []):
        if c.matches(expr):
            return why
    return None


def factors(n):
    """The constant factors a whole gradient is classically off by, each with what it means."""
    return ((-1, "the sign is flipped"),
            (n, f"n = {n} times too large: the 1/n of the mean is missing"),
            (1 / n, f"n = {n} times too small: the 1/n of the mean is applied twice"),
            ((n - 1) / n, "off by a factor (n-1)/n: 1/n where Bessel's 1/(n-1) belongs (the batch "
                          "variance divides by n-1, so its gradient does too)"),
            (n / (n - 1), "off by a factor n/(n-1): 1/(n-1) where 1/n belongs (only the variance "
                          "has Bessel's n-1; the mean divides by n)"),
            (2, "twice the answer: check the power rule (d x^2 = 2x, d x^-1/2 = -1/2 x^-3/2)"),
            (0.5, "half the answer: check the power rule (d x^2 = 2x, d x^-1/2 = -1/2 x^-3/2)"))


def branch_factor(c):
    branches = c.know.get("branches", [])
    if len(branches) != 2:
        return None
    parts = [evaluate(expr, c.ctx) for _, expr in branches]
    if any(p is None for p in parts):
        return None
    for k, (use, _) in enumerate(branches):
        for factor, why in factors(c.n):
            if close(c.x, parts[1 - k] + factor * parts[k]):
                return f"in the branch of {use}: {why[0].lower() + why[1:]}"
    return None


def constant_factor(c):
    mask = np.abs(c.a) > 1e-9 * np.abs(c.a).max(initial=0)
    if not mask.any():
        return None
    r = float(np.median(c.x[mask] / c.a[mask]))
    if r == 0 or not np.allclose(c.x, r * c.a, rtol=1e-6, atol=1e-12):
        return None
    for factor, why in factors(c.n):
        if abs(r - factor) <= 1e-6 * abs(factor):
            return why
    return f"a constant factor {r:.6g} times the answer"


def scatter_overwrites(c):
    if c.g != "dC":
        return None
    shortened = np.zeros_like(c.a)
    shortened[c.ctx["Xb"]] += c.ctx["demb"]
    if close(c.x, shortened):
        short = int((~np.isclose(shortened, c.a).all(1)).sum())
        return (f"dC[Xb] += demb keeps one gradient per row when a character is used more than "
                f"once: {short} rows of dC are short. Use np.add.at(dC, Xb, demb) or the "
                f"lecture's double loop")
    return None


def no_chain_rule(c):
    """The project's line with every gradient from above set to ones: the local derivative alone."""
    body = ast.parse(answer_source(c.g)).body
    upstream = (reads(body) & ALL_GRADIENTS) - {c.g}
    if not upstream:
        return None
    ns = {**c.ctx, **{u: np.ones_like(c.ctx[u]) for u in upstream if u in c.ctx}}
    try:
        with np.errstate(all="ignore"):
            exec(compile(ast.Module(body=body, type_ignores=[]), "<answer>", "exec"), ns)
    except Exception:  # the answer's lines need what this batch does not give: no verdict
        return None
    if close(c.x, ns[c.g]):
        return (f"the local derivative alone: times the gradient arriving from above "
                f"({', '.join(sorted(upstream))}), the chain rule")
    return None


TRIED = [globals()[name] for name in MISTAKES]
SHAPE_MISTAKES = {transposed, lost_axis, not_summed, broadcast_blowup, wrong_axis, wrong_shape}


def squeezed(shape):
    return [s for s in shape if s != 1]


def diagnose(g, x, a, ctx, exercise="ex1"):
    """Why x (the learner's value, with right inputs) is not a (the answer): one line. A shape
    that differs only by size-1 axes does not hide what is wrong with the numbers."""
    c = Case(g, x, a, ctx, exercise)
    why = not_an_array(c)
    if why:
        return why
    note = ""
    if x.shape != a.shape and x.size == a.size and squeezed(x.shape) == squeezed(a.shape):
        note = (f" (and its shape {x.shape} drops a size-1 axis of {a.shape}: "
                f"keepdims=True keeps it)")
        c.x = x = x.reshape(a.shape)
    for mistake in TRIED[1:]:
        if mistake is integer_array:
            why = integer_array(c)
            if why:
                return why
            continue
        if (mistake in SHAPE_MISTAKES) == (x.shape != a.shape):
            why = mistake(c)
            if why:
                return why + note
    i = np.unravel_index(np.argmax(np.abs(x - a)), a.shape)
    where = f"[{', '.join(map(str, i))}]" if i else ""
    return (f"largest difference at {g}{where}: yours {x[i]:.6g}, the answer {a[i]:.6g}; "
            f"check the local derivative (practice.py hint {exercise} {g})" + note)


NUMPY_SPELLING = {  # torch's tensor methods that numpy arrays lack, and numpy's spelling
    "abs": "numpy: np.abs(x)",
           "pow": "numpy: x ** p", "values": "numpy's x.max(1) gives the values itself "
    "(x.argmax(1) the indices)", "indices": "numpy: x.argmax(1) gives the indices of the max",
    "float": "numpy: x.astype(float)",
             "numel": "numpy: x.size", "detach": "numpy arrays need no .detach()",
    "masked_fill": "numpy: np.where(mask, value, x)", "clamp": "numpy: np.clip(x, low, high)",
    "unsqueeze": "numpy: x[:, None] (or np.expand_dims)",
                 "expand_as": "numpy: np.broadcast_to(x, y.shape)",
    "index_add_": "numpy: np.add.at(dC, index, values)",
                  "scatter_": "numpy: np.put_along_axis(x, index, values, axis)",
    "zero_": "numpy: x[...] = 0 (or np.zeros_like)",
             "fill_": "numpy: x.fill(value)", "add_": "numpy: x += y",
    "exp": "numpy: np.exp(x)",
           "log": "numpy: np.log(x)", "tanh": "numpy: np.tanh(x)", "t": "numpy: x.T",
    "clone": "numpy's copy is .copy(), not torch's .clone()", "item": "numpy: float(x)",
}


def raise_hint(text):
    """The fix for an error a learner's line raised (text: the line and the error), or ''."""
    for pattern, hint in RAISES:
        m = re.search(pattern, text, re.M)
        if m:
            found = hint(m) if callable(hint) else hint
            if found:
                return found
    return ""


@functools.cache
def answer_source(g, fused=False):
    """The project's line(s) for g: from lib/lecture.py's backward, or the one-step form."""
    if fused and g in FUSED:
        return FUSED[g][1]
    src, body = backward_source()
    lines = src.splitlines()
    return textwrap.dedent("\n".join(ln for s in body if g in targets(s)
                                     for ln in lines[s.lineno - 1:s.end_lineno]))


# judging a whole file

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


def table(rows):
    """The rows as aligned lines."""
    w = max([len("gradient")] + [len(r["name"]) for r in rows])
    out = [f"{'gradient':<{w}} | {'status':8} | {'max abs diff':>12} | {'rel error':>9} | "
           f"diagnosis",
           f"{'-' * w}-+-{'-' * 8}-+-{'-' * 12}-+-{'-' * 9}-+-{'-' * 9}"]
    for r in rows:
        diff = f"{r['maxdiff']:12.3e}" if r["maxdiff"] is not None else f"{'-':>12}"
        rel = (f"{'-':>9}" if r["rel"] is None else
               f"{'zero':>9}" if r["zero"] else f"{r['rel']:9.2e}")
        where = f"{r['at']}: " if r["status"] == "wrong" and r.get("at") and not re.match(
            r"(line|cell) ", r["why"]) else ""
        out.append(f"{r['name']:<{w}} | {r['status']:8} | {diff} | {rel} | {where}{r['why']}"
                   .rstrip())
    return out


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
