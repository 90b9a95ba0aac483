"""Command-line plumbing shared by the scripts: one-line errors, exit code 2.

Bad input (a missing file, a negative size, a foreign checkpoint) is the user's
to fix, so it gets one line naming the problem and the fix, exit code 2 and no
traceback. Everything else is a bug and keeps its traceback.
"""
import argparse
import os
import sys


class UsageError(Exception):
    """Bad input: the message names the problem and the fix, on one line."""


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
    Ctrl-C that the script does not handle itself into one line and exit code 130."""
    try:
        return main(argv) or 0
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Stopped as e:
        print(f"\n{e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def positive(kind):
    """argparse type: a number of the given kind that must be > 0."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be > 0")
        return value
    return parse


def writable_dir(path):
    """Create `path` if needed and make sure we can write there, before any work is done."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise UsageError(f"cannot write to --out {path!r} ({e.strerror}); pass a writable folder")
    return path
