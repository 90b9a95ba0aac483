"""Run a script as on a machine without POSIX's extras: Windows, or macOS for what macOS lacks.

    python tests/posix_less.py scripts/train.py --steps 2000      # any script, any arguments
    python tests/posix_less.py -m pytest tests/grader -q           # or a module, as python -m would

Before the script starts, what Windows' Python does not have is taken away: signal.SIGHUP (and the other
POSIX-only signals and alarms), os.killpg, os.fork (and its kin), os.sysconf; `import resource`, `fcntl` and
`termios` fail with ImportError; a C library (ctypes.CDLL) has no prctl, as on macOS; and multiprocessing starts
its children by spawn, as on macOS and Windows. What is left is run with runpy, as `python` would run it: the
script's own guards decide whether it keeps its promises with what the platform has. Used by tests/test_platforms.py
(through `run` and `start` below), and by hand for anything else (a grading, say)."""
import ctypes
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# what Windows' Python lacks, of what this project could touch (its own signals are SIGINT, SIGTERM, SIGBREAK, ...)
SIGNALS = ("SIGHUP", "SIGKILL", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGPIPE", "SIGCHLD", "SIGXFSZ",
           "SIGSTOP", "SIGCONT", "setitimer", "getitimer", "alarm", "pause", "siginterrupt", "pthread_kill",
           "pthread_sigmask", "sigwait", "ITIMER_REAL")
OS = ("killpg", "fork", "forkpty", "setsid", "setpgrp", "getpgid", "setpgid", "sysconf", "getuid", "geteuid",
      "wait3", "wait4", "nice")
MODULES = ("resource", "fcntl", "termios")


class _NoPrctl:
    """A C library as macOS has it: everything but prctl."""

    def __init__(self, library):
        self._library = library

    def __getattr__(self, name):
        if name == "prctl":
            raise AttributeError("dlsym(RTLD_DEFAULT, prctl): symbol not found")
        return getattr(self._library, name)


def take_away():
    """Remove what Windows (and macOS, for prctl and fork by default) lacks, in this process."""
    for name in SIGNALS:
        if hasattr(signal, name):
            delattr(signal, name)
    for name in OS:
        if hasattr(os, name):
            delattr(os, name)
    for name in MODULES:
        sys.modules[name] = None  # `import resource` now raises ImportError (ModuleNotFoundError)
    cdll = ctypes.CDLL
    ctypes.CDLL = lambda *a, **k: _NoPrctl(cdll(*a, **k))
    multiprocessing.set_start_method("spawn", force=True)


def main(argv):
    if not argv:
        print("usage: python tests/posix_less.py SCRIPT [ARGS...]  or  -m MODULE [ARGS...]", file=sys.stderr)
        return 2
    take_away()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))  # as `python SCRIPT` sets it
        runpy.run_path(argv[0], run_name="__main__")
    return 0


def command(script, *args):
    """The command line that runs scripts/<script>.py under this launcher."""
    return [sys.executable, os.path.join(HERE, "posix_less.py"), os.path.join(ROOT, "scripts", script + ".py"),
            *map(str, args)]


def run(script, *args, **kwargs):
    """Run scripts/<script>.py without POSIX's extras to the end: a CompletedProcess with text output."""
    return subprocess.run(command(script, *args), capture_output=True, text=True, **kwargs)


def start(script, *args, **kwargs):
    """Start scripts/<script>.py without POSIX's extras: a Popen with text pipes, for signals mid-run."""
    return subprocess.Popen(command(script, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
