"""What a long training run needs around its loop, so that a training script's main is the loop:
resume from a checkpoint, Ctrl-C and SIGTERM, a guard against a loss that blows up, periodic
checkpoints, and the way out with its message and exit code.

    run = Run(checkpoint_path, config, max_steps, resume=..., save_every=..., data_id=...)
    config = run.config                      # the checkpoint's when resuming
    params = run.params(init_params(...))    # the checkpoint's when resuming
    with run.loop(blowup=2 * log(vocab_size),  # a mean loss above this over `patience` steps: diverged
                  extras=lambda: {...}):       # what a periodic checkpoint holds besides params
        for i in range(run.start, max_steps):  # Ctrl-C / SIGTERM now only raise a flag
            if run.stopping: break           # the step under way always finishes: resume is exact
            ...
            if run.diverged(i, loss): break
            ...
            run.lossi.append(loss); run.step_done(i + 1)
    status = run.finish({...})               # saves with these arrays (or keeps the last good checkpoint), says why

Once the checkpoint is saved after the loop, a signal (during the final check or the plots)
ends the run at once, and the message says what was kept.
"""
import collections
import json
import os
import shlex
import signal
import sys
import time

import numpy as np

from lib import checkpoint
from lib.cli import OutputError, Stopped, UsageError, write_text

NAME = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}  # a signal's status
EXIT = {"done": 0, "diverged": 1, "interrupted": 130, "terminated": 143, "hung up": 129}  # a status's exit code
TRAINING_KEYS = ("config", "step", "lossi", "ud", "data")


