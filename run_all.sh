#!/usr/bin/env bash
# The README's two commands, each on a fresh machine:
#   ./run_all.sh        set up, then every script in lecture order: plots/ and results.md
#   ./run_all.sh test   set up, then the test suite
# Set-up: a .venv from requirements.txt (made once, again when requirements.txt changes; the
# test command adds requirements-test.txt) and names.txt in data/ (from $NAMES_TXT when set,
# else downloaded and checked by sha256).
set -euo pipefail
cd "$(dirname "$0")"

case "${1:-}" in  # the arguments first: a typo must not cost a .venv build
    ""|test) ;;
    *) echo "error: unknown argument '$1'; use './run_all.sh' (everything) or './run_all.sh test'" >&2; exit 2 ;;
esac

PYTHON="${PYTHON:-python3}"  # the Python that builds .venv: the pinned numpy, scipy and matplotlib need 3.11 or newer
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    found=$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo "none")
    echo "error: Python 3.11 or newer is needed ($PYTHON is $found); install it, or run PYTHON=/path/to/python3.11 $0 ${1:-}" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ] || [ requirements.txt -nt .venv/.installed ]; then
    echo "== setting up .venv from requirements.txt"
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    touch .venv/.installed
fi
PY=.venv/bin/python
# the repository on the venv's path (what `pip install -e` does): practice files and notebooks find lib/ from anywhere
$PY -c 'import site, sys; open(site.getsitepackages()[0] + "/backprop_ninja.pth", "w").write(sys.argv[1] + "\n")' "$PWD"
export MPLBACKEND=Agg PYTHONHASHSEED=0

if [ "${1:-}" = "test" ]; then
    shift
    if [ requirements-test.txt -nt .venv/.installed-test ]; then
        echo "== adding the test requirements to .venv"
        $PY -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
        touch .venv/.installed-test
    fi
    $PY -m flake8 && echo "== flake8: every line within 120 columns (.flake8)"
    $PY scripts/prepare_data.py
    exec $PY -m pytest -q -n 2 tests "$@"  # two workers (pytest-xdist): this machine has two cores
fi

start=$SECONDS
step() {  # run one script, timing it
    local t0=$SECONDS
    echo; echo "== $*"
    $PY "$@"
    echo "   ($((SECONDS - t0)) s)"
}
step scripts/prepare_data.py
for s in ex1_backprop_by_hand ex2_cross_entropy ex3_batchnorm; do
    step scripts/$s.py
done
step scripts/practice.py check tests/grader/corpus/ex4_solution.py   # the grader on a worked exercise 4
for s in train sample gradcheck; do
    step scripts/$s.py
done
echo; echo "== scripts/gradcheck.py --bug   (a planted bug: this run must fail)"
if $PY scripts/gradcheck.py --bug > plots/gradcheck_bug.txt; then
    echo "error: gradcheck.py --bug passed: the checker missed a planted bug" >&2; exit 1
fi
tail -n 3 plots/gradcheck_bug.txt
for s in clamp_bug activation_stats embedding_backward rnn_bptt lstm_bptt rbm_cd lbfgs_2010 defrag_2014 benchmark results; do
    step scripts/$s.py
done
echo; echo "== all done in $((SECONDS - start)) s; plots in plots/"
