"""The public surface of each package is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from helpers import python_prints


def _pinned() -> dict[str, list[str]]:
    lines = (Path(__file__).parent / "public_api.txt").read_text().splitlines()
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return {module: sorted(names.split()) for module, names in pairs}


@pytest.mark.parametrize("module", sorted(_pinned()))
def test_exports(module: str):
    assert sorted(importlib.import_module(module).__all__) == _pinned()[module]


def test_demo_command_runs_the_seed_example_offline(tmp_path):
    """``orra demo`` end to end, as a newcomer runs it (its own process, no key, no network)."""
    import subprocess
    import sys

    db = tmp_path / "demo.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "orra_studio", "demo", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "COMPLETED" in out.stdout
    assert "[step1, step2, step3]  →  [step4]" in out.stdout
    assert "Premium Analytics Suite" in out.stdout
    assert db.exists()


def test_the_cli_and_client_load_no_server_or_notebook_code():
    """``orra ps`` starts fast and works without the notebook extra installed."""
    code = (
        "import sys, orra_studio, orra_studio.cli\n"
        "print([m for m in ('fastapi', 'duckdb', 'orra_server', 'uvicorn', 'IPython', "
        "'ipywidgets', 'pandas') if m in sys.modules])\n"
    )
    assert python_prints(code) == "[]"
