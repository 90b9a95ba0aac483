"""The shared helpers of several scripts, and one package of its own, the practice grader (lib/grader/;
nothing else here imports it). Importing it, before numpy, sets numpy's BLAS to one thread unless the user chose
a number (an empty variable is no choice): at this project's sizes a second thread buys about 10% on an idle
machine and costs 2 to 7 times as much whenever anything else runs. And a script of scripts/ stopped by Ctrl-C
while it still imports says "interrupted" and exits 130, as lib.cli.run does once it runs."""
import os
import signal
import sys

_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
if not any(os.environ.get(v, "").strip() for v in _THREADS):
    for v in _THREADS:
        os.environ[v] = "1"


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("interrupted\n")
    os._exit(130)


_main = os.path.abspath(getattr(sys.modules.get("__main__"), "__file__", None) or "")
if os.path.dirname(_main) == os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"):
    signal.signal(signal.SIGINT, _interrupted_while_starting)  # lib.cli.run gives Ctrl-C back to Python
