"""The grader's contract: what the parent hands the child (a Job), what the child's runs of a learner's file
hand the judge (RunResult, one GradientRun per graded gradient, a LineRow per line wrong on its own, a Repair
where an edit makes a line right, exercise 4's Training) or a Failure instead, and what the judge hands the
report (a Row per line of the table, with its Status).
Records, not dicts: a field nobody filled is an error, not a default."""
import enum
import os
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    OK = "ok"                # right
    WRONG = "wrong"          # this line's own mistake
    MISSING = "missing"      # not assigned yet, or still None
    INHERITS = "inherits"    # the line is right; a gradient it reads is not


@dataclass(frozen=True)
class Job:
    """One grading: the learner's file and the shape it is graded at; built by lib/grader/face.py's job() alone."""
    exercise: str            # 'ex1' ... 'ex4'
    source: str              # the file's text (a notebook's code cells as one source)
    path: str                # its name, as its tracebacks and rows name it
    batch_size: int
    n_hidden: int            # None: the exercise's own
    seed: int
    data: str                # a word list instead of names.txt, or None
    steps: int               # exercise 4: the training run's steps (0: none)
    lr: float                # exercise 4: its learning rate
    out: str                 # the folder for the file's figures (None: not kept)
    folder: str              # the child's temporary folder (its result, progress mark, traceback dump); None when
    #                          the job runs in this process (face.rows)
    cpu_seconds: int         # the child's CPU-time limit (RLIMIT_CPU) where the platform has one; None: none

    def _in(self, name):
        return os.path.join(self.folder, name) if self.folder else None

    @property
    def result(self):
        """Where the child writes its RunResult or Failure."""
        return self._in("result.pkl")

    @property
    def training(self):
        """Where the child writes exercise 4's Training, after the runs."""
        return self._in("training.pkl")

    @property
    def progress(self):
        """The child's progress mark: 'line 12' before each statement, 'searching' once the learner's runs are
        done and the grader's own search runs, 'training step 7'."""
        return self._in("progress")

    @property
    def dump(self):
        """Where the child's traceback goes on SIGUSR1 (faulthandler), where the platform has it."""
        return self._in("dump")


SEARCHING = "searching"  # the progress mark of the grader's own work: the time limit is the learner's, not its


@dataclass
class Training:
    """Exercise 4's training with the learner's backward."""
    losses: list             # the loss of every step it trained
    stopped: str             # why it stopped before its last step ('at training step 7, line 12 raises ...'), or ''


@dataclass
class Repair:
    """One small edit of the learner's own statements after which the gradient is right: in the true
    run, under random upstream gradients and at a second batch shape."""
    line: int          # the line of the file the edit is on
    kind: str          # the kind of edit (see lib/grader/repair.py's KINDS)
    before: str        # the learner's statement(s), as written
    after: str         # the same, edited (shown only with --answer)
    what: str          # the change, in the learner's words: "`+` where `*` belongs"
    why: str           # why that is the fix, in the lecture's terms ('' when there is nothing to add)


@dataclass
class LineRow:
    """A line of the file that is wrong on its own (it raises, exits, rebinds the forward's names)."""
    line: int
    why: str
    writes: frozenset


@dataclass
class GradientRun:
    """What the runs found for one graded gradient."""
    lines: list              # the file's lines that write it, in order
    plain: object            # its value as the file runs, as written
    iso: object              # its value when every gradient its lines read is right ('isolated')
    rnd: object              # the same with random upstream gradients
    source: str              # its lines' text
    reads: set               # the graded (or given) gradients its lines read, through their helper lines too
    needs: list              # helper lines it needs that failed
    error: tuple = None      # (line, message, failed lines it needs) when its lines raise in the isolated run
    plain_error: tuple = None  # (line, message) when they raise as the file runs
    rebound: list = field(default_factory=list)  # [(forward name, line)] the file rebinds and its lines read
    alias: tuple = None      # (other, text): `g = other` (or a view: other[:]) with no copy, then changed in place
    victim_of: tuple = None  # (culprit, line, text): `culprit = g` (or a view of g), changed in place, changed g
    rnd_ref: object = None   # what a right line gives with the random upstream gradients (None: no such probe)
    rnd_ctx: dict = field(default_factory=dict)  # the random run's gradients, for the diagnosis
    harm: str = None         # a gradient below that its numbers, right but in the wrong shape, spoil
    repair: Repair = None    # the one edit that makes its lines right, where the search found one
    near_miss: tuple = None  # (name, line, holds the right value) when it is not assigned but a name like it is
    second: tuple = None     # (its value, the answer) at the second shape, its lines as written (a wrong row's)
    search_note: str = ""    # why the repair search was not run, or stopped early
    spoils: tuple = None     # (line, why): its lines changed a forward tensor through a view (dlogits = probs[:])
    shares: tuple = None     # (line, gradient): a helper line it reads is the wrong one; that gradient's row says so


@dataclass
class RunResult:
    """Everything the child's runs of one file produced."""
    grads: dict              # {g: GradientRun} for every graded gradient
    line_rows: list          # [LineRow]
    notes: list              # lines printed under the table (warnings, exercise 4's update lines)
    figures: list            # the paths of the figures the file made
    training: Training       # exercise 4's training (written apart, after the runs), else None
    values: dict             # the forward
    answers: dict            # the project's gradients
    noise: dict              # the random upstream gradients
    second: tuple = None     # (values, answers) of the second batch, where a wrong row was checked there


class Ending(enum.StrEnum):
    """Why the child produced no result."""
    USAGE = "usage"          # the batch cannot be made (a word list too short for it): the learner's input
    CRASH = "crash"          # the grader failed: its traceback
    TIMEOUT = "timeout"      # the learner's file ran past its time limit
    SLOW = "slow"            # the grader's own work after the learner's runs ran past its safety net
    DIED = "died"            # the learner's file ended the child's process


@dataclass
class Failure:
    """The child produced no result: why (kind), in one line (message)."""
    kind: Ending
    message: str


@dataclass
class Row:
    """One line of the table."""
    name: str                # the gradient, or 'line N' for a line wrong on its own
    status: Status
    why: str = ""
    maxdiff: float = None    # the largest difference from the answer as the file runs
    rel: float = None        # the relative error, likewise
    zero: bool = False       # both about zero (dlogit_maxes, db1): no relative error to speak of
    lines: list = field(default_factory=list)
    at: str = ""             # where its first line is ('line 12', 'cell [5] line 2')
    via: str = ""            # inherits: the gradient whose error it inherits (the edge drawn heavier)
