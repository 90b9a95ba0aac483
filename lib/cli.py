"""Command-line plumbing shared by the scripts: one-line errors, exit code 2.

Bad input (a missing file, a negative size, a foreign checkpoint) is the user's
to fix, so it gets one line naming the problem and the fix, exit code 2 and no
traceback. Everything else is a bug and keeps its traceback.
"""
import argparse
import errno
import json
import math
import os
import signal
import sys

import numpy as np


# the signals that stop a script, as this platform has them (Windows has no SIGHUP; only Windows has SIGBREAK),
# each with the word its closing line says; the exit code is 128 + the signal's number
STOPS = {getattr(signal, name): word for name, word in (
    ("SIGINT", "interrupted"),                  # Ctrl-C
    ("SIGTERM", "terminated"),                  # kill PID (POSIX: on Windows, taskkill ends a process at once)
    ("SIGHUP", "hung up"),                      # POSIX: the terminal closed
    ("SIGBREAK", "stopped by Ctrl-Break"),      # Windows: Ctrl-Break, or the console window closing
) if hasattr(signal, name)}
_at_exit = []  # what run() calls however main ends (lib/training.py's locks)


class UsageError(Exception):
    """Bad input: the message names the problem and the fix, on one line."""


class OutputError(Exception):
    """A file the script writes could not be written (a full disk): one line naming it, exit code 1."""


class Stopped(KeyboardInterrupt):
    """A signal ended the run where it could not finish the step under way: one line, an exit code."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse whose errors are a UsageError (one line) instead of usage + exit."""

    def error(self, message):
        raise UsageError(f"{message} (see --help)")


def run(main, argv=None):
    """Call main(argv); turn a UsageError into one line on stderr and exit code 2, and a
    Ctrl-C or SIGTERM that the script does not handle itself into one line and exit code 130
    or 143.
    Output behaves as a command-line tool's: a closed pipe (| head) ends the script quietly,
    a console that cannot show a character gets an escape instead of a traceback, and a
    failed write of the output (a full device) is one line, exit code 1."""
    if argv is None:  # run from the shell, not from a test
        if hasattr(signal, "SIGPIPE"):
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(errors="backslashreplace")
    handlers = {s: signal.getsignal(s) for s in STOPS}
    if argv is None:  # `kill PID` or a closed terminal as Ctrl-C: one line, not a silent end (lib/training: more)
        for s in STOPS:
            signal.signal(s, _terminated)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # lib/__init__.py's start-up handler is done
    numpy_errors = np.geterr()
    try:
        code = main(argv) or 0
        if argv is None:
            sys.stdout.flush()
        return code
    except OSError as e:  # writing our own output failed (a file of ours would name itself: a bug, raise)
        if e.filename is not None or e.errno not in (errno.ENOSPC, errno.EIO, errno.EPIPE):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        print(f"error: cannot write the output ({e.strerror})", file=sys.stderr)
        return 1
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Stopped as e:
        print(f"\n{e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:  # a script may have taken over the signals (lib/training.py) or numpy's errors: give them back
        while _at_exit:
            _at_exit.pop()()
        for s, handler in handlers.items():
            signal.signal(s, handler)
        np.seterr(**numpy_errors)


def _terminated(signum, frame):
    raise Stopped(STOPS[signum], 128 + signum)


def at_exit(release):
    """Have run() call release() when main ends, however it ends (a one-line error, a signal, a bug)."""
    _at_exit.append(release)


def number(kind, minimum=None, strictly=False):
    """argparse type: a finite number of the given kind (int: a whole one), >= minimum (> when strictly)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if minimum is not None and (value <= minimum if strictly else value < minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {'>' if strictly else '>='} {minimum}")
        return value
    return parse


def positive(kind):
    """argparse type: a finite number of the given kind that must be > 0."""
    return number(kind, 0, strictly=True)


def seed_arg(text):
    """argparse type: a seed, a whole number >= 0 (numpy's generators take no negative seed)."""
    return number(int, 0)(text)


def fits(nbytes, what, fix):
    """Refuse, before any work, a run whose arrays cannot fit in this machine's memory (an
    estimate of the largest it holds at once): one line with the estimate."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a system that says
        return
    if nbytes > 0.8 * total:
        raise UsageError(f"{what} needs about {nbytes / 2 ** 30:,.1f} GiB of memory, more than this machine's "
                         f"{total / 2 ** 30:.0f} GiB; {fix}")


def write_text(path, text, exclusive=False, fix="free some space or pass another --out"):
    """Write a text file whole or not at all: into a temporary file beside it, then renamed over it, so that a full
    disk leaves the previous file (or none), never an empty or half one; that is one line naming the file
    (OutputError). exclusive: refuse to replace a file that is there (FileExistsError)."""
    return write_bytes(path, text.encode("utf-8"), exclusive, fix)


def write_bytes(path, data, exclusive=False, fix="free some space or pass another --out"):
    """write_text's whole-or-nothing write, for bytes (a PNG)."""
    if os.path.exists(path) and not os.path.isfile(path):  # a device or a pipe (/dev/stdout): written in place
        try:
            with open(path, "wb") as f:
                f.write(data)
            return path
        except OSError as e:
            raise OutputError(f"cannot write {path} ({e.strerror or e}); {fix}")
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        if exclusive:
            os.link(tmp, path)  # fails if path exists, and never half-writes it
            os.remove(tmp)
        else:
            os.replace(tmp, path)
    except FileExistsError:
        os.remove(tmp)
        raise
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise OutputError(f"cannot write {path} ({e.strerror or e}); {fix}")
    return path


def write_json(path, data):
    """Write a script's figures as JSON, whole or not at all; a full disk is one line naming the file."""
    return write_text(path, json.dumps(data, indent=1))


def apart(path, flag, out, prefix):
    """Refuse, before any work, a path that is one of the run's own outputs (<out>/<prefix>.json or a
    <prefix>_*.png): the run would write over it."""
    name = os.path.basename(path)
    same_folder = os.path.realpath(os.path.dirname(os.path.abspath(path))) == os.path.realpath(out)
    if same_folder and (name == prefix + ".json" or (name.startswith(prefix + "_") and name.endswith(".png"))):
        raise UsageError(f"{flag} {path} is one of this run's own outputs; pass another {flag} (a .npz file)")


def writable_dir(path, flag="--out"):
    """Create `path` if needed and make sure we can write there, before any work is done."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise UsageError(f"cannot write to {flag} {path!r} ({e.strerror}); pass a writable folder")
    return path


def writable_file(path, flag):
    """An output file path, checked before any work: its folder writable, itself not a folder."""
    if not path:
        raise UsageError(f"{flag} is empty; pass a file path")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path!r} is a folder; pass a file path")
    writable_dir(os.path.dirname(os.path.abspath(path)), f"{flag}'s folder")
    return path


def npz_file(path, flag):
    """An output .npz path as np.savez writes it (it appends .npz when missing), checked before any work."""
    return writable_file(path if path.endswith(".npz") else path + ".npz", flag)
