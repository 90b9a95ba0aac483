"""What a training script needs around its loop so that it never loses what it wrote, written once.

Keep: the model file of any run that saves one (train.py, rnn_bptt.py, lstm_bptt.py). It decides where the run
saves, locks that file, turns Ctrl-C and kill into a flag (the step under way finishes; a second signal stops at
once), saves whole or not at all and ends with one line that says what was kept and how to go on (--resume).
    A run that resumes a checkpoint saves to it. A new run saves to --checkpoint when nothing is there; beside a
model that is there (model.npz -> model.new.npz) it saves to a file of its own until it has finished and then moves
its model over the earlier one: a new run never destroys a finished model. A checkpoint saved beside records the
file it is for, so a stopped run that is resumed from it also ends in that file, and the .new file goes. A new run
takes over a .new file that an earlier, abandoned run of the same model left (it says so first); one that a live
run is writing it leaves alone and saves to .new2: two runs on one model never share a file.

Run: Keep, and what train.py's long run needs besides: the hyperparameters and history of a checkpoint it resumes,
a guard against a loss that blows up, periodic checkpoints. The loop, as train.py writes it (this runs: the suite
runs this docstring, tests/test_training_doc.py):

    >>> import os, tempfile
    >>> import numpy as np
    >>> from lib.training import Run
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> run = Run(path, {"lr": 0.1}, max_steps=50, save_every=20)  # resume=True: the checkpoint's config and step
    >>> params = run.initial({"w": np.zeros(3)})    # the checkpoint's parameters when resuming, else these
    >>> want = np.array([1.0, -2.0, 0.5])
    >>> with run.loop(blowup=100.0, extras=lambda: {}):  # a mean loss above blowup over `patience` steps: diverged
    ...     for i in range(run.start, run.max_steps):     # Ctrl-C / kill now only raise a flag
    ...         if run.stopping:                          # the step under way always finishes: resume is exact
    ...             break
    ...         loss = float(((params["w"] - want) ** 2).sum())
    ...         if run.diverged(i, loss):
    ...             break
    ...         params["w"] -= run.config["lr"] * 2 * (params["w"] - want)
    ...         run.lossi.append(loss)
    ...         run.step_done(i + 1)                      # saves every save_every steps
    >>> run.finish({})                    # saves with these arrays (or keeps the last good checkpoint), says why
    'done'
    >>> z = np.load(path)
    >>> int(z["step"]), np.round(z["w"], 3).tolist()
    (50, [1.0, -2.0, 0.5])

Once the checkpoint is saved after the loop, a signal (during the final check or the plots) ends the run at once,
and the message says what was kept.
"""
import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np

from lib import checkpoint
from lib.cli import STOPS, OutputError, Stopped, UsageError, at_exit, write_text

NAME = STOPS  # a signal's status: 'interrupted' (Ctrl-C), 'terminated' (kill), 'hung up', ...
EXIT = dict({"done": 0, "diverged": 1}, **{word: 128 + s for s, word in STOPS.items()})  # a status's exit code
TRAINING_KEYS = ("config", "step", "lossi", "ud", "data")
WINDOWS = os.name == "nt"


class Interrupt:
    """Ctrl-C and kill (and, where the platform has them, a closed terminal or Ctrl-Break) as a flag, for a
    script that keeps what it has: the part under way (an epoch, an iteration, a step) finishes, the loop ends there,
    and the script writes its figures so far and says so with done() (exit 130, 143, ...). A second signal stops at
    once. lib.cli.run gives the handlers back when main returns."""

    def __init__(self, part="the step under way"):
        self.signal, self.part = None, part
        for s in STOPS:
            signal.signal(s, self._flag)

    def _flag(self, signum, frame):
        if self.signal is not None:
            raise Stopped(NAME[signum], EXIT[NAME[signum]])
        self.signal = signum
        print(f"\n({NAME[signum]}: finishing {self.part}, then writing what there is; again to stop at once)",
              file=sys.stderr, flush=True)

    def done(self, where, kept):
        """The closing line, after the script wrote what it has; the exit code."""
        print(f"\n{NAME[self.signal]} {where}: kept {kept}", file=sys.stderr)
        return EXIT[NAME[self.signal]]


