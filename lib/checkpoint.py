"""Checkpoints: one .npz of named float arrays, written atomically, read with a clear error."""
import os
import tempfile
import zipfile

import numpy as np

from lib.cli import UsageError

MODEL_KEYS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "bnmean", "bnvar", "itos")


class SaveError(Exception):
    """A checkpoint could not be written; the file that was there before is untouched."""


def save(path, arrays):
    """Write arrays to path through a temporary file of its own and a rename: never half a
    checkpoint, and two writers at once each leave a whole one. A failure (a full disk, a
    folder that is not writable) removes the temporary file and raises SaveError."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
        raise SaveError(f"could not save {path} ({e.strerror or e})")
    return path


def load(path, keys=MODEL_KEYS):
    """Read a checkpoint; a missing, truncated or foreign file is a UsageError naming it."""
    if not os.path.isfile(path):
        raise UsageError(f"no checkpoint at {path}; train one with scripts/train.py or pass --checkpoint")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise UsageError(f"{path} is not a readable checkpoint ({type(e).__name__}: it may be "
                         f"truncated); train again or pass another --checkpoint")
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise UsageError(f"{path} is not a checkpoint of this model (missing {', '.join(missing)}); "
                         f"pass a checkpoint written by scripts/train.py")
    return arrays
