"""Every number the control plane reads from its environment or command line goes through an
explicit ASCII grammar with bounds: ``float`` takes ``nan``, ``inf`` and ``1e999``, ``int``
takes other scripts' digits, and a ``nan`` step timeout never fires."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orra_server.settings import LLMSettings, SettingError, Settings

ROOT = Path(__file__).resolve().parents[1]

#: variable → (the settings object it lands on, the field, a good value, what it reads as)
NUMBERS = {
    "ORRA_LLM_TIMEOUT": (LLMSettings, "timeout", "12.5", 12.5),
    "ORRA_LLM_RETRIES": (LLMSettings, "retries", "3", 3),
    "ORRA_PLAN_REPAIR_ROUNDS": (LLMSettings, "repair_rounds", "0", 0),
    "ORRA_PING_INTERVAL": (Settings, "ping_interval", "0.5", 0.5),
    "ORRA_WS_PING_TIMEOUT": (Settings, "ws_ping_timeout", "180", 180.0),
    "ORRA_LEGACY_CAPACITY": (Settings, "legacy_instance_capacity", "0", 0),
    "ORRA_OFFLINE_GRACE": (Settings, "offline_grace_seconds", "0", 0.0),
    "ORRA_STEP_TIMEOUT": (Settings, "step_timeout_seconds", "10", 10.0),
    "ORRA_RETRY_ATTEMPTS": (Settings, "retry_max_attempts", "1", 1),
    "ORRA_RETRY_DELAY": (Settings, "retry_initial_delay", "0.05", 0.05),
    "ORRA_RETRY_MAX_DELAY": (Settings, "retry_max_delay", "0.2", 0.2),
    "ORRA_WEBHOOK_ATTEMPTS": (Settings, "webhook_attempts", "200", 200),
    "ORRA_WEBHOOK_DELAY": (Settings, "webhook_initial_delay", "0.05", 0.05),
    "ORRA_WEBHOOK_MAX_DELAY": (Settings, "webhook_max_delay", "0.3", 0.3),
    "ORRA_COMPENSATION_ATTEMPTS": (Settings, "compensation_attempts", "2", 2),
    "ORRA_COMPENSATION_TIMEOUT": (Settings, "compensation_timeout_seconds", "5", 5.0),
}

#: what ``float`` or ``int`` would have taken, and no setting may
BAD = ["nan", "inf", "-inf", "1e3", "1e999", "-1", "²", "٣", "0x10", "ten", "9" * 20]


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_each_number_setting_reads_ascii_within_bounds(name: str, monkeypatch) -> None:
    made, field, good, value = NUMBERS[name]
    monkeypatch.setenv(name, good)
    assert getattr(made(), field) == value
    for bad in BAD:
        monkeypatch.setenv(name, bad)
        with pytest.raises(SettingError, match=f"^{name}="):
            made()
    monkeypatch.delenv(name)
    made()  # unset: the default, which is within its own bounds


def test_structured_output_is_one_of_three_words(monkeypatch) -> None:
    monkeypatch.setenv("ORRA_LLM_STRUCTURED_OUTPUT", " Off ")
    assert LLMSettings().structured_output == "off"
    monkeypatch.setenv("ORRA_LLM_STRUCTURED_OUTPUT", "json")
    with pytest.raises(SettingError, match="must be one of auto, on, off"):
        LLMSettings()


@pytest.mark.parametrize(
    ("arguments", "environment", "said"),
    [
        (["--llm-timeout", "nan"], {}, "error: --llm-timeout='nan' must be a number of seconds"),
        (["--repair-rounds", "٣"], {}, "error: --repair-rounds='٣' must be a whole number"),
        ([], {"ORRA_LLM_RETRIES": "inf"}, "error: ORRA_LLM_RETRIES='inf' must be a whole number"),
        ([], {"ORRA_STEP_TIMEOUT": "nan"}, "error: ORRA_STEP_TIMEOUT='nan' must be a number"),
    ],
)
def test_a_bad_number_stops_orra_serve_in_one_line(
    tmp_path: Path, arguments: list[str], environment: dict[str, str], said: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    database = tmp_path / "x.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "orra_studio.cli", "serve", "--db", str(database), *arguments],
        env={**clean, **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(said), done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()  # stopped before opening anything


def test_a_replica_must_miss_three_heartbeats_to_be_dead(monkeypatch) -> None:
    monkeypatch.setenv("ORRA_REPLICA_HEARTBEAT", "5")
    monkeypatch.setenv("ORRA_REPLICA_DEAD_AFTER", "6")
    with pytest.raises(SettingError, match="at least three heartbeats .* raise it to 15 or more"):
        Settings()
    monkeypatch.setenv("ORRA_REPLICA_DEAD_AFTER", "15")
    assert Settings().replica_dead_after_seconds == 15.0
