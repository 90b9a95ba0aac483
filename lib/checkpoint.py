"""Checkpoints: one .npz of named float arrays, written atomically, read with a clear error."""
import os
import zipfile

import numpy as np

from lib.cli import UsageError

MODEL_KEYS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "bnmean", "bnvar", "itos")


def save(path, arrays):
    """Write arrays to path.npz through a temporary file and a rename: never half a checkpoint."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
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
