"""Every word list and flag a user brings, and gradient checks that cost milliseconds."""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import ex1_backprop_by_hand as ex1
import prepare_data
import results
import train
from lib.cli import UsageError
from lib.data import ensure_names, read_words
from lib.gradcheck import check_directions
from lib.model import init_params, mlp_backward, mlp_forward

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ("--n-hidden", 16, "--n-embd", 4)


def words_file(tmp_path, words, name="words.txt"):
    path = tmp_path / name
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("count", [1, 4, 5])
def test_lists_too_small_for_the_split_are_refused_before_any_work(call, tmp_path, count):
    path = words_file(tmp_path, ["anna", "bob", "carl", "dora", "emil"][:count])
    for main, extra in ((train.main, ("--checkpoint", tmp_path / "m.npz")), (ex1.main, ()), (prepare_data.main, ())):
        code, out, err = call(main, "--data", path, "--out", tmp_path / "o", *extra) if main is not prepare_data.main \
            else call(main, "--data", path)
        assert code == 2 and f"has {count} words" in err and "needs at least 6" in err and out == ""
    assert not (tmp_path / "m.npz").exists()


def test_ex1_refuses_a_list_smaller_than_its_batch(call, tmp_path):
    path = words_file(tmp_path, ["ab", "ba", "aa", "bb", "abab", "baba"])
    code, _, err = call(ex1.main, "--data", path, "--out", tmp_path)
    assert code == 2 and "fewer than a batch of 32" in err
    code, out, _ = call(ex1.main, "--data", path, "--out", tmp_path, "--batch-size", 4)
    assert code == 0 and "all 26 tensors OK" in out


def test_a_byte_order_mark_and_crlf_are_not_characters(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbfzo\xc3\xab\r\nanna\r\nbob\r\n")
    assert read_words(path) == ["zoë", "anna", "bob"]


@pytest.mark.parametrize("content, message", [
    ("anna\nbob\n".encode("utf-16"), "looks like UTF-16"),
    ("anna\nbob\n".encode("utf-16-le"), "looks like UTF-16"),
    (b"anna\nb\x07ob\n", "control character U+0007"),
    (b"anna\nbo\xe2\x80\x8bb\n", "control character U+200B"),
])
def test_utf16_and_control_characters_are_refused(tmp_path, content, message):
    path = tmp_path / "w.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(message)) as e:
        read_words(path)
    assert "UTF-8" in str(e.value) and ("prepare_data.py --data" in str(e.value) or "UTF-16" in message)


@pytest.mark.parametrize("args, message", [
    (("--seed", -1), "-1 must be >= 0"),
    (("--lr", "inf"), "not a finite number"),
    (("--lr", "nan"), "not a finite number"),
    (("--steps", "1.5"), "'1.5' is not a whole number"),
    (("--check-every", -1), "-1 must be >= 0"),
])
def test_hostile_flags(call, names_txt, tmp_path, args, message):
    code, out, err = call(train.main, *args, "--out", tmp_path, "--checkpoint", tmp_path / "m.npz")
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


@pytest.mark.parametrize("script", ["ex1_backprop_by_hand", "ex3_batchnorm", "gradcheck", "sample", "defrag_2014"])
def test_a_negative_seed_is_one_line_everywhere(call, names_txt, tmp_path, script):
    code, _, err = call(__import__(script).main, "--seed", -5)
    assert code == 2 and "must be >= 0" in err and err.count("\n") == 1


def test_batch_size_2_is_not_a_false_failure(call, names_txt, tmp_path):
    code, out, err = call(train.main, "--batch-size", 2, "--steps", 300, "--out", tmp_path, "--checkpoint",
                          tmp_path / "m.npz")
    assert code == 0 and "FAILED" not in out and out.count("all 7 tensors OK") == 2


def test_output_paths_are_checked_before_any_work(call, names_txt, tmp_path):
    code, out, err = call(train.main, "--checkpoint", tmp_path, "--out", tmp_path / "o")
    assert code == 2 and "is a folder" in err and out == ""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = call(ex1.main, "--dump", blocker / "x.npz", "--out", tmp_path)
    assert code == 2 and "--dump" in err and out == ""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "ex1.json").write_text("{}")
    code, out, err = call(results.main, "--out", tmp_path / "p", "--results", blocker / "r.md")
    assert code == 2 and "--results" in err


def test_an_edited_names_txt_is_refused(tmp_path, names_txt):
    dest = tmp_path / "names.txt"
    dest.write_text("".join(open(names_txt).readlines()[:13892]))
    with pytest.raises(UsageError, match="not the canonical names.txt") as e:
        ensure_names(str(dest), {})
    assert "fetch a good copy" in str(e.value)


def test_a_huge_lr_is_one_line_with_no_numpy_warning(names_txt, tmp_path):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "train.py"), *map(str, SMALL), "--steps", "500",
                        "--lr", "1e3", "--out", str(tmp_path), "--checkpoint", str(tmp_path / "m.npz")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "Warning" not in p.stderr and "diverged" in p.stderr


def test_quick_gradient_checks_catch_a_bug_in_any_single_parameter():
    rng = np.random.default_rng(3)
    params = init_params(27, 10, 200, 3, rng)
    Xb, Yb = rng.integers(0, 27, (32, 3)), rng.integers(0, 27, 32)
    grads = mlp_backward(params, mlp_forward(params, Xb, Yb)[1], Yb)
    loss_of = lambda p: mlp_forward(p, Xb, Yb)[0]  # noqa: E731
    assert all(r["ok"] for r in check_directions(loss_of, params, grads))
    for k in params:
        if k == "b1":  # batchnorm cancels b1: its true gradient is zero, so a bug there is a nonzero one
            bad = dict(grads, b1=grads["b1"] + 1e-4 * rng.standard_normal(grads["b1"].shape))
        else:
            bad = dict(grads, **{k: grads[k] * (1 + 1e-3 * rng.standard_normal(grads[k].shape))})
        assert [r["name"] for r in check_directions(loss_of, params, bad) if not r["ok"]] == ["d" + k]
        one = grads[k].copy()  # one element wrong
        one.flat[0] += 1e-3 * (np.abs(grads[k]).max() + 1e-3)
        assert [r["name"] for r in check_directions(loss_of, params, dict(grads, **{k: one}))
                if not r["ok"]] == ["d" + k]


def test_run_all_rejects_a_typo_before_building_anything(tmp_path):
    for f in ("run_all.sh", "requirements.txt"):
        shutil.copy(os.path.join(ROOT, f), tmp_path)
    p = subprocess.run(["bash", "run_all.sh", "foo"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "unknown argument 'foo'" in p.stderr and not (tmp_path / ".venv").exists()