class Keep:
    """The model file of a run, and the way out (the module's docstring says how the file is chosen).

        keep = Keep(args.checkpoint, args.resume, hint=["python", "scripts/x.py", ...])  # the file; its lock
        announce(keep.plan())           # first: what happens to a model already there
        keep.watch()                    # from here Ctrl-C / kill raise a flag: keep.stopping
        ... the loop, `if keep.stopping: break` at the top of each step ...
        keep.save(arrays, finished)     # whole or not at all; finished: moved over an earlier model
        return keep.closing(where, kept)  # after a signal: one line, with the --resume line; the exit code
    """

    def __init__(self, path, resume=False, hint=None, part="the step under way"):
        self.target = recorded_target(path) if resume else path  # where the finished model goes
        self.path, self.abandoned = path, False                   # where this run saves until it has finished
        if not resume and os.path.exists(path):
            self.path, self.abandoned = beside(path)
        self.resumed, self.hint, self.part = resume, hint, part
        self.stop, self.save_failed, self.saved, self.finished = None, None, False, False
        self.locks = []
        at_exit(self.release)  # however the script ends (a one-line error, a signal), its locks go
        for file in dict.fromkeys((self.path, self.target)):  # a second run writing the same file is told
            other = holder(file + ".lock")
            if other:
                print(f"warning: another run (pid {other}) is writing {file}; each save replaces the other's whole "
                      f"(never a broken file), but only the last one survives: pass another --checkpoint",
                      file=sys.stderr)
            elif file == self.path:
                self.locks.append(take_lock(file))

    def plan(self):
        """One line: what happens to a model already at the target ('' when there is none, or when resuming)."""
        if self.resumed and self.path != self.target:
            return f"{self.path} is a run of {self.target}: finished, it replaces {self.target} ({self.path} goes)"
        if self.path == self.target or self.resumed:
            return ""
        taken = (f"; {self.path}, an unfinished run of it that no run is writing, is replaced by this run's saves"
                 if self.abandoned else "")
        return (f"{self.target} holds an earlier model: it stays until this run finishes (saves go to {self.path} "
                f"until then; interrupted, this run stays there and the earlier model is untouched){taken}")

    def watch(self):
        """From here on Ctrl-C and kill finish the step under way (stopping), a second one stops at once."""
        self.stop = Interrupt(self.part)
        return self

    @property
    def signal(self):
        return self.stop.signal if self.stop else None

    @property
    def stopping(self):
        return self.signal is not None

    def save(self, arrays, finished=False):
        """Save the model whole or not at all; finished, it then replaces the model at the target. A failure (a full
        disk, a folder where the file goes) is one line on stderr, save_failed, and None: the script goes on to
        write its figures. Returns the path saved."""
        arrays = dict(arrays)
        if self.path != self.target:  # saved beside: the file it is for, so that a resumed run ends there
            arrays["target"] = os.path.basename(self.target)
        try:
            checkpoint.save(self.path, arrays)
            if finished and self.path != self.target:
                try:
                    os.replace(self.path, self.target)
                except OSError as e:
                    raise checkpoint.SaveError(f"could not move {self.path} over {self.target} ({e.strerror or e}; "
                                               f"the model is in {self.path})")
                self.path = self.target
        except checkpoint.SaveError as e:
            self.save_failed = str(e)
            print(f"error: {e}; the plots and the JSON are still written; free some space or pass another "
                  f"--checkpoint", file=sys.stderr)
            return None
        self.save_failed, self.saved, self.finished = None, True, finished
        return self.path

    def release(self):
        """Remove this run's locks (at the end of its saves, and by lib.cli.run however main ends)."""
        while self.locks:
            release_lock(self.locks.pop())

    def resume_line(self, steps):
        """The command that goes on from the model saved so far."""
        return pasted(self.hint + ["--checkpoint", os.path.abspath(self.path), "--resume", "--steps", str(steps)])

    def kept(self):
        """What the closing line says of the model: where it is, and that an earlier one was not touched."""
        if self.save_failed or not self.saved:
            return "no model (" + ("it could NOT be saved)" if self.save_failed else "no step was done)")
        return f"the {'trained model' if self.finished else 'model so far'} in {self.path}{self.untouched()}"

    def untouched(self):
        """What a closing line adds when this run saved beside an earlier model: that it did not touch it."""
        return f" ({self.target}, the earlier model, is untouched)" if self.path != self.target else ""

    def closing(self, where, kept, steps=None):
        """After a signal: the closing line, with the --resume line when the run can go on (steps: its --steps);
        the exit code."""
        go_on = f"; continue with: {self.resume_line(steps)}" if steps and self.hint and not self.finished \
            and self.saved else ""
        return self.stop.done(where, kept + go_on)


