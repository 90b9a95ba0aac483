"""The parent's side of the grader's child process (lib/grader/child.py): start it, wait within the learner's time
limit, and on a time-out, a Ctrl-C or a death say where the learner's file was; end every process it left.

The time limit is the learner's: it counts while the file's own runs go (the child's progress mark names a line or
a training step), not while the child starts nor while the mark says the grader's own work runs (SEARCHING, the
repair search): those have a safety net of their own."""
import math
import os
import pickle
import signal
import subprocess
import sys
import time

from lib.cli import Stopped, UsageError
from lib.data import ROOT
from lib.grader.result import SEARCHING, Ending, Failure

TIME_LIMIT = 5.0         # seconds for a file to run three times at the lecture's shape (a right one needs about 0.6)
STEP_SECONDS = 0.002     # ex4: a generous bound on one training step of a learner's backward at batch 32, H 200 (1 ms)
USE_SECONDS = 5e-6       # a generous bound on one Python-loop iteration per use of a character (the lecture's dC loop)
ENV = "PRACTICE_TIMEOUT"  # seconds, for a file run with python or graded from a notebook (check takes --timeout)
MAX_SECONDS = 86400.0    # a time limit above a day is a typo (and no platform's timers take 1e19)
GRADER_SECONDS = 120.0   # the safety net of the grader's own work (the repair search), never the learner's time
POLL = 0.05              # seconds between two looks at the child's progress mark


def seconds(value, said, fix):
    """A time limit as given (a number or its text; said: how the learner gave it): a finite number of seconds
    above 0, at most a day; anything else is one line naming it and the fix (UsageError)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not 0 < number <= MAX_SECONDS:  # NaN, inf, 0, negative, 1e19
        raise UsageError(f"{said} is not a number of seconds above 0 and at most {MAX_SECONDS:.0f} (a "
                         f"day); {fix}")
    return number


def time_limit(exercise, batch_size, n_hidden, steps, backward_seconds, block_size=3):
    """Seconds the child may run: 5 s at the lecture's shape, growing with the shape asked for: 200 times the
    project's own forward and backward at that shape (measured, backward_seconds), and three runs of a Python
    loop over every use of a character (the lecture's dC loop); for exercise 4 its training too (2 ms a step at
    batch 32 x hidden 200, in proportion beyond)."""
    limit = TIME_LIMIT + 200 * backward_seconds + 3 * batch_size * block_size * USE_SECONDS
    if exercise == "ex4":
        limit += steps * STEP_SECONDS * max(1.0, batch_size / 32 * max(n_hidden, 200) / 200)
    return limit


def cpu_seconds(limit):
    """The child's own CPU-time limit (RLIMIT_CPU): it holds even if the grader is gone."""
    return int(limit + GRADER_SECONDS) + 5


# the processes the child leaves: its tree

def descendants(pid):
    """The processes below pid (Linux's /proc: children, their children...), nearest first; [] where there is no
    /proc. A process whose parent ended is its subreaper's (the child is one): it stays below."""
    try:
        entries = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return []
    below = {}
    for d in entries:
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # ended meanwhile
            continue
        below.setdefault(ppid, []).append(int(d))
    found, todo = [], [pid]
    while todo:
        for p in below.get(todo.pop(0), []):
            found.append(p)
            todo.append(p)
    return found


def end_tree(pid, include_root=True, walk=True):
    """End pid's process tree: each process stopped where it is found (so none forks another meanwhile), then
    killed; its process group too, where there are groups; on Windows the process alone. walk=False: its group
    alone (pid was reaped: another process may have its number)."""
    stop, kill = getattr(signal, "SIGSTOP", None), getattr(signal, "SIGKILL", signal.SIGTERM)
    seen = []
    for _ in range(50 if walk else 0):  # until a look finds no new process
        new = [p for p in descendants(pid) if p not in seen]
        if not new:
            break
        for p in new:
            if stop is not None:
                try:
                    os.kill(p, stop)
                except OSError:
                    pass
        seen += new
    if include_root and hasattr(os, "killpg"):  # guarded
        try:
            os.killpg(pid, kill)
        except OSError:  # no such group (not a session leader, or gone)
            pass
    for p in ([pid] if include_root and walk else []) + seen:
        try:
            os.kill(p, kill)
        except OSError:
            pass


# the child, watched

