"""The grader's child process, its whole life: started by lib/grader/sandbox.py as
`python -m lib.grader.child JOB_PATH PARENT_PID`, it puts its own limits on (die with the grader, CPU time,
a process count, its descendants kept as its own), runs the learner's file three times (lib/grader/runs.py's
Child) inside a guard, writes its result, ends every process the file started and leaves.

Each promise is kept by what the platform has:

    promise                           Linux                      macOS                  Windows
    dies with the grader              PR_SET_PDEATHSIG           a watchdog thread      the parent's kill
    what the file starts is ended     its process tree (/proc)   its process group      the child alone
                                      (a subreaper: even after   (a new session
                                      setsid and a double fork)  escapes it)
    CPU time                          RLIMIT_CPU                 RLIMIT_CPU             the parent's deadline
    process count                     RLIMIT_NPROC (not root)    not set                none

The guard: os._exit ends the learner's statement, not the child; the grader's process is not the file's to
signal; what a statement patches on builtins, numpy or pickle (np.abs = None) is put back after it, before
the grader's own code uses them, and the line is named in one row (a file with no statement that stores an
attribute or reaches for a namespace is not checked after every line: a helper module of the learner's own that
patches numpy when one of its functions is called would go unseen); a fork of the file's that falls back into
the grader leaves at once. The result is written with functions taken before the file ran.
"""
import ast
import builtins
import contextlib
import os
import pickle
import shutil
import signal
import sys
import threading
import time

import numpy as np

from lib.cli import UsageError
from lib.grader import ex4
from lib.grader.result import Ending, Failure, LineRow, RunResult
from lib.grader.runs import Child, Exit, filled_empty
from lib.grader.sandbox import end_tree

# the real functions, taken before any learner's code runs
_exit, _getpid, _kill, _killpg, _open = os._exit, os.getpid, os.kill, getattr(os, "killpg", None), builtins.open
_replace, _Pickler = os.replace, pickle.Pickler
WATCHED = {"builtins": builtins, "np": np, "pickle": pickle}  # what the grader's own code uses between statements
MISSING = object()
REACH = {"setattr", "delattr", "vars", "exec", "eval", "compile", "__import__", "__builtins__", "__dict__", "modules",
         "import_module", "reload"}  # names through which a statement may change a module's attributes
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
SPARE_TASKS = 64  # processes and threads the learner's file may start beyond the user's count (RLIMIT_NPROC)


def prctl(option, value):
    """Linux's prctl; False where there is none (macOS, Windows)."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(option, value) == 0
    except (ImportError, OSError, AttributeError, TypeError):
        return False


def limits(job, parent, folder):
    """Before anything else: die with the grader however it goes (the kernel's SIGTERM when the parent dies, or a
    watchdog thread where there is none: the child ends what the file started, removes the grader's temporary
    folder and leaves); keep every process the file starts as a descendant (a subreaper: a double fork and
    setsid do not escape it); never use more CPU time than it was given, nor start more than SPARE_TASKS
    processes and threads."""
    def orphaned(signum=None, frame=None):
        end_tree(_getpid(), include_root=False)
        shutil.rmtree(folder, ignore_errors=True)
        _exit(1)
    signal.signal(signal.SIGTERM, orphaned)
    if not prctl(PR_SET_PDEATHSIG, signal.SIGTERM) and hasattr(os, "getppid") and os.name == "posix":
        def watch():  # macOS: no death signal; the signals stay the main thread's (faulthandler dumps its stack)
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, getattr(signal, "SIGUSR1", signal.SIGTERM)})
            while os.getppid() == parent:
                time.sleep(0.2)
            orphaned()
        threading.Thread(target=watch, daemon=True, name="grader-watchdog").start()
    if os.name == "posix" and os.getppid() != parent:  # the parent went before the lines above took effect
        orphaned()
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        import resource
    except ImportError:  # Windows: the parent's deadline holds
        return
    if job.cpu_seconds and hasattr(resource, "RLIMIT_CPU"):
        resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_seconds, job.cpu_seconds + 5))
    tasks = user_tasks()
    if tasks and hasattr(resource, "RLIMIT_NPROC"):  # counted per user, threads too; root is not held by it
        soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        cap = tasks + SPARE_TASKS
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_NPROC, (cap, cap))


def user_tasks():
    """The processes and threads this user runs now (Linux's /proc); None where they cannot be counted."""
    uid, count = os.getuid(), 0
    try:
        entries = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return None
    for d in entries:
        try:
            if os.stat(f"/proc/{d}").st_uid == uid:
                count += len(os.listdir(f"/proc/{d}/task"))
        except OSError:  # ended meanwhile
            pass
    return count


@contextlib.contextmanager
def learner_guarded(parent):
    """While the learner's file runs: os._exit ends its own statement (Exit), not the child, so the table is still
    printed (a fork of the file's exits for real); and the grader's process (parent) is not the file's to signal.
    Yields the child's own pid."""
    me = _getpid()
    group = getattr(os, "getpgid", None)

    def learner_exit(code=0):
        if _getpid() != me:  # a process the file forked: its exit is its own
            _exit(code)
        raise Exit(code)

    def kill(pid, sig):
        if pid in (parent, -parent) or pid == 0 and group is not None and group(0) == group(parent):
            raise PermissionError(f"[Errno 1] the grader's process ({parent}) is not yours to signal")
        return _kill(pid, sig)

    def killpg(pgid, sig):
        if group is not None and pgid == group(parent):
            raise PermissionError(f"[Errno 1] the grader's process group ({pgid}) is not yours to signal")
        return _killpg(pgid, sig)
    os._exit, os.kill = learner_exit, kill
    if _killpg is not None:
        os.killpg = killpg
    try:
        yield me
    finally:
        os._exit, os.kill = _exit, _kill
        if _killpg is not None:
            os.killpg = _killpg


class Guarded(Child):
    """The runs of lib/grader/runs.py, with what a statement patches on builtins, numpy or pickle put back after
    it (the grader's own code uses them between statements) and its line named in one row."""

    def __init__(self, job, me):
        super().__init__(job)
        self.me = me
        self.kept = {name: dict(vars(module)) for name, module in WATCHED.items()}
        self.patches = {}  # {line: 'np.abs'}: the first thing each line patched
        reach = {st: may_patch(st.node) for st in self.stmts}  # None, 'import' or 'store'
        self.suspects = {st for st, how in reach.items() if how}
        if "store" in reach.values():
            self.suspects = set(self.stmts)  # a patch in a function of the file may run from any line that calls it

    def execute(self, st, ns, quiet=False):
        errors = np.geterr()
        try:
            return super().execute(st, ns, quiet)
        except Exception:  # the statement spoiled what execute's own clean-up uses (np.seterr = None): put back below
            return None
        finally:
            if _getpid() != self.me:  # a process the file forked, back in the grader's code: not its to run
                _exit(0)
            if st in self.suspects:
                self.restore(st)
            sys.stdout, sys.stderr = self.stdout, self.stderr
            np.seterr(**errors)
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)

    def restore(self, st):
        """Put back what the statement changed or deleted on the watched modules (what it added is its own)."""
        for name, kept in self.kept.items():
            now = vars(WATCHED[name])
            try:
                if kept.items() <= now.items():
                    continue
            except Exception:  # a value whose == is not a truth (an array): compared one by one below
                pass
            for k, v in kept.items():
                if now.get(k, MISSING) is not v:
                    now[k] = v
                    self.patches.setdefault(st.line, f"{name}.{k}")

    def run(self):
        result = super().run()
        named = {r.line for r in result.line_rows}
        for line, what in self.patches.items():
            if line not in named:
                result.line_rows.append(LineRow(
                    line=line, writes=frozenset(),
                    why=f"patches {what}, which the grader's own code uses: it was put back after this line, and your "
                        f"other lines ran with the real one; give your own function a name of its own"))
        result.line_rows.sort(key=lambda r: r.line)
        return result


