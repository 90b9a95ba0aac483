"""Shared set-up: the repo root and scripts/ importable, names.txt present, plots headless."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]
os.environ.setdefault("MPLBACKEND", "Agg")
if os.path.exists(os.path.join(ROOT, "data", "names.txt")):  # copies of the repo that tests make find it
    os.environ.setdefault("NAMES_TXT", os.path.join(ROOT, "data", "names.txt"))

from lib.cli import run
from lib.data import ensure_names


@pytest.fixture(scope="session")
def names_txt():
    return ensure_names()


@pytest.fixture
def call(capsys):
    """Run a script's main(argv) like the shell would: returns (exit code, stdout, stderr)."""
    def call(main, *argv):
        code = run(main, [str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return call