def run_child(job, job_path, printed, limit, at, longer="--timeout SECONDS"):
    """Start the child, wait for it within the learner's limit; on a time-out, a Ctrl-C or a death, say where
    the file was. The child's RunResult, or a Failure; its processes are ended in every case.
    longer: how to give the file more time where the learner is."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               LEARNER_CHILD="1")
    own = dict(start_new_session=True) if hasattr(os, "setsid") else dict(
        creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))  # Windows: the console's Ctrl-C is ours
    with open(printed, "w") as sink:
        child = subprocess.Popen([sys.executable, "-m", "lib.grader.child", job_path, str(os.getpid())],
                                 stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env, **own)
        try:
            over = watch(child, job, limit)
            if over == "learner":
                where = locate(child, job, at)
                result = read_result(job)
                if result is not None and result.training is not None:  # exercise 4: the runs are graded, and the
                    result.training.stopped = (f"by the time limit of {limit:g} s, {where} ({longer} gives it "
                                               f"longer)")  # steps its training kept are plotted
                    return result
                return Failure(Ending.TIMEOUT, f"stopped: your file ran past the time limit of {limit:g} s, {where}. "
                                               f"A loop that never ends? ({longer} gives it longer)")
            if over == "grader" and progress(job, at, raw=True) == SEARCHING:
                return Failure(Ending.SLOW, f"stopped: your file's runs were done, but the grader's own search for "
                                            f"the fix ran past its {GRADER_SECONDS:g} s (not your time limit); "
                                            f"grade it again, or ask for a hint: python scripts/practice.py hint")
            if over == "grader":
                return Failure(Ending.SLOW, f"stopped: the grader's child did not start within {GRADER_SECONDS:g} s "
                                            f"(a machine too busy?); grade it again")
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (lib.cli.run raises Stopped, code 143)
            code = getattr(e, "code", 130)
            where = locate(child, job, at)
            what = {143: "terminated", 129: "hung up"}.get(code, "interrupted")
            raise Stopped(f"{what}: the grader was running your file, {where}", code)
        finally:
            if child.poll() is None:  # not yet reaped, so its pid is its own: its tree, then it
                end_tree(child.pid)
            else:  # reaped (it ended its own tree): its process group alone, whose id no other process takes
                end_tree(child.pid, walk=False)
            child.wait()
    result = read_result(job)
    if result is None:
        where = progress(job, at)
        return Failure(Ending.DIED, f"stopped: your file ended the grader's run ({describe_status(child.returncode)}) "
                                    f"{where}; a practice file must not end its own process")
    return result


def watch(child, job, limit):
    """Wait for the child: None when it ended; 'learner' when the file's own runs (and exercise 4's training) used
    up the limit; 'grader' when the grader's own work ran past GRADER_SECONDS: the child's start-up before its
    first mark (its imports and the forward, however loaded the machine) and the search (mark SEARCHING)."""
    used = {"learner": 0.0, "grader": 0.0}
    last = time.monotonic()
    while True:
        try:
            child.wait(POLL)
            return None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        mark = progress(job, None, raw=True)
        used["learner" if mark and mark != SEARCHING else "grader"] += now - last
        last = now
        if used["learner"] > limit:
            return "learner"
        if used["grader"] > GRADER_SECONDS:
            return "grader"


def read_result(job):
    """What the child wrote: its RunResult (with exercise 4's Training when that was written too) or Failure; None
    when it wrote nothing."""
    if not os.path.exists(job.result):
        return None
    with open(job.result, "rb") as f:
        result = pickle.load(f)
    if os.path.exists(job.training):  # exercise 4's training, written after the runs
        with open(job.training, "rb") as f:
            result.training = pickle.load(f)
    return result


def describe_status(code):
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def locate(child, job, at):
    """Where the child is: its traceback (faulthandler, on SIGUSR1 where the platform has it) at the innermost line
    of the learner's file, else the progress mark. The child is then ended."""
    where = ""
    if hasattr(signal, "SIGUSR1"):  # guarded
        try:
            os.kill(child.pid, signal.SIGUSR1)
            for _ in range(20):
                time.sleep(0.05)
                with open(job.dump) as f:
                    dump = f.read()
                if "File" in dump:
                    break
            lines = [ln for ln in dump.splitlines() if f'File "{job.path}"' in ln]
            if lines:
                line = int(lines[0].split("line ")[1].split()[0])
                text = job.source.splitlines()[line - 1].strip()
                where = f"at {at(line)}: {text}"
        except (OSError, ValueError, IndexError):
            pass
    stage = progress(job, at, raw=True)
    if stage.startswith("training"):
        where = f"{stage}" + (f", {where}" if where else "")
    end_tree(child.pid)
    child.wait()
    return where or progress(job, at)


def progress(job, at, raw=False):
    try:
        with open(job.progress) as f:
            mark = f.read().strip()
    except OSError:
        mark = ""
    if raw:
        return mark
    if mark.startswith("line "):
        line = int(mark.split()[1])
        return f"at {at(line)}: {job.source.splitlines()[line - 1].strip()}"
    return f"during {mark}" if mark else "before its first line"
