"""The public surface of each package is pinned: changing it is a deliberate act."""

from __future__ import annotations

import orra_sdk
import orra_server
import orra_studio


def test_server_exports():
    assert sorted(orra_server.__all__) == ["Settings", "__version__", "create_app"]


def test_sdk_exports():
    assert sorted(orra_sdk.__all__) == [
        "Agent",
        "OrraError",
        "RegistrationError",
        "Service",
        "Task",
        "TaskAborted",
        "__version__",
        "run_forever",
    ]


def test_studio_exports():
    assert sorted(orra_studio.__all__) == [
        "ApiError",
        "AsyncClient",
        "BadRequest",
        "Client",
        "ConfigError",
        "Conflict",
        "NotFound",
        "OrchestrationTimeout",
        "OrraError",
        "ServerUnreachable",
        "Unauthorized",
        "__version__",
    ]


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
    import subprocess
    import sys

    code = (
        "import sys, orra_studio, orra_studio.cli\n"
        "print([m for m in ('fastapi', 'duckdb', 'orra_server', 'uvicorn', 'IPython', "
        "'ipywidgets', 'pandas') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_notebook_exports():
    from orra_studio import notebook

    assert sorted(notebook.__all__) == [
        "OrchestrationResult",
        "OrraMagics",
        "PlanPreview",
        "RunProgress",
        "load_ipython_extension",
        "unload_ipython_extension",
    ]
