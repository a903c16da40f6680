"""Style is part of CI: `.ci/run` runs ruff before the tests, and so does the suite itself."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_ci_runs_the_style_checks_before_the_tests():
    script = (ROOT / ".ci" / "run").read_text()
    assert "ruff check ." in script and "ruff format --check ." in script
    assert script.index("ruff check") < script.index("python -m pytest")


def test_the_tree_is_ruff_clean():
    for command in (["check", "."], ["format", "--check", "."]):
        run = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
