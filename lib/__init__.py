"""The shared helpers of several scripts, and one package of its own, the practice grader (lib/grader/;
nothing else here imports it). Importing it, before numpy, sets numpy's
BLAS to one thread unless the user chose a number: at this project's sizes a second thread buys
about 10% on an idle machine and costs 2 to 7 times as much whenever anything else runs."""
import os

_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
if not any(v in os.environ for v in _THREADS):
    for v in _THREADS:
        os.environ[v] = "1"
