"""The data, in the lecture's order: the vocabulary, the (context, target) examples, the 80/10/10
split, the minibatches; then, at the end of the file, getting names.txt and checking it (and any
other word list a user passes with --data).

Letters used in shapes throughout the project:
    N  number of examples        n  batch size
    T  block_size (context)      V  vocabulary size (27 for names.txt)
"""
import hashlib
import itertools
import os
import stat
import random
import shutil
import unicodedata
import urllib.request

import numpy as np

from lib.cli import UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLOTS = os.path.join(ROOT, "plots")  # where every script writes its figures, from whatever folder it is run
NAMES_PATH = os.path.join(ROOT, "data", "names.txt")
NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
BOUNDARY = "."  # starts and ends every name; index 0 of the vocabulary


def vocabulary(words):
    """(itos, stoi): '.' at index 0, then the sorted characters that occur in the words."""
    itos = [BOUNDARY] + sorted(set("".join(words)))
    stoi = {s: i for i, s in enumerate(itos)}
    return itos, stoi


def build_dataset(words, stoi, block_size):
    """X (N, T) int64 contexts padded with the boundary token, Y (N,) int64 next characters: the
    lecture's loop. A word of L characters gives L + 1 examples: '...' -> first letter, ...,
    last T letters -> '.'."""
    if block_size < 1:
        raise UsageError(f"block_size must be >= 1, got {block_size}; pass a positive context length")
    X, Y = [], []
    for w in words:
        context = [0] * block_size               # '...': the boundary token before the word
        for ch in w + BOUNDARY:
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]         # crop and append
    return np.array(X, dtype=np.int64).reshape(-1, block_size), np.array(Y, dtype=np.int64)


def examples_at(words, stoi, block_size, rows):
    """build_dataset(words, stoi, block_size)'s rows `rows` (an int array), built alone: (X[rows], Y[rows]) without
    the other examples (a practice check needs one batch, not the whole training set). Example k of the dataset is
    character p of word w, where the words' lengths (plus the boundary) add up past k."""
    ends = np.cumsum([len(w) + 1 for w in words])
    which = np.searchsorted(ends, rows, side="right")
    X, Y = np.zeros((len(rows), block_size), dtype=np.int64), np.zeros(len(rows), dtype=np.int64)
    for r, (k, w) in enumerate(zip(rows, which)):
        word = words[w] + BOUNDARY
        p = int(k - (ends[w] - len(word)))
        padded = [0] * block_size + [stoi[ch] for ch in word[:p]]
        X[r], Y[r] = padded[len(padded) - block_size:], stoi[word[p]]
    return X, Y