def may_patch(node):
    """Can a statement change an attribute of a module? 'store' when it stores or deletes an attribute or reaches
    for a namespace (setattr, vars, __dict__, __builtins__, exec...), 'import' when it imports (a module's own code
    runs), else None. The others are not checked after they run: a check costs 10 to 30 us, and a 2000-step
    training runs 30000 statements."""
    how = None
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and (not isinstance(n.ctx, ast.Load) or n.attr in REACH) or isinstance(
                n, ast.Name) and n.id in REACH:
            return "store"
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            how = "import"
    return how


def write(path, obj):
    """Pickle obj to path whole or not at all, with the functions taken before the learner's file ran; what cannot
    be pickled (a gradient that is the file's own lambda) is a Failure that says so."""
    try:
        with _open(path + ".part", "wb") as f:
            _Pickler(f).dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as e:
        with _open(path + ".part", "wb") as f:
            _Pickler(f).dump(Failure(Ending.CRASH, f"the grader could not hand on what your file made: {e}"))
    _replace(path + ".part", path)


def main(job_path, parent):
    """The child process: its limits, the job, the result (a RunResult or a Failure), then for exercise 4 the
    training written apart (a time-out in training keeps the graded runs); what the file started is ended, and the
    child leaves at once (threads the file left running do not hold it up)."""
    parent = int(parent)
    with _open(job_path, "rb") as f:
        job = pickle.load(f)
    limits(job, parent, os.path.dirname(os.path.abspath(job_path)))
    if hasattr(signal, "SIGUSR1"):  # where the parent can ask: the learner's line at a time-out  (guarded)
        import faulthandler
        faulthandler.register(signal.SIGUSR1, file=_open(job.dump, "w"), all_threads=False)
    with filled_empty(), learner_guarded(parent) as me:
        child = None
        try:
            child = Guarded(job, me)
            result = child.run()
        except UsageError as e:  # the batch cannot be made (a word list too short for it): the parent says so
            result = Failure(Ending.USAGE, str(e))
        except BaseException as e:  # the grader's own failure: the parent says so
            import traceback
            result = Failure(Ending.CRASH, "".join(traceback.format_exception(e)))
        write(job.result, result)
        if isinstance(result, RunResult) and child.trains():
            write(job.training, ex4.train(child, keep=lambda training: write(job.training, training)))
    for stream in (sys.stdout, sys.stderr, sys.__stdout__):
        with contextlib.suppress(Exception):
            stream.flush()
    end_tree(me, include_root=False)
    _exit(0)


if __name__ == "__main__":  # run as `python -m lib.grader.child`: the module proper, imported once, does the work
    from lib.grader import child as module
    module.main(*sys.argv[1:])
