"""What a long training run needs around its loop, so that a training script's main is the loop:
resume from a checkpoint, Ctrl-C and SIGTERM, a guard against a loss that turns NaN or infinite,
periodic checkpoints, and the way out with its message and exit code.

    run = Run(checkpoint_path, config, max_steps, resume=..., save_every=...)
    config = run.config                      # the checkpoint's when resuming
    params = run.params(init_params(...))    # the checkpoint's when resuming
    run.snapshot = lambda: {...}             # the model arrays a checkpoint holds besides params
    with run:                                # Ctrl-C / SIGTERM now only raise a flag
        for i in range(run.start, max_steps):
            if run.stopping: break           # the step under way always finishes: resume is exact
            ...
            if run.diverged(i, loss): break
            ...
            run.lossi.append(loss); run.step_done(i + 1)
    status = run.finish()                    # saves (or keeps the last good checkpoint) and says why

A signal that arrives after the loop (during the final check or the plots) ends the run at once:
the checkpoint is saved by then, and the message says so.
"""
import json
import signal
import sys
import time

import numpy as np

from lib import checkpoint
from lib.cli import Stopped, UsageError

EXIT = {"done": 0, "diverged": 1, signal.SIGINT: 130, signal.SIGTERM: 143}
NAME = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class Run:
    def __init__(self, path, config, max_steps, resume=False, save_every=50000, resume_hint=""):
        self.path, self.max_steps, self.save_every, self.resume_hint = path, max_steps, save_every, resume_hint
        self.state = None
        if resume:
            self.state = checkpoint.load(path, checkpoint.MODEL_KEYS + ("config", "step", "lossi", "ud"))
            config = json.loads(str(self.state["config"]))
            if int(self.state["step"]) >= max_steps:
                raise UsageError(f"{path} is already at step {int(self.state['step'])}; pass --steps larger than that")
        self.config = config
        self.start = int(self.state["step"]) if resume else 0
        self.lossi = [np.float32(x) for x in self.state["lossi"]] if resume else []
        self.ud = [list(map(float, row)) for row in self.state["ud"]] if resume else []
        self.done, self.status, self.signal, self.params_ = self.start, "done", None, None
        self.snapshot = lambda: {}
        self.seconds = 0.0

    def params(self, fresh):
        """The checkpoint's parameters when resuming, else the freshly initialised ones."""
        if self.state is not None:
            fresh = {k: self.state[k] for k in fresh}
        self.params_ = fresh
        return fresh

    def check_vocabulary(self, itos):
        if self.state is not None and list(self.state["itos"]) != list(itos):
            raise UsageError(f"{self.path} was trained on another vocabulary; pass the same --data or start afresh")

    # the loop
    def __enter__(self):
        self.previous = {s: signal.signal(s, self._flag) for s in (signal.SIGINT, signal.SIGTERM)}
        self.numpy_errors = np.seterr(all="ignore")  # a blow-up is reported once, by diverged()
        self.t0 = time.perf_counter()
        return self

    def _flag(self, signum, frame):
        self.signal = signum

    @property
    def stopping(self):
        return self.signal is not None

    def diverged(self, i, loss):
        if np.isfinite(loss):
            return False
        self.status, self.bad_loss, self.bad_step = "diverged", loss, i
        return True

    def step_done(self, done):
        """After step done - 1: the periodic checkpoint, on its own cadence."""
        self.done = done
        if done % self.save_every == 0 and done < self.max_steps:
            self.save()

    def pace(self, i):
        """steps/s and the time left, for the progress line."""
        seconds = time.perf_counter() - self.t0
        rate = (i + 1 - self.start) / max(seconds, 1e-9)
        return f" | {rate:7.0f} steps/s | {(self.max_steps - i - 1) / rate:5.0f}s left"

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        np.seterr(**self.numpy_errors)
        for s in self.previous:  # from here on a signal stops the run at once (see finish)
            signal.signal(s, self._late)
        if self.signal is not None:
            self.status = self.signal
        return False

    def _late(self, signum, frame):
        raise Stopped(f"{NAME[signum]} after the last step: {self.path} holds step {self.done}; "
                      f"what was not written yet (plots, train.json) is not", EXIT[signum])

    # the way out
    def save(self):
        arrays = dict(self.params_, **self.snapshot(), step=self.done, config=json.dumps(self.config),
                      lossi=np.array(self.lossi, np.float32), ud=np.array(self.ud, np.float32).reshape(-1, 3))
        self.saved = arrays
        try:
            checkpoint.save(self.path, arrays)
        except checkpoint.SaveError as e:
            raise UsageError(f"{e}; free space or pass another --checkpoint, then --resume from the last save")

    def finish(self):
        """Save the checkpoint unless the run diverged, print why it stopped; return the status:
        'done', 'diverged' or the signal that stopped it."""
        if self.status == "diverged":
            print(f"error: the loss became {self.bad_loss} at step {self.bad_step} (learning rate too large?); "
                  f"kept the last good checkpoint ({self.path}, if one was saved) and the plots so far; "
                  f"start again with a lower --lr", file=sys.stderr)
            return self.status
        self.save()
        if self.status != "done":
            print(f"\n{NAME[self.status]} at step {self.done}: saved {self.path} and the plots so far; "
                  f"continue with: {self.resume_hint} --resume --steps {self.max_steps}", file=sys.stderr)
        return self.status

    @property
    def exit_code(self):
        return EXIT[self.status]