class Run:
    def __init__(self, path, config, max_steps, resume=False, save_every=50000, data_id="", resume_hint="",
                 patience=100):
        self.max_steps, self.save_every, self.resume_hint = max_steps, save_every, list(resume_hint)
        # where the finished model goes (target), and where this run saves until it is finished (path): a new run
        # never writes over a model it did not make, so beside one that exists it saves to a file of its own
        self.target = path
        self.path = interim_path(path, resume)
        self.written = []  # the outputs written after the checkpoint, for the message of a late signal
        self.data_id, self.patience, self.resumed = data_id, patience, resume
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
        self.done, self.status, self.signal, self.params = self.start, "done", None, None
        self.extras, self.save_failed = (lambda: {}), None
        self.blowup, self.recent = np.inf, collections.deque(maxlen=patience)
        self.seconds = 0.0

    def plan(self):
        """One line: what happens to a model already at the checkpoint's path."""
        return plan(self.target, self.path, self.state is not None)

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
        self.lock = take_lock(self.target)
        self.previous = {s: signal.signal(s, self._flag) for s in (signal.SIGINT, signal.SIGTERM)}
        self.numpy_errors = np.seterr(all="ignore")  # a blow-up is reported once, by diverged()
        self.t0 = time.perf_counter()
        return self

    def _flag(self, signum, frame):
        self.signal = signum

    @property
    def stopping(self):
        return self.signal is not None

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
        (any of the last `patience` losses above `blowup`)."""
        self.done = done
        if done % self.save_every == 0 and done < self.max_steps and max(self.recent, default=0) <= self.blowup:
            self.save(self.extras())

    def pace(self, i):
        """steps/s and the time left, for the progress line."""
        rate = (i + 1 - self.start) / max(time.perf_counter() - self.t0, 1e-9)
        return f" | {rate:7.0f} steps/s | {(self.max_steps - i - 1) / rate:5.0f}s left"

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        np.seterr(**self.numpy_errors)
        if exc[0] is not None:  # a bug: put things back and let it through
            self._release()
        return False

    def _late(self, signum, frame):
        written = f"{', '.join(self.written)} written, the rest" if self.written else "the final check and outputs"
        raise Stopped(f"{NAME[signum]} after the last step: {self.path} holds the trained model (step {self.done}); "
                      f"{written} not (sample from it with "
                      f"{shlex.join(['python', 'scripts/sample.py', '--checkpoint', self.path])})", EXIT[NAME[signum]])

    def _release(self):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        release_lock(self.lock)

    # the way out
    def save(self, extras):
        arrays = dict(self.params, **extras, step=self.done, config=json.dumps(self.config),
                      data=self.data_id, lossi=np.array(self.lossi, np.float32),
                      ud=np.array(self.ud, np.float32).reshape(-1, 3))
        checkpoint.save(self.path, arrays)

    def finish(self, extras):
        """Save the checkpoint with the model arrays `extras` besides the parameters, unless the run
        diverged; print why it stopped; return the status: 'done', 'diverged', 'interrupted' (Ctrl-C) or
        'terminated' (kill). A failed save is one line (save_failed) and the run goes on to write what it can."""
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
            self._release()
            return self.status
        try:
            self.save(extras)
            if self.status == "done" and self.path != self.target:  # finished: now it replaces the earlier model
                os.replace(self.path, self.target)
                self.path = self.target
        except checkpoint.SaveError as e:
            self.save_failed = str(e)
            print(f"error: {e}; the run's plots and results are still written; free space or pass another "
                  f"--checkpoint", file=sys.stderr)
        for s in self.previous:  # from here on a signal stops the run at once
            signal.signal(s, self._late)
        release_lock(self.lock)
        if self.status != "done":
            kept = f"saved {self.path}" if not self.save_failed else "could NOT save the checkpoint"
            earlier = untouched(self.target, self.path)
            hint = shlex.join(self.resume_hint + ["--checkpoint", os.path.abspath(self.path), "--resume", "--steps",
                                                  str(self.max_steps)])
            print(f"\n{self.status} at step {self.done}: {kept}{earlier} and the plots so far; continue with: {hint}",
                  file=sys.stderr)
        return self.status

    @property
    def exit_code(self):
        return EXIT[self.status] or (1 if self.save_failed else 0)


class Interrupt:
    """Ctrl-C, SIGTERM and SIGHUP as a flag, for a script that keeps what it has: the part under way (an
    epoch, an iteration, a step) finishes, the loop ends there, and the script writes its figures
    so far and says so with done() (exit 130, 143 or 129). A second signal stops at once. lib.cli.run
    gives the handlers back when main returns."""

    def __init__(self, part="the step under way"):
        self.signal, self.part = None, part
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a closed terminal too: what was done is kept
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


def take_lock(path):
    """Mark path as being written by this process: <path>.lock holds our pid. Another live run
    writing the same checkpoint is told on stderr (their saves would overwrite each other's)."""
    lock = path + ".lock"
    try:
        with open(lock) as f:
            other = int(f.read().strip() or 0)
        if other and other != os.getpid():
            os.kill(other, 0)  # raises if that process is gone: a stale lock
            print(f"warning: another run (pid {other}) is writing {path}; each save replaces the other's whole "
                  f"(never a broken file), but only the last one survives: pass another --checkpoint", file=sys.stderr)
            return None
    except (OSError, ValueError):
        pass
    try:
        return write_text(lock, str(os.getpid()))  # whole or not at all: a full disk leaves no empty lock
    except OutputError:
        return None


def release_lock(lock):
    if lock and os.path.exists(lock):
        os.remove(lock)


def interim_path(path, resume):
    """Where a run saves until it has finished: its checkpoint's path when resuming it or when nothing is there, else
    a file beside it (a new run never writes over a model it did not make)."""
    return path if resume or not os.path.exists(path) else beside(path)


def plan(target, interim, resume):
    """The first line of a run that saves a model beside an earlier one: what happens to that one ('' when there is
    none, or when the run resumes it)."""
    if interim == target:
        return ""
    return (f"{target} holds an earlier model: it stays until this run finishes (saves go to {interim} until then; "
            f"interrupted, this run stays there and the earlier model is untouched)")


def announce(line):
    """Print the plan's line, when there is one (a run on a fresh path prints nothing before its work)."""
    if line:
        print(line)


def untouched(target, where):
    """What a closing line adds when this run saved beside an earlier model: that it did not touch it."""
    return f" ({target}, the earlier model, is untouched)" if where != target else ""


def beside(path):
    """A free file name next to path for a new run's saves: model.npz -> model.new.npz (model.new2.npz, ...)."""
    stem, ext = os.path.splitext(path)
    for k in range(1, 1000):
        candidate = f"{stem}.new{k if k > 1 else ''}{ext}"
        if not os.path.exists(candidate):
            return candidate
    raise UsageError(f"{stem}.new*{ext}: a thousand unfinished runs beside {path}; remove some, or pass another "
                     f"--checkpoint")


def clear_outputs(out, prefix):
    """Remove a previous run's <prefix>.json and <prefix>_*.png from out, so that the folder never
    mixes two runs; returns how many files went."""
    gone = [f for f in os.listdir(out) if f == prefix + ".json" or (f.startswith(prefix + "_") and f.endswith(".png"))]
    for f in gone:
        os.remove(os.path.join(out, f))
    return len(gone)
