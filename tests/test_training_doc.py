"""lib/training.py's docstring shows the training loop as train.py writes it: the example runs, as written."""
import doctest
import signal

from lib import training


def test_the_docstrings_example_runs():
    handlers = {s: signal.getsignal(s) for s in training.STOPS}
    try:
        result = doctest.testmod(training, optionflags=doctest.ELLIPSIS)
    finally:  # the example's run takes over the signals, as a script's does until lib.cli.run gives them back
        for s, handler in handlers.items():
            signal.signal(s, handler)
    assert result.attempted >= 10 and result.failed == 0