class Run(Keep):
    """Keep, and what train.py's long run needs around its loop (the module's docstring shows the loop)."""

    def __init__(self, path, config, max_steps, resume=False, save_every=50000, data_id="", resume_hint="",
                 patience=100):
        super().__init__(path, resume, hint=list(resume_hint))
        self.max_steps, self.save_every = max_steps, save_every
        self.written = []  # the outputs written after the checkpoint, for the message of a late signal
        self.data_id, self.patience = data_id, patience
        self.state = None
        if resume:
            self.state = checkpoint.load(path, checkpoint.MODEL_KEYS + TRAINING_KEYS)
            config = json.loads(str(self.state["config"]))
            if int(self.state["step"]) >= max_steps:
                raise UsageError(f"{path} is already at step {int(self.state['step'])}; pass --steps larger than that")
            if data_id and str(self.state["data"]) != data_id:
                raise UsageError(f"{path} was trained on another word list (sha256 {str(self.state['data'])[:12]}..., "
                                 f"this one {data_id[:12]}...); pass the same --data, or start afresh")
        self.config = config
        self.start = int(self.state["step"]) if resume else 0
        self.lossi = [np.float32(x) for x in self.state["lossi"]] if resume else []
        self.ud = [list(map(float, row)) for row in self.state["ud"]] if resume else []
        self.done, self.status, self.params = self.start, "done", None
        self.extras = lambda: {}
        self.blowup, self.recent = np.inf, collections.deque(maxlen=patience)
        self.seconds = 0.0

    def initial(self, fresh):
        """The parameters to train: the checkpoint's when resuming, else the freshly initialised ones."""
        if self.state is not None:
            fresh = {k: self.state[k] for k in fresh}
        self.params = fresh
        return fresh

    def check_vocabulary(self, itos):
        if self.state is not None and list(self.state["itos"]) != list(itos):
            raise UsageError(f"{self.path} was trained on another vocabulary; pass the same --data or start afresh")

    # the loop
    def loop(self, blowup=np.inf, extras=lambda: {}):
        """The training loop's context: blowup, the mean loss that means the run diverged; extras(),
        the model arrays a periodic checkpoint holds besides the parameters."""
        self.blowup, self.extras = blowup, extras
        return self

    def __enter__(self):
        self.watch()
        self.numpy_errors = np.seterr(all="ignore")  # a blow-up is reported once, by diverged()
        self.t0 = time.perf_counter()
        return self

    @property
    def astray(self):
        """The mean loss of the last `patience` steps is above `blowup`."""
        return len(self.recent) == self.patience and sum(self.recent) / self.patience > self.blowup

    def diverged(self, i, loss):
        """NaN or infinite, or astray: the run has blown up."""
        self.recent.append(float(loss))
        if np.isfinite(loss) and not self.astray:
            return False
        self.status, self.bad_loss, self.bad_step = "diverged", loss, i
        return True

    def step_done(self, done):
        """After step done - 1: the periodic checkpoint, on its own cadence, never of a run going astray
        (any of the last `patience` losses above `blowup`). One that fails is one line, and the run goes on."""
        self.done = done
        if done % self.save_every == 0 and done < self.max_steps and max(self.recent, default=0) <= self.blowup:
            self.save(self.arrays(self.extras()))

    def pace(self, i):
        """steps/s and the time left, for the progress line."""
        rate = (i + 1 - self.start) / max(time.perf_counter() - self.t0, 1e-9)
        return f" | {rate:7.0f} steps/s | {(self.max_steps - i - 1) / rate:5.0f}s left"

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        np.seterr(**self.numpy_errors)
        if exc[0] is not None:  # a bug, or a second signal: the locks go, and it goes through
            self.release()
        return False

    def _late(self, signum, frame):
        written = f"{', '.join(self.written)} written, the rest" if self.written else "the final check and outputs"
        raise Stopped(f"{NAME[signum]} after the last step: {self.path} holds the trained model (step "
                      f"{self.done}); {written} not (sample from it with "
                      f"{pasted(['python', 'scripts/sample.py', '--checkpoint', self.path])})", EXIT[NAME[signum]])

    # the way out
    def arrays(self, extras):
        """What a checkpoint of this run holds: the parameters, extras, and what --resume needs."""
        return dict(self.params, **extras, step=self.done, config=json.dumps(self.config), data=self.data_id,
                    lossi=np.array(self.lossi, np.float32), ud=np.array(self.ud, np.float32).reshape(-1, 3))

    def finish(self, extras):
        """Save the checkpoint with the model arrays `extras` besides the parameters, unless the run
        diverged; print why it stopped; return the status: 'done', 'diverged', 'interrupted' (Ctrl-C),
        'terminated' (kill), ... A failed save is one line (save_failed) and the run goes on to write what it can."""
        if self.signal is not None:
            self.status = NAME[self.signal]
        if self.status == "diverged":
            lr = f"its learning rate ({self.config.get('learning_rate')}) comes from {self.path}; start afresh" \
                if self.resumed else "start again"
            what = "became" if not np.isfinite(self.bad_loss) else \
                f"averaged above {self.blowup:.1f} (2 ln V, a uniform guess twice over) for {self.patience} steps, " \
                f"up to"
            print(f"error: the loss {what} {self.bad_loss:.4g} at step {self.bad_step}: the run diverged "
                  f"(learning rate too large?); kept the last good checkpoint ({self.path}, if one was saved) and the "
                  "plots so far; "
                  f"{lr} with a lower --lr", file=sys.stderr)
            self.release()
            return self.status
        self.save(self.arrays(extras), finished=self.status == "done")
        for s in STOPS:  # from here on a signal stops the run at once
            signal.signal(s, self._late)
        self.release()
        if self.status != "done":
            kept = f"saved {self.path}" if not self.save_failed else "could NOT save the checkpoint"
            go_on = f"; continue with: {self.resume_line(self.max_steps)}" if not self.save_failed else ""
            print(f"\n{self.status} at step {self.done}: {kept}{self.untouched()} and the plots so far{go_on}",
                  file=sys.stderr)
        return self.status

    @property
    def exit_code(self):
        return EXIT[self.status] or (1 if self.save_failed else 0)


