"""Shared set-up: the repo root and scripts/ importable, names.txt present, plots headless."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]
os.environ.setdefault("MPLBACKEND", "Agg")

from lib.cli import run  # noqa: E402
from lib.data import ensure_names  # noqa: E402


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
