"""Control-plane settings: flags > ``ORRA_*`` environment > defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "default_db_path"]


def default_db_path() -> str:
    return os.environ.get("ORRA_DB") or str(Path.home() / ".orra" / "orra.duckdb")


@dataclass
class Settings:
    db_path: str = field(default_factory=default_db_path)
    #: seconds between application-level pings to each service socket
    ping_interval: float = field(
        default_factory=lambda: float(os.environ.get("ORRA_PING_INTERVAL", "15"))
    )
    #: largest task input we will send: the orra Python SDK drops frames over 10,487,808 bytes
    max_task_frame_bytes: int = 10_487_808
    #: largest request body we accept on the REST API
    max_request_bytes: int = 10 * 1024 * 1024
    #: default step duration (seconds) used for estimates before we have measurements
    default_step_seconds: float = 1.0
    #: how long a step waits for its service to come online before it fails
    offline_grace_seconds: float = 300.0
    #: attempts to deliver one webhook before giving up (full outbox comes later)
    webhook_attempts: int = 3