def pasted(words):
    """A command line to paste into this platform's shell: POSIX quoting ('a b'), or on Windows the quoting of
    cmd.exe and PowerShell alike ("a b")."""
    return subprocess.list2cmdline(words) if WINDOWS else shlex.join(words)


def alive(pid):
    """Whether a process with this pid runs. Not os.kill(pid, 0) on Windows: there it is no probe (signal 0 is
    CTRL_C_EVENT, sent to the process group pid)."""
    if WINDOWS:
        import ctypes
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it runs, as another user
        code = ctypes.c_ulong()
        running = kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259  # STILL_ACTIVE
        kernel32.CloseHandle(handle)
        return bool(running)
    try:
        os.kill(pid, 0)
    except PermissionError:  # it runs, as another user
        return True
    except OSError:
        return False
    return True


def holder(lock):
    """The pid of another live process that holds this lock file, or None (no lock, or a stale one)."""
    try:
        with open(lock) as f:
            other = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None
    return other if other and other != os.getpid() and alive(other) else None


def take_lock(path):
    """Mark path as being written by this process: <path>.lock holds our pid (whole or not at all: a full disk
    leaves no empty lock). Returns the lock's path, or None when it could not be written."""
    try:
        return write_text(path + ".lock", str(os.getpid()))
    except OutputError:
        return None


def release_lock(lock):
    if lock and os.path.exists(lock):
        os.remove(lock)


def recorded_target(path):
    """The file a checkpoint saved beside a model is for (its `target`), else path itself."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # the script's own load says what is wrong
        return path
    if not isinstance(z, np.lib.npyio.NpzFile):
        return path
    with z:
        if "target" not in z.files:
            return path
        return os.path.join(os.path.dirname(path), str(z["target"]))


def beside(path):
    """The file a new run saves to beside an earlier model: model.npz -> model.new.npz (model.new2.npz, ... while a
    live run writes that one); and whether it is an abandoned run's file of that model, to be replaced. A file there
    that is not a run of this model (a user's own) is left alone."""
    stem, ext = os.path.splitext(path)
    for k in range(1, 1000):
        candidate = f"{stem}.new{k if k > 1 else ''}{ext}"
        if holder(candidate + ".lock"):
            continue
        if not os.path.exists(candidate):
            return candidate, False
        if os.path.abspath(recorded_target(candidate)) == os.path.abspath(path):
            return candidate, True
    raise UsageError(f"{stem}.new*{ext}: a thousand files beside {path}; remove some, or pass another --checkpoint")


def announce(line):
    """Print the plan's line, when there is one (a run on a fresh path prints nothing before its work)."""
    if line:
        print(line)


def clear_outputs(out, prefix):
    """Remove a previous run's <prefix>.json and <prefix>_*.png from out, so that the folder never
    mixes two runs; returns how many files went."""
    gone = [f for f in os.listdir(out) if f == prefix + ".json" or (f.startswith(prefix + "_") and f.endswith(".png"))]
    for f in gone:
        os.remove(os.path.join(out, f))
    return len(gone)
