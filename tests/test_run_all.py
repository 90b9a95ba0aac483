"""run_all.sh refuses a Python older than the pins need, in one line, before building anything."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_python_older_than_3_11_is_refused_before_any_set_up(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text('#!/bin/sh\ncase "$2" in\n  *"< (3, 11)"*) exit 1 ;;\n  *) echo 3.10.12 ;;\nesac\n')
    fake.chmod(0o755)
    p = subprocess.run(["bash", os.path.join(ROOT, "run_all.sh"), "test"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHON=str(fake)), timeout=60)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "Python 3.11 or newer is needed" in p.stderr and "3.10.12" in p.stderr
