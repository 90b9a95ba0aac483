import os
import subprocess
import sys

import pytest

import prepare_data
from lib.cli import UsageError
from lib.data import (NAMES_SHA256, build_dataset, ensure_names, load_splits, read_words,
                      sha256, split_words, vocabulary)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_names_txt_is_the_canonical_file(names_txt):
    assert sha256(names_txt) == NAMES_SHA256
    assert len(read_words(names_txt)) == 32033


def test_lecture_split_sizes(names_txt):
    itos, stoi, ((Xtr, Ytr), (Xva, Yva), (Xte, Yte)) = load_splits(3)
    assert len(itos) == 27 and itos[0] == "." and "".join(itos[1:]) == "abcdefghijklmnopqrstuvwxyz"
    assert (len(Xtr), len(Xva), len(Xte)) == (182625, 22655, 22866)
    assert len(Ytr) == 182625 and Xtr.shape == (182625, 3)


def test_split_matches_pythons_global_shuffle():
    import random
    words = [f"w{i}" for i in range(100)]
    random.seed(42)
    expected = list(words)
    random.shuffle(expected)
    tr, va, te = split_words(words)
    assert tr + va + te == expected and (len(tr), len(va), len(te)) == (80, 10, 10)


def test_contexts_are_padded_with_the_boundary_token():
    itos, stoi = vocabulary(["emma", "ava"])
    assert itos == [".", "a", "e", "m", "v"]
    X, Y = build_dataset(["emma"], stoi, 3)
    decoded = ["".join(itos[i] for i in x) + " -> " + itos[y] for x, y in zip(X, Y)]
    assert decoded == ["... -> e", "..e -> m", ".em -> m", "emm -> a", "mma -> ."]
    X1, Y1 = build_dataset(["ab"], vocabulary(["ab"])[1], 1)
    assert X1.ravel().tolist() == [0, 1, 2] and Y1.tolist() == [1, 2, 0]


def test_any_utf8_word_list(tmp_path):
    f = tmp_path / "words.txt"
    f.write_text("  Zoë \n\nO'Brien\nJosé\n   \n", encoding="utf-8")
    words = read_words(f)
    assert words == ["Zoë", "O'Brien", "José"]
    itos, _ = vocabulary(words)
    assert itos[0] == "." and "'" in itos and "ë" in itos and "Z" in itos and itos[1:] == sorted(itos[1:])


def test_copy_from_NAMES_TXT_is_verified(tmp_path, names_txt):
    dest = tmp_path / "names.txt"
    assert ensure_names(str(dest), {"NAMES_TXT": names_txt}) == str(dest)
    assert sha256(dest) == NAMES_SHA256
    bad = tmp_path / "bad.txt"
    bad.write_text("anna\nbob\n")
    with pytest.raises(UsageError, match="not the canonical file"):
        ensure_names(str(tmp_path / "other.txt"), {"NAMES_TXT": str(bad)})
    assert not (tmp_path / "other.txt").exists() and not (tmp_path / "other.txt.part").exists()


def test_no_data_and_no_way_to_get_it(tmp_path):
    with pytest.raises(UsageError) as e:
        ensure_names(str(tmp_path / "names.txt"), {"NAMES_URL": "file:///nonexistent/names.txt"})
    assert "NAMES_TXT" in str(e.value) and "download" in str(e.value)


def test_no_data_script_exits_2_with_one_line(tmp_path):
    # a checkout without data/names.txt, no NAMES_TXT and no network
    for part in ("lib", "scripts"):
        subprocess.run(["cp", "-r", os.path.join(ROOT, part), str(tmp_path)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "NAMES_TXT"}
    env["NAMES_URL"] = "file:///nonexistent/names.txt"
    p = subprocess.run([sys.executable, "scripts/prepare_data.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "NAMES_TXT" in p.stderr and "download" in p.stderr


@pytest.mark.parametrize("content, message", [
    (b"", "has no words"),
    (b"\n  \n", "has no words"),
    (b"anna\n\xff\xfebob\n", "not UTF-8 (bad byte at line 2)"),
    (b"anna\nj.r.\n", "contains '.', the boundary token"),
])
def test_bad_word_lists(tmp_path, call, content, message):
    f = tmp_path / "words.txt"
    f.write_bytes(content)
    code, out, err = call(prepare_data.main, "--data", f)
    assert code == 2 and message in err and err.count("\n") == 1


def test_bad_block_size_and_missing_file(tmp_path, call, names_txt):
    code, _, err = call(prepare_data.main, "--block-size", 0)
    assert code == 2 and "block_size must be >= 1" in err
    code, _, err = call(prepare_data.main, "--data", tmp_path / "nope.txt")
    assert code == 2 and "no such file" in err


def test_prepare_data_prints_the_split(call, names_txt):
    code, out, _ = call(prepare_data.main)
    assert code == 0 and "train 182625 / val 22655 / test 22866" in out


def test_a_batch_built_alone_is_the_rows_of_the_whole_dataset(names_txt):
    """examples_at builds only the rows a practice check draws: the same numbers as the lecture's whole dataset."""
    import numpy as np
    from lib.data import examples_at, load_splits, load_words
    for block_size in (3, 5):
        _, stoi, ((Xtr, Ytr), _, _) = load_splits(block_size)
        _, _, (train, _, _) = load_words()
        rows = np.random.default_rng(block_size).integers(0, len(Xtr), 4000)
        rows[:3] = (0, len(Xtr) - 1, 7)  # the first example, the last, and one inside the first word
        X, Y = examples_at(train, stoi, block_size, rows)
        assert X.dtype == Xtr.dtype and (X == Xtr[rows]).all() and (Y == Ytr[rows]).all()