def split_words(words, seed=42):
    """The lecture's split: random.seed(42), random.shuffle, then 80% / 10% / 10%."""
    words = list(words)
    random.Random(seed).shuffle(words)  # same sequence as random.seed(seed); random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def minibatches(X, Y, start, batch_size, seed, block=1000):
    """(Xb, Yb) for every step from `start` on, forever. Block b of `block` steps draws its indices from
    its own generator, seeded (seed, b): a resumed run gets exactly the batches it would have had."""
    for b in itertools.count(start // block):
        ix = np.random.default_rng([seed, b]).integers(0, len(X), (block, batch_size))  # (block, n)
        Xblock, Yblock = X[ix], Y[ix]                                                 # (block, n, T), (block, n)
        for i in range(max(start - b * block, 0), block):
            yield Xblock[i], Yblock[i]


def load_splits(block_size, data=None):
    """Everything a script needs: itos, stoi and the (X, Y) of train, val and test (see load_words)."""
    itos, stoi, parts = load_words(data)
    return itos, stoi, [build_dataset(part, stoi, block_size) for part in parts]


def load_words(data=None):
    """The words split the lecture's way: itos, stoi and the (train, val, test) lists of words.

    data is a user's word list (not verified); None means names.txt, fetched if needed.
    """
    words = read_words(data if data else ensure_names())
    need = min_words()
    if len(words) < need:
        raise UsageError(f"{data} has {len(words)} words; the 80/10/10 train/val/test split needs at least "
                         f"{need}: give a longer list")
    itos, stoi = vocabulary(words)
    return itos, stoi, split_words(words)


# getting names.txt, and checking a word list


def ensure_names(dest=NAMES_PATH, environ=os.environ):
    """Return the path of names.txt, fetching it once if it is not in data/ yet.

    In order: data/names.txt when present; a copy of the file named by the
    environment variable NAMES_TXT; a download from the makemore repository.
    A fetched copy is verified by its sha256 before it is kept. NAMES_URL overrides
    the download address (a mirror).
    """
    url = environ.get("NAMES_URL", NAMES_URL)
    if os.path.exists(dest):
        if sha256(dest) != NAMES_SHA256:  # every figure compared with the lecture's depends on it
            raise UsageError(f"{dest} is not the canonical names.txt (sha256 mismatch: edited or truncated?); "
                             f"delete it and run scripts/prepare_data.py (or ./run_all.sh) again, or set NAMES_TXT, "
                             f"to fetch a good copy")
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".part"
    source = environ.get("NAMES_TXT")
    if source:
        if not os.path.isfile(source):
            raise UsageError(f"NAMES_TXT={source} is not a file; point it at a copy of names.txt")
        shutil.copyfile(source, tmp)
        _install(tmp, dest, f"NAMES_TXT={source}")
        return dest
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        reason = getattr(e, "reason", None) or e
        raise UsageError(f"no names.txt in data/ and the download failed ({reason}); "
                         f"set NAMES_TXT=/path/to/names.txt or connect to the network and retry")
    _install(tmp, dest, url)
    return dest


def _install(tmp, dest, origin):
    """Check the sha256 of a freshly fetched copy, then move it into place atomically."""
    if sha256(tmp) != NAMES_SHA256:
        os.remove(tmp)
        raise UsageError(f"names.txt from {origin} is not the canonical file (sha256 mismatch); "
                         f"point NAMES_TXT at a good copy or delete it and download again")
    os.replace(tmp, dest)


def sha256(path):
    return hashlib.sha256(read_bytes(path, "a word list file with --data", "pass an existing word list with --data")
                          ).hexdigest()


def read_words(path):
    """A word list: UTF-8, one word per line, whitespace stripped, blank lines dropped."""
    text = read_text(path, "a word list file with --data", "pass an existing word list with --data")
    lines = text.splitlines()  # CRLF and CR line ends too
    words = [w.strip() for w in lines]
    for number, w in enumerate(words, 1):
        odd = [c for c in w if unicodedata.category(c)[0] == "C"]
        if odd:
            raise UsageError(f"line {number} of {path} has the control character U+{ord(odd[0]):04X}; re-save the "
                             f"list as plain UTF-8 text (see its characters with scripts/prepare_data.py --data)")
        if BOUNDARY in w:
            raise UsageError(f"word {w!r} in {path} contains {BOUNDARY!r}, the boundary token; "
                             f"remove or replace that character")
    words = [w for w in words if w]
    if not words:
        raise UsageError(f"{path} has no words; give a file with one word per line")
    return words


def read_bytes(path, what, fix):
    """A regular file's bytes; anything else (missing, a folder, a FIFO or a device that would never end, a loop of
    links, no permission) is one line (UsageError): `what` names the file, `fix` says what to pass instead."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{path} is a folder; pass {what}")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path} is not a regular file (a pipe or a device); pass {what}")
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}; {fix}")
    except PermissionError:
        raise UsageError(f"cannot read {path} (permission denied); make it readable (chmod +r) or pass another file")
    except OSError as e:  # a loop of symbolic links, a name too long, an I/O error
        raise UsageError(f"cannot read {path} ({e.strerror or e}); {fix}")


def read_text(path, what, fix):
    """A UTF-8 text file's text, a byte-order mark dropped; `what` names it and `fix` says what to pass instead."""
    raw = read_bytes(path, what, fix)
    head = raw[:2000]
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0))
                                                    >= 0.4 * len(head) / 2):  # a NUL in every other byte: UTF-16
        raise UsageError(f"{path} looks like UTF-16 (what some editors call 'Unicode'); re-save it as UTF-8")
    if b"\x00" in head:
        raise UsageError(f"{path} is a binary file, not text; pass {what}")
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark (Windows editors write one) is not a character
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise UsageError(f"{path} is not UTF-8 (bad byte at line {line}); re-save it as UTF-8")


def min_words():
    """The fewest words the lecture's 80/10/10 split leaves a word in every part of."""
    return next(n for n in range(1, 100) if all(split_words(list(range(n)))))
