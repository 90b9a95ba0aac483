"""The grader's catalogue, data only: the exercises, everything known about each gradient (its hint,
the branches of a tensor used twice, its classic wrong forms, the one-step answers), torch's
spellings and what a raising line means. A new wrong form of a gradient goes into KNOWLEDGE here."""
from lib import lecture

EXERCISES = {
    "ex1": dict(title="Exercise 1: backprop through the whole thing, one small step at a time",
                graded=lecture.GRADIENTS, given_grads=(), n_hidden=64, trains=False, graph=None,
                task="Fill in every gradient below, in this order: from the loss back to the\n"
                     "embedding, then the parameters. Where a tensor is used twice in the forward\n"
                     "pass, its gradient has two parts."),
    "ex2": dict(title="Exercise 2: the cross-entropy backward in one step",
                graded=("dlogits",), given_grads=(), n_hidden=64, trains=False,
                graph=("logits", "logit_maxes", "norm_logits", "counts", "counts_sum", "counts_sum_inv", "probs",
                       "logprobs", "loss", "Yb"),
                task="Compute dlogits directly from logits (or probs), Yb and n, in one or a few\n"
                     "lines: work out d loss / d logits on paper for one row first."),
    "ex3": dict(title="Exercise 3: the batchnorm backward in one step",
                graded=("dbngain", "dbnbias", "dhprebn"), given_grads=("dhpreact",), n_hidden=64, trains=False,
                graph=("hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw", "hpreact", "bngain",
                       "bnbias"),
                task="dhpreact (n, H), the gradient arriving at the batchnorm output, is given.\n"
                     "Compute dbngain, dbnbias and then dhprebn in one (long) line, from the\n"
                     "forward's names."),
    "ex4": dict(title="Exercise 4: the whole backward of a training step, then train with it",
                graded=("dlogits",
                        "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias", "dhprebn", "dembcat",
                        "dW1", "db1", "demb", "dC"), given_grads=(), n_hidden=200, trains=True, graph=None,
                task="Write the backward of the training step, from dlogits down to dC, using\n"
                     "the one-step forms of exercises 2 and 3. Grading it then trains with it\n"
                     "beside the project's own backward and plots both loss curves (your update\n"
                     "lines, if any, are not run)."),
}
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
# 'fused': the one-step form of exercises 2 to 4, its hint and its answer. 'shape': a shape a learner's value
# may come out in ('one row': (1, X) where (n, X) is due; 'reversed': the last axes the other way round) and
# what it means. 'scatter': (the index, the gradient) of an embedding lookup whose gradient is a scatter-add.
# bnraw as a layer that recomputes the batch variance with np.var's default ddof=0 gets it (1/n)
BIASED_BNRAW = "bndiff * ((n - 1) / n * bnvar + EPS) ** -0.5"
# exercise 3's answer on one line, as the lecture writes it; its wrong forms below are this line with one change
DHPREBN = "bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))"
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
        shape=("one row", "the forward's sum over the batch is a broadcast in the backward: every row gets the "
                          "gradient"),
        hint="counts is used twice: in probs = counts * counts_sum_inv (the local derivative is the other factor) "
             "and in counts_sum = counts.sum(1) (a sum sends its gradient to every element it added up: "
             "dcounts_sum, broadcast back over the row); add both",
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
                "the local derivative is missing: d exp(x) = exp(x), which the forward already "
                "made (counts): multiply dcounts by it")]),
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
               ("1 - h ** 2", "the local derivative alone: multiply it by dh (the chain rule)"),
               ("h * (1 - h) * dh", "h * (1 - h) is the sigmoid's derivative: tanh's is 1 - tanh(x)^2 = 1 - h**2")]),
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
                "bngain is left out: hpreact = bngain * bnraw + bnbias, so bnraw's local derivative is bngain"),
               ("bnbias * dhpreact",
                "bnbias where bngain belongs: bnraw is multiplied by bngain")]),
    "dbnbias": dict(
        hint="hpreact = ... + bnbias: bnbias (1, H) was broadcast over the batch: sum dhpreact "
             "over axis 0",
        wrong=[("(bnraw * dhpreact).sum(0, keepdims=True)",
                "that is dbngain: bnbias is added, so its local derivative is 1: dhpreact alone, "
                "summed over the batch")]),
    "dbndiff": dict(
        hint="bndiff is used twice: bnraw = bndiff * bnvar_inv (the local derivative is the other factor, "
             "broadcast over the batch) and bndiff2 = bndiff ** 2 (d x^2 = 2x, times the gradient from above); "
             "add both",
        branches=[("bnraw = bndiff * bnvar_inv", "bnvar_inv * dbnraw"),
                  ("bndiff2 = bndiff ** 2", "2 * bndiff * dbndiff2")],
        wrong=[("bnvar_inv * dbnraw + 2 * bndiff2 * dbndiff2",
                "bndiff2 where bndiff belongs: d(x^2) = 2x, and x is bndiff"),
               ("bnvar_inv * dbnraw + bndiff * dbndiff2",
                "the 2 of d(x^2) = 2x is missing"),
               ("bnvar_inv * dbnraw + 2 * dbndiff2",
                "d(x^2) = 2x: times bndiff")]),
    "dbnvar_inv": dict(
        hint="bnraw = bndiff * bnvar_inv: bnvar_inv (1, H) was broadcast over the batch: sum "
             "bndiff * dbnraw over axis 0",
        wrong=[("(bndiff2 * dbnraw).sum(0, keepdims=True)",
                "bndiff2 where bndiff belongs: bnraw = bndiff * bnvar_inv, so bnvar_inv's local "
                "derivative is bndiff"),
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
        shape=("one row", "the forward's sum over the batch is a broadcast in the backward: every row gets the "
                          "gradient"),
        hint="bnvar = 1/(n-1) * bndiff2.sum(0): a sum broadcasts its gradient back to every row, "
             "times 1/(n-1) (Bessel's correction, not 1/n)"),
    "dbnmeani": dict(
        hint="bndiff = hprebn - bnmeani: bnmeani (1, H) was broadcast and subtracted: minus the "
             "sum of dbndiff over axis 0",
        wrong=[("-dbndiff.mean(0, keepdims=True)",
                "the mean over the batch where the sum belongs: bnmeani was "
                "broadcast over the n rows, and a broadcast's gradient is their sum")]),
    "dhprebn": dict(
        shape=("one row", "the forward's sum over the batch is a broadcast in the backward: every row gets the "
                          "gradient"),
        hint="hprebn is used twice: bndiff = hprebn - bnmeani (passes dbndiff through) and "
             "bnmeani = 1/n * hprebn.sum(0) (sends 1/n * dbnmeani to every row); add both",
        branches=[("bndiff = hprebn - bnmeani", "dbndiff"),
                  ("bnmeani = 1 / n * hprebn.sum(0, keepdims=True)",
                   "1 / n * np.ones_like(hprebn) * dbnmeani")],
        wrong=[("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))",
                "the textbook formula for the biased variance (1/n), but the forward divides by "
                "n-1 (Bessel): the variance path keeps a factor n/(n-1), ... - n/(n-1) * bnraw * "
                "(dhpreact * bnraw).sum(0)"),
               (DHPREBN.replace("n / (n - 1)", "(n - 1) / n"),
                "Bessel's factor is inverted: (n-1)/n where n/(n-1) belongs, ... - n/(n-1) * "
                "bnraw * (dhpreact * bnraw).sum(0)"),
               ("bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))",
                "bngain is left out: hpreact = bngain * bnraw + bnbias, so every path starts "
                "with bngain * dhpreact: bngain * bnvar_inv / n * (...)"),
               (DHPREBN.replace("bnvar_inv /", "bnvar ** -0.5 /"),
                "EPS is left out of the variance: bnvar ** -0.5 where bnvar_inv = (bnvar + EPS) "
                "** -0.5 belongs"),
               (DHPREBN.replace("bnvar_inv /", "(bnvar + EPS) ** -1.5 /"),
                "the variance to the power -1.5 where -0.5 belongs: the outer factor is "
                "bnvar_inv = (bnvar + EPS) ** -0.5"),
               (DHPREBN.replace("bnvar_inv /", "(bnvar + EPS) ** 0.5 /"),
                "the variance to the power +0.5 where -0.5 belongs: the outer factor is "
                "bnvar_inv = (bnvar + EPS) ** -0.5"),
               (DHPREBN.replace("bnvar_inv /", "(bnvar + EPS) ** -1 /"),
                "1/variance where 1/sqrt(variance + EPS) belongs: the outer factor is bnvar_inv "
                "= (bnvar + EPS) ** -0.5"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact - bnraw))",
                "(dhpreact - bnraw) where the batch sum of their product belongs (the lecture "
                "transcript's typo): ... * bnraw * (dhpreact * bnraw).sum(0)"),
               (DHPREBN.replace(".sum(0)", ".sum(1, keepdims=True)"),
                "the sums run over axis 1 (the H neurons): batchnorm normalises each neuron over "
                "the batch, so sum over axis 0"),
               (DHPREBN.replace("dhpreact.sum(0)", "dhpreact.sum(1, keepdims=True)"),
                "dhpreact.sum(1) sums over axis 1 (the H neurons): the mean path sums over the "
                "batch, dhpreact.sum(0)"),
               (DHPREBN.replace("bnraw).sum(0)", "bnraw).sum(1, keepdims=True)"),
                "(dhpreact * bnraw).sum(1) sums over axis 1 (the H neurons): the variance path "
                "sums over the batch, .sum(0)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))",
                "the mean's path is missing: - dhpreact.sum(0) (hprebn moves the batch mean, "
                "which moves every row)"),
               ("bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0))",
                "the variance's path is missing: - n/(n-1) * bnraw * (dhpreact * bnraw).sum(0)"),
               ("bngain * bnvar_inv * dhpreact",
                "only the direct path: hprebn also moves the batch mean and the batch variance, "
                "and both send gradient back to every row"),
               (DHPREBN.replace("bnraw", BIASED_BNRAW).replace("bnvar_inv /", "((n - 1) / n * bnvar + EPS) ** -0.5 /"),
                BIASED_VAR)],
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
        shape=("reversed", "emb is (n, T, E), T characters of E numbers each: reshape dembcat to emb's shape"),
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
                "dembcat: reshape it to emb's shape as it is")]),
    "dC": dict(
        scatter=("Xb", "demb"),  # emb = C[Xb]: the index and the gradient a scatter-add sends into dC
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

NUMPY_SPELLING = {  # torch's tensor methods that numpy arrays lack, and numpy's spelling
    "abs": "numpy: np.abs(x)",
    "pow": "numpy: x ** p",
    "values": "numpy's x.max(1) gives the values itself (x.argmax(1) the indices)",
    "indices": "numpy: x.argmax(1) gives the indices of the max",
    "float": "numpy: x.astype(float)",
    "numel": "numpy: x.size",
    "detach": "numpy arrays need no .detach()",
    "masked_fill": "numpy: np.where(mask, value, x)",
    "clamp": "numpy: np.clip(x, low, high)",
    "unsqueeze": "numpy: x[:, None] (or np.expand_dims)",
    "expand_as": "numpy: np.broadcast_to(x, y.shape)",
    "index_add_": "numpy: np.add.at(dC, index, values)",
    "scatter_": "numpy: np.put_along_axis(x, index, values, axis)",
    "zero_": "numpy: x[...] = 0 (or np.zeros_like)",
    "fill_": "numpy: x.fill(value)",
    "add_": "numpy: x += y",
    "exp": "numpy: np.exp(x)",
    "log": "numpy: np.log(x)",
    "tanh": "numpy: np.tanh(x)",
    "t": "numpy: x.T",
    "clone": "numpy's copy is .copy(), not torch's .clone()",
    "item": "numpy: float(x)",
}


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
