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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as any file the scripts write (mkstemp makes it 0600)
        os.replace(tmp, path)
    except OSError as e:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
        raise SaveError(f"could not save {path} ({e.strerror or e})")
    return path


def load(path, keys=MODEL_KEYS, writer="scripts/train.py"):
    """Read a checkpoint; a missing, unreadable, truncated or foreign file is a UsageError naming it (writer: the
    script whose checkpoints are wanted)."""
    if not os.path.isfile(path):
        raise UsageError(f"no checkpoint at {path}; train one with {writer} or pass --checkpoint")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise UsageError(f"{path} holds one array (.npy), not a checkpoint (.npz); pass a checkpoint written by "
                             f"{writer}")
        with loaded as z:
            arrays = {k: z[k] for k in z.files}
    except PermissionError:
        raise UsageError(f"cannot read {path} (permission denied); make it readable (chmod +r) or pass another "
                         f"--checkpoint")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise UsageError(f"{path} is not a readable checkpoint ({type(e).__name__}: it may be "
                         f"truncated); train again or pass another --checkpoint")
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise UsageError(f"{path} is not a checkpoint of this model (missing {', '.join(missing)}); "
                         f"pass a checkpoint written by {writer}")
    if keys == MODEL_KEYS:
        problem = model_problem(arrays)
        if problem:
            raise UsageError(f"{path} cannot be sampled from: {problem}; train again or pass another --checkpoint")
    return arrays


def model_problem(z):
    """What makes a model checkpoint unusable (shapes that do not fit together, a vocabulary of
    the wrong length, weights that are not finite, a negative variance), or ''."""
    text = [k for k in MODEL_KEYS if k != "itos" and not np.issubdtype(np.asarray(z[k]).dtype, np.number)]
    if text:
        kind = np.asarray(z[text[0]]).dtype
        return f"{', '.join(text)} hold{'s' if len(text) == 1 else ''} {kind} where numbers belong"
    itos = np.asarray(z["itos"])
    if itos.dtype.kind != "U" or itos.ndim != 1 or any(len(c) != 1 for c in itos.tolist()):
        return "its vocabulary itos is not a list of single characters"
    if len(set(itos.tolist())) != len(itos) or (len(itos) and itos[0] != "."):
        return "its vocabulary itos repeats a character or does not start with '.', the boundary of a name"
    V, E = np.shape(z["C"]) if np.ndim(z["C"]) == 2 else (None, None)
    H = np.shape(z["W1"])[1] if np.ndim(z["W1"]) == 2 else None
    expected = dict(W2=(H, V), b2=(V,), b1=(H,), bngain=(1, H), bnbias=(1, H), bnmean=(1, H), bnvar=(1, H))
    if V is None or H is None or np.shape(z["W1"])[0] % E:
        return f"C {np.shape(z['C'])} and W1 {np.shape(z['W1'])} do not fit together"
    for k, shape in expected.items():
        if np.shape(z[k]) != shape:
            return f"{k} has shape {np.shape(z[k])} where {shape} fits C {np.shape(z['C'])} and W1 {np.shape(z['W1'])}"
    if len(z["itos"]) != V:
        return f"its vocabulary has {len(z['itos'])} characters for {V} rows of C"
    bad = [k for k in MODEL_KEYS if k != "itos" and not np.all(np.isfinite(z[k]))]
    if bad:
        return f"{', '.join(bad)} hold{'s' if len(bad) == 1 else ''} NaN or infinite values (a run that diverged?)"
    if np.any(z["bnvar"] < 0):
        return "the batchnorm variance bnvar is negative somewhere"
    return ""
