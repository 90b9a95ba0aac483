"""Collect what the scripts measured into results.md: each figure next to the lecture's.

Reads the JSON files the other scripts leave in --out (run them first, or ./run_all.sh),
recomputes the split sizes, and writes results.md at the top of the repository with a
pass mark per row. A figure whose script has not run shows as 'not run'.

    python scripts/results.py [--out plots/]
"""
import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lib.cli import Parser, UsageError, run, writable_file, write_text
from lib.data import PLOTS, ROOT, load_splits
from lib.lecture import REFERENCE  # the lecture's figures, each with the notebook cell it comes from


def main(argv=None):
    parser = Parser(description="Write results.md from the figures the scripts measured.")
    parser.add_argument("--out", default=PLOTS,
                        help="folder the scripts wrote their JSON to (default plots/ in the repository)")
    parser.add_argument("--results", default=os.path.join(ROOT, "results.md"),
                        help="where to write (default results.md)")
    args = parser.parse_args(argv)
    writable_file(args.results, "--results")
    if not os.path.isdir(args.out) or not any(f.endswith(".json") for f in os.listdir(args.out)):
        raise UsageError(f"found no results in {args.out}: run the scripts first (./run_all.sh), or pass --out "
                         f"the folder they wrote to")

    rows = []

    def row(what, lecture, ours, ok):
        if not isinstance(ok, bool):  # a null (or a string) where the file's verdict belongs
            raise TypeError(f"{json.dumps(ok)} where a verdict (true or false) belongs")
        rows.append((what, lecture, ours, bool(ok)))

    def load(name, say=True, partial=False):
        """A script's figures; None when it has not run, and (say) a row saying so when its file cannot be read.
        partial: an unfinished run's figures too, for a section that judges each part by itself."""
        path = os.path.join(args.out, name + ".json")
        if not os.path.exists(path):
            return None

        def broken(expected, why):  # one ✗ row, when this section speaks for itself
            if say:
                row(f"{name}.json", expected, why, False)
        if not os.path.isfile(path):  # a FIFO would block the read for ever
            broken("(written by its script)", "not a regular file (a pipe, a device or a folder); remove it and run "
                   "its script again")
            return None
        try:
            with open(path, encoding="utf-8-sig") as f:
                data = json.load(f)
        except (OSError, ValueError, RecursionError) as e:  # truncated, not UTF-8, not readable, nested too deep
            reason = (e.strerror if isinstance(e, OSError) else "nested too deep to be figures"
                      if isinstance(e, RecursionError) else "truncated or not UTF-8 JSON")
            broken("(written by its script)", f"unreadable ({reason}); run its script again")
            return None
        if not isinstance(data, dict):  # null, a list: no figures at all
            broken("(written by its script)", f"holds {json.dumps(data)[:20]}, not its figures; run its script again")
            return None
        if data.get("finished") is False and not partial:  # a run stopped by Ctrl-C or kill wrote what it had
            broken("(a finished run)", "an unfinished run (stopped by a signal); run its script again")
            return None
        return data

    @contextlib.contextmanager
    def reading(name):
        """A section's rows; a file that lacks a figure, or holds null where a number belongs, is one row."""
        try:
            yield
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, StopIteration) as e:
            what = f"no {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
            row(f"{name}.json", "(written by its script)", f"incomplete ({what}); run its script again", False)

    _, _, ((Xtr, _), (Xva, _), (Xte, _)) = load_splits(3)
    sizes = (len(Xtr), len(Xva), len(Xte))
    row("split sizes train / val / test", " / ".join(map(str, REFERENCE["split"])), " / ".join(map(str, sizes)),
        sizes == REFERENCE["split"])

    ex1 = load("ex1")
    if ex1:
        with reading("ex1"):
            row("exercise 1: parameters", str(REFERENCE["parameters_ex1"]), str(ex1["parameters"]),
                ex1["parameters"] == REFERENCE["parameters_ex1"])
            row("exercise 1: loss at init", "about 3.3 (-ln(1/27) = 3.2958)", f"{ex1['loss_at_init']:.4f}",
                abs(ex1["loss_at_init"] - 3.3) < 0.2)
            row(f"exercise 1: all {ex1['rows']} hand gradients", "exact vs PyTorch (float32)",
                f"rel. error ≤ {ex1['max_rel_error']:.1e} vs central differences (float64)", ex1["ok"])
            row("exercise 1: largest dlogit_maxes (abs)", "~1e-9 (float32): about zero", f"{ex1['dlogit_maxes']:.1e}",
                ex1["dlogit_maxes"] < 1e-9)
    ex2 = load("ex2")
    if ex2:
        with reading("ex2"):
            row("exercise 2: dlogits fused vs chunked, max diff", "about 5e-9 (float32)",
                f"{ex2['dlogits_maxdiff']:.1e} (float64)", ex2["ok"])
            row("exercise 2: fused vs chunked backward", "faster",
                f"{ex2['us_fused']:.1f} us vs {ex2['us_chunked']:.1f} us",
                ex2["us_fused"] < ex2["us_chunked"])
    ex3 = load("ex3")
    if ex3:
        with reading("ex3"):
            row("exercise 3: dhprebn fused vs chunked, max diff", "matches almost perfectly (float32)",
                f"{ex3['dhprebn_maxdiff']:.1e} (float64)", ex3["ok"])
            row("exercise 3: fused vs chunked backward", "faster",
                f"{ex3['us_fused']:.1f} us vs {ex3['us_chunked']:.1f} us",
                ex3["us_fused"] < ex3["us_chunked"])
    pr = load("practice_ex4")
    if pr:
        with reading("practice_ex4"):
            row("do it yourself: a correct ex4 backward, graded", "(fill in the blanks)",
                f"{pr['ok']} of {pr['rows']} ok",
                pr["ok"] == pr["rows"])
            row("do it yourself: trained with it, beside the project's backward", "the same run",
                f"{pr['loss_yours']:.4f} vs {pr['loss_project']:.4f} ({pr['steps']} steps)",
                pr["loss_yours"] is not None and abs(pr["loss_yours"] - pr["loss_project"]) < 1e-6)
    tr = load("train")
    if tr:
        with reading("train"):
            # within 0.01 of the lecture's, rounded: train <= 2.08, val <= 2.12
            row("exercise 4: train loss", f"{REFERENCE['train']}", f"{tr['train_loss']:.4f} ({tr['steps']} steps)",
                tr["train_loss"] <= round(REFERENCE["train"] + 0.01, 2))
            row("exercise 4: val loss", f"{REFERENCE['val']}", f"{tr['val_loss']:.4f}",
                tr["val_loss"] <= round(REFERENCE["val"] + 0.01, 2))
            bench = load("benchmark", say=False)  # the same step timed by the benchmark (its own rows say the rest)
            step_us = ((bench or {}).get("lecture") or {}).get("float32", {}).get("us_per_step")
            if isinstance(step_us, (int, float)) and step_us > 0:  # a ratio: holds on a busy or slower machine too
                row("exercise 4: time per training step (float32), against the benchmark's timing of the same step",
                    "not given (target here: ≤ 1.5x)", f"{tr['us_per_step']:.0f} us = "
                    f"{tr['us_per_step'] / step_us:.2f}x the benchmark's {step_us:.0f} us",
                    tr["us_per_step"] <= 1.5 * step_us)
            else:
                row("exercise 4: time per training step (float32)", "not given (target here: ≤ 100 us)",
                    f"{tr['us_per_step']:.0f} us (no benchmark run to compare with)", tr["us_per_step"] <= 100)
            row("exercise 4: gradient checks before and after training", "(the 2010 habit)", "OK"
                if tr["gradient_checks_ok"] else "FAILED",
                tr["gradient_checks_ok"])
    gc, bug = load("gradcheck"), load("gradcheck_bug_bessel")
    if gc:
        with reading("gradcheck"):
            row("gradcheck.py: tiny debug net, then the real one", "(the 2010 workflow)", "OK" if gc["ok"]
                else "FAILED", gc["ok"])
    if bug:
        with reading("gradcheck_bug_bessel"):
            row("gradcheck.py --bug (Bessel's n-1 dropped in the backward)", "must be caught", "caught"
                if not bug["ok"] else "MISSED", not bug["ok"])
    cb = load("clamp_bug")
    if cb:
        with reading("clamp_bug"):
            row("clamp bug: examples with zero gradient", "every example with loss > 3",
                f"{cb['clamp']['ignored'] * 100:.0f}% of each batch",
                cb["clamp"]["ignored"] > 0.05)
            row("clamp bug: val loss vs no clipping", "worse",
                f"{cb['clamp']['val_loss']:.3f} vs {cb['none']['val_loss']:.3f}",
                cb["clamp"]["val_loss"] > cb["none"]["val_loss"])
    act = load("activation_stats")
    if act:
        with reading("activation_stats"):
            c = act["configs"]
            small, big_step = c["gain 0.5 (too small), no bn"], c["gain 5/3, lr 2 (too large a step), no bn"]
            row("gain 0.5, no batchnorm: activation std layer 0 → 4", "vanishes",
                f"{small['init'][0]['std']:.2f} → {small['init'][-1]['std']:.3f}",
                small["init"][-1]["std"] < small["init"][0]["std"] / 4)
            dead = sum(s["dead"] for s in big_step["end"])
            row("lr too large, no batchnorm: dead neurons", "neurons die", f"{dead} of 500", dead > 0)
    eb = load("embedding_backward")
    if eb:
        with reading("embedding_backward"):
            worst = max(max(d.values()) for d in eb["max_diff"].values())
            t = eb["timings_us"]["32"]
            row("dC four ways: max diff / time at batch 32", "(the lecture: loop, index_add_)",
                f"{worst:.0e}; loop {t['loop']:.0f} us, add.at {t['add.at']:.0f}, one-hot {t['one-hot']:.0f}, bincount "
                f"{t['bincount']:.0f}", worst < 1e-12)
    rnn = load("rnn_bptt")
    if rnn:
        with reading("rnn_bptt"):
            row("RNN, backprop through time by hand: gradient check", "(min-char-rnn.py's habit)", "OK"
                if rnn["check_ok"] else "FAILED",
                rnn["check_ok"])
            row(f"RNN: val loss per character ({rnn['steps']} steps)", f"below the MLP's {REFERENCE['val']}",
                f"{rnn['val_loss']:.4f}", rnn["val_loss"] < REFERENCE["val"])
            f = rnn["factors"]
            row("RNN: gradient factor per step back in time, radius 0.5 / 1.5", "vanishes / explodes",
                f"x{f['radius 0.5']:.2f} / x{f['radius 1.5']:.2f}", f["radius 0.5"] < 1 < f["radius 1.5"])
    lstm = load("lstm_bptt")
    if lstm:
        with reading("lstm_bptt"):
            row("LSTM, backprop through time by hand: gradient check; a dropped dc", "(Karpathy's lstm.py's habit)",
                f"{'OK' if lstm['check_ok'] else 'FAILED'}; caught in {lstm['planted_caught']} rows",
                lstm["check_ok"] and lstm["planted_caught"] > 0)
            rnn_val = lstm.get("rnn_val")
            row(f"LSTM: val loss per character ({lstm['steps']} steps)", "≤ 2.00, below the RNN's" +
                (f" {rnn_val:.4f}" if rnn_val else ""), f"{lstm['val_loss']:.4f}",
                lstm["val_loss"] <= 2.00 and (rnn_val is None or lstm["val_loss"] < rnn_val))
            rec = lstm["recall"]
            lag = max(int(k) for k in rec["open"])
            open_, bias1, rnn_ = (rec[m][str(lag)]["accuracy"] for m in ("open", "lstm", "rnn"))
            row(f"recall at lag {lag}: LSTM gate open / forget bias 1 / vanilla RNN", "open ≥ 0.99, bias 1 < 0.5",
                f"{open_:.3f} / {bias1:.3f} / {rnn_:.3f}", open_ >= 0.99 and bias1 < 0.5)
    rbm = load("rbm_cd")
    if rbm:
        with reading("rbm_cd"):
            row("2006: RBM by CD-1, val loss per character", "(a density model; may lose)",
                f"{rbm['val_loss']:.4f} (trigram {rbm['trigram_val_loss']:.4f}, MLP {rbm['mlp_val_loss']})",
                    rbm["val_loss"] < 3.2958)
            t = rbm["cd_table"]
            row("2006: CD-k's bias against the exact gradient, k = 1 / 3 / 10", "falls as k grows",
                " / ".join(f"{t[k]['bias']:.0e}" for k in ("CD-1", "CD-3", "CD-10")),
                t["CD-1"]["bias"] > t["CD-3"]["bias"] > t["CD-10"]["bias"])
    lb = load("lbfgs_2010")
    if lb:
        with reading("lbfgs_2010"):
            row("2010: check_grad and lib/gradcheck.py on a tiny net", "both pass",
                f"{lb['check_grad_rel']:.0e} / {lb['lib_rel']:.0e}",
                lb["checks_ok"])
            row(f"2010: MLP by L-BFGS, full batch, val loss ({lb['iterations']} iterations)",
                f"beats the trigram ({lb['trigram_val']:.4f})",
                f"{lb['lbfgs_val']:.4f}; SGD in the same {lb['seconds']:.0f} s: {lb['sgd_val']:.4f}",
                    lb["lbfgs_val"] < lb["trigram_val"])
    df = load("defrag_2014", partial=True)  # each objective's figures count once it trained every step
    if df:
        with reading("defrag_2014"):
            row("2014: gradient checks of the fragment cost function and CLIP's loss (multiple-instance labels on "
                "and off)", "all pass", "OK" if df["checks_ok"] else "FAILED", df["checks_ok"])
            tables, steps, failed = df["tables"], df["steps"], df.get("failed", {})
            # the steps each objective trained at each seed (a file from before this was recorded: all, if finished)
            trained = df.get("trained", [{k: steps for k in t} if df.get("finished", True) else {} for t in tables])

            def mean(key):  # the figures over the seeds where the objective trained every step; None when none
                done = [t[key] for t, n in zip(tables, trained) if key == "chance" or n.get(key) == steps]
                return {m: sum(t[m] for t in done) / len(done) for m in done[0]} if done else None

            def missing(key):  # why an objective has no figures
                most = max((n.get(key, 0) for n in trained), default=0)
                after = f" after {most} of {steps} steps" if most else ""
                return failed.get(key) or f"an unfinished run (stopped by a signal{after}); run its script again"

            chance, nomil = mean("chance"), mean("2014_nomil")
            for key, what in (("2014", "the 2014 objective"), ("clip", "CLIP's loss, same model")):
                r = mean(key)
                name = f"2014: R@10 among {df['n_test']} held-out names, image → text / text → image, {what}"
                if r is None:
                    row(name, "≥ 60 / ≥ 40 (chance 1 / 1)", missing(key), False)
                    continue
                done = sum(n.get(key) == steps for n in trained)
                extra = (f"; without the multiple-instance step {nomil['i2t_r10']:.1f} / {nomil['t2i_r10']:.1f}"
                         if key == "2014" and nomil else "")
                row(f"{name} ({done} seed{'s' if done > 1 else ''}, {steps} steps)", "≥ 60 / ≥ 40 (chance 1 / 1)",
                    f"{r['i2t_r10']:.1f} / {r['t2i_r10']:.1f}{extra}", r["i2t_r10"] >= 60 and r["t2i_r10"] >= 40)
            r, clip = mean("2014"), mean("clip")
            if r is None:
                row("2014: a bigram's best box holds one of its letters (alignment)", "above chance", missing("2014"),
                    False)
            else:
                row("2014: a bigram's best box holds one of its letters (alignment)",
                    f"above chance ({chance['align']:.1f}%)",
                    f"{r['align']:.1f}%" + (f" (CLIP's loss {clip['align']:.1f}%)" if clip else ""),
                    r["align"] > chance["align"] + 20)
    bm = load("benchmark")
    if bm:
        with reading("benchmark"):
            us, floor = bm["lecture"]["float32"]["us_per_step"], bm["lecture"]["float32"]["floor_us"]
            port = next(iter(bm["ablation"].values()))  # the machine's pace today: the same math, written plainly
            row("benchmark: training step, lecture config, float32, against the same run's plain port and floor",
                "target ≤ 1.05x the port (timing noise), ≤ 15x the floor",
                f"{us:.0f} us = {us / port:.2f}x a plain numpy "
                f"port ({port:.0f} us), {us / floor:.1f}x the matmul floor ({floor:.1f} us)",
                us <= 1.05 * port and us <= 15 * floor)
            if bm.get("torch"):
                t = bm["torch"]
                row(f"benchmark: vs PyTorch {t['version']} autograd loop", "target ≥ 4.5x",
                    f"{t['autograd'] / us:.1f}x ({t['autograd']:.0f} us)",
                    t["autograd"] / us >= 4.5)

    lines = ["| figure | lecture | ours | |", "|---|---|---|---|"]
    lines += [f"| {w} | {lec} | {o} | {'✓' if ok else '✗'} |" for w, lec, o, ok in rows]
    passed = sum(ok for *_, ok in rows)
    text = "# Results\n\nWritten by `scripts/results.py` from the figures the scripts measured.\n\n" \
        + "\n".join(lines) + \
           f"\n\n{passed} of {len(rows)} rows pass.\n"
    write_text(args.results, text, fix="free some space or pass another --results")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
