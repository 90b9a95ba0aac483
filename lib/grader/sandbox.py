"""The parent's side of the grader's child process: start it, wait within the time limit, and on a
time-out, a Ctrl-C or a death say where the learner's file was."""
import os
import pickle
import signal
import subprocess
import sys
import time

from lib.cli import Stopped
from lib.data import ROOT
from lib.grader.result import Failure

TIME_LIMIT = 5.0         # seconds for a file to run three times (a right one needs about 0.6); ex4 adds its training
STEP_SECONDS = 0.002     # ex4: a generous bound on one training step of a learner's backward (1 ms here)


def run_child(job, job_path, printed, limit, at):
    """Start the child, wait for it within the limit; on a time-out, a Ctrl-C or a death, say where
    the file was. The child's RunResult, or a Failure."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               LEARNER_CHILD="1")
    code = "import sys; from lib.grader.runs import child_main; child_main(sys.argv[1])"
    with open(printed, "w") as sink:
        child = subprocess.Popen([sys.executable, "-c", code, job_path], stdin=subprocess.DEVNULL, stdout=sink,
                                 stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            child.wait(limit)
        except subprocess.TimeoutExpired:
            where = locate(child, job, at)
            return Failure("timeout", f"stopped: your file ran past the time limit of {limit:g} s, {where}. A loop "
                                      f"that never ends? (--timeout SECONDS gives it longer)")
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (lib.cli.run raises Stopped, code 143)
            code = getattr(e, "code", 130)
            where = locate(child, job, at)
            raise Stopped(f"{'terminated' if code == 143 else 'interrupted'}: the grader was running your file, "
                          f"{where}", code)
    if not os.path.exists(job["result"]):
        where = progress(job, at)
        return Failure("died", f"stopped: your file ended the grader's run ({describe_status(child.returncode)}) "
                               f"{where}; a practice file must not end its own process")
    with open(job["result"], "rb") as f:
        return pickle.load(f)


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
