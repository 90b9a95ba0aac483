"""The parent's side of the grader's child process: start it, wait within the time limit, and on a
time-out, a Ctrl-C or a death say where the learner's file was."""
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

from lib.cli import Stopped
from lib.data import ROOT
from lib.grader.result import Failure

TIME_LIMIT = 5.0         # seconds for a file to run three times at the lecture's shape (a right one needs about 0.6)
STEP_SECONDS = 0.002     # ex4: a generous bound on one training step of a learner's backward at batch 32, H 200 (1 ms)
USE_SECONDS = 5e-6       # a generous bound on one Python-loop iteration per use of a character (the lecture's dC loop)
ENV = "PRACTICE_TIMEOUT"  # seconds, for a file run with python or graded from a notebook (check takes --timeout)


def time_limit(exercise, batch_size, n_hidden, steps, backward_seconds, block_size=3):
    """Seconds the child may run: 5 s at the lecture's shape, growing with the shape asked for: 200 times the
    project's own forward and backward at that shape (measured, backward_seconds), and three runs of a Python
    loop over every use of a character (the lecture's dC loop); for exercise 4 its training too (2 ms a step at
    batch 32 x hidden 200, in proportion beyond)."""
    limit = TIME_LIMIT + 200 * backward_seconds + 3 * batch_size * block_size * USE_SECONDS
    if exercise == "ex4":
        limit += steps * STEP_SECONDS * max(1.0, batch_size / 32 * max(n_hidden, 200) / 200)
    return limit


def child_limits(parent, folder):
    """In the child, before anything else: die with the grader, however it goes (the kernel sends SIGTERM when the
    parent dies, and the child removes the grader's temporary folder and leaves); never use more CPU time than it
    was given (RLIMIT_CPU, set as it starts). Its own session and process group (start_new_session) let the
    grader end everything the learner's file started."""
    def orphaned(signum, frame):
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(1)
    signal.signal(signal.SIGTERM, orphaned)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's end-of-grading kill and the CPU limit still stand
        pass
    if os.getppid() != parent:  # the parent went before the line above took effect
        orphaned(signal.SIGTERM, None)


def end_group(child):
    """Every process of the child's group (the learner's file's own children too), ended."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(job, job_path, printed, limit, at, longer="--timeout SECONDS"):
    """Start the child, wait for it within the limit; on a time-out, a Ctrl-C or a death, say where
    the file was. The child's RunResult, or a Failure; its process group is ended in every case.
    longer: how to give the file more time where the learner is."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               LEARNER_CHILD="1")
    code = "import sys; from lib.grader.runs import child_main; child_main(*sys.argv[1:])"
    cpu = int(limit) + 5  # the child's own limit in CPU seconds: it holds even if the grader is gone

    def limits():
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    with open(printed, "w") as sink:
        child = subprocess.Popen([sys.executable, "-c", code, job_path, str(os.getpid())], stdin=subprocess.DEVNULL,
                                 stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                 preexec_fn=limits)
        try:
            child.wait(limit)
        except subprocess.TimeoutExpired:
            where = locate(child, job, at)
            result = read_result(job)
            if result is not None:  # exercise 4: the runs are graded; its training ran out of time
                result.training = dict(losses=[], stopped=f"by the time limit of {limit:g} s, {where} ({longer} "
                                                          f"gives it longer)")
                return result
            return Failure("timeout", f"stopped: your file ran past the time limit of {limit:g} s, {where}. A loop "
                                      f"that never ends? ({longer} gives it longer)")
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (lib.cli.run raises Stopped, code 143)
            code = getattr(e, "code", 130)
            where = locate(child, job, at)
            what = {143: "terminated", 129: "hung up"}.get(code, "interrupted")
            raise Stopped(f"{what}: the grader was running your file, {where}", code)
        finally:
            end_group(child)
    result = read_result(job)
    if result is None:
        where = progress(job, at)
        return Failure("died", f"stopped: your file ended the grader's run ({describe_status(child.returncode)}) "
                               f"{where}; a practice file must not end its own process")
    return result


def read_result(job):
    """What the child wrote: its RunResult (with exercise 4's training when that was written too) or Failure; None
    when it wrote nothing."""
    if not os.path.exists(job["result"]):
        return None
    with open(job["result"], "rb") as f:
        result = pickle.load(f)
    if os.path.exists(job["result"] + ".training"):  # exercise 4's training, written after the runs
        with open(job["result"] + ".training", "rb") as f:
            result.training = pickle.load(f)
    return result


def describe_status(code):
    if code is not None and code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def locate(child, job, at):
    """Where the child is: its traceback (faulthandler, on SIGUSR1) at the innermost line of the
    learner's file, else the progress mark. The child is then ended."""
    where = ""
    try:
        os.kill(child.pid, signal.SIGUSR1)
        for _ in range(20):
            time.sleep(0.05)
            with open(job["dump"]) as f:
                dump = f.read()
            if "File" in dump:
                break
        lines = [ln for ln in dump.splitlines() if f'File "{job["path"]}"' in ln]
        if lines:
            line = int(lines[0].split("line ")[1].split()[0])
            text = job["source"].splitlines()[line - 1].strip()
            where = f"at {at(line)}: {text}"
    except (OSError, ValueError, IndexError):
        pass
    stage = progress(job, at, raw=True)
    if stage.startswith("training"):
        where = f"{stage}" + (f", {where}" if where else "")
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
    child.wait()
    return where or progress(job, at)


def progress(job, at, raw=False):
    try:
        with open(job["progress"]) as f:
            mark = f.read().strip()
    except OSError:
        mark = ""
    if raw:
        return mark
    if mark.startswith("line "):
        line = int(mark.split()[1])
        return f"at {at(line)}: {job['source'].splitlines()[line - 1].strip()}"
    return f"during {mark}" if mark else "before its first line"
