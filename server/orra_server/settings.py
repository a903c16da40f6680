"""Control-plane settings: flags > ``ORRA_*`` environment > defaults."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.limits import MAX_REQUEST_BYTES

__all__ = [
    "LLMSettings",
    "SettingError",
    "Settings",
    "db_memory_limit",
    "byte_size",
    "db_threads",
    "default_db_path",
    "whole_number",
]

#: DuckDB's buffer pool and working memory (its own default is 80 % of the machine's RAM,
#: which it keeps once it has used it): ``ORRA_DB_MEMORY_LIMIT``
DEFAULT_DB_MEMORY_LIMIT = "512MB"
#: threads DuckDB may use for one query: ``ORRA_DB_THREADS``
DEFAULT_DB_THREADS = 2
_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
_SIZE = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,3}))? ?([A-Za-z]{1,3})", re.ASCII)
#: below this DuckDB fails ordinary queries (it needs a few buffers per thread)
MIN_DB_MEMORY = 64 * 1024**2
#: DuckDB refuses sizes that overflow its counters
MAX_DB_MEMORY = 1024 * 1024**4


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the setting and the fix."""


def db_memory_limit(text: str, name: str = "ORRA_DB_MEMORY_LIMIT") -> str:
    """``512MB``, ``1GiB``, ``1.5GB``: a size DuckDB accepts (ASCII digits, one unit), at
    least 64 MiB; returned as DuckDB spells it."""
    size = _with_unit(text.strip(), name)
    if size < MIN_DB_MEMORY:
        raise SettingError(f"{name}={text[:40]!r} is too small; give at least 64MiB")
    if size > MAX_DB_MEMORY:
        raise SettingError(f"{name}={text[:40]!r} is too large; give at most 1024TiB")
    return f"{size // 1024}KiB"


def db_threads(text: str, name: str = "ORRA_DB_THREADS") -> int:
    """A whole number of threads from 1 to 256 (ASCII digits only)."""
    return whole_number(text, name, 1, 256)


#: unfinished orchestrations one project may hold (``ORRA_MAX_UNFINISHED``)
DEFAULT_MAX_UNFINISHED = 10_000
#: bytes of request data those may hold in memory (``ORRA_MAX_UNFINISHED_BYTES``)
DEFAULT_MAX_UNFINISHED_BYTES = "512MiB"


def whole_number(text: str, name: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, in ASCII digits (``_`` between groups allowed)."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,9}|[0-9]{1,3}(?:_[0-9]{3}){1,3}", text, re.ASCII) or not (
        low <= int(text) <= high
    ):
        raise SettingError(f"{name}={text[:40]!r} must be a whole number from {low} to {high:,}")
    return int(text)


def seconds(text: str, name: str, low: float, high: float) -> float:
    """Seconds from ``low`` to ``high``, in ASCII digits with an optional decimal part
    (``float`` would also take ``nan``, ``inf`` and other scripts' digits)."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,6}(?:\.[0-9]{1,6})?", text, re.ASCII) or not (
        low <= float(text) <= high
    ):
        raise SettingError(
            f"{name}={text[:40]!r} must be a number of seconds from {low:g} to {high:g}"
        )
    return float(text)


def seconds_env(name: str, default: float, low: float, high: float) -> float:
    """``name`` from the environment (``default`` when unset), by :func:`seconds`."""
    value = os.environ.get(name)
    return seconds(value, name, low, high) if value else float(default)


def _with_unit(text: str, name: str) -> int:
    """Bytes of a number and a unit (``512MiB``, ``1.5GB``), ASCII digits only."""
    found = _SIZE.fullmatch(text)
    unit = _UNITS.get(found.group(3).upper()) if found else None
    if found is None or unit is None:
        raise SettingError(
            f"{name}={text[:40]!r} is not a size; write a number and a unit, like 512MiB or "
            "2GB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    whole, fraction = found.group(1), found.group(2) or ""
    scale = 10 ** len(fraction)
    return (int(whole) * scale + int(fraction or 0)) * unit // scale


def byte_size(text: str, name: str, low: int = 1, high: int = 1024**5) -> int:
    """Bytes: ASCII digits, or a number and a unit (``512MiB``, ``1.5GB``)."""
    text = text.strip()
    size = int(text) if re.fullmatch(r"[0-9]{1,16}", text, re.ASCII) else _with_unit(text, name)
    if not low <= size <= high:
        raise SettingError(f"{name}={text[:40]!r} must be from {low:,} to {high:,} bytes")
    return size


def default_db_path() -> str:
    return os.environ.get("ORRA_DB") or str(Path.home() / ".orra" / "orra.duckdb")


def _env(*names: str, default: str | None = None) -> str | None:
    """The first of ``names`` set (and non-empty) in the environment."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


def _flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


#: the longest wait a setting in seconds may ask for
_WEEK = 7 * 86_400


def choice_env(name: str, default: str, others: tuple[str, ...]) -> str:
    """``name`` from the environment (``default`` when unset): one of ``default`` and
    ``others``, in any case."""
    text = (os.environ.get(name) or default).strip().lower()
    allowed = (default, *others)
    if text not in allowed:
        raise SettingError(f"{name}={text[:40]!r} must be one of {', '.join(allowed)}")
    return text


def _seconds(name: str, default: float, low: float, high: float) -> Any:
    """A settings field read from ``name`` by :func:`seconds_env` when the settings are made."""
    return field(default_factory=lambda: seconds_env(name, default, low, high))


def _count(name: str, default: int, low: int, high: int) -> Any:
    """A settings field read from ``name`` by :func:`whole_number_env`."""
    return field(default_factory=lambda: whole_number_env(name, default, low, high))


def whole_number_env(name: str, default: int, low: int, high: int) -> int:
    """``name`` from the environment (``default`` when unset), by :func:`whole_number`."""
    value = os.environ.get(name)
    return whole_number(value, name, low, high) if value else default


@dataclass
class LLMSettings:
    """An OpenAI-compatible chat-completions endpoint for the LLM planner.

    The LLM planner is on when a model is named (``ORRA_LLM_MODEL``) or an ``ORRA_LLM_*`` base URL
    or key is set; ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` fill in the key and URL but do not turn
    it on by themselves, so a stray OpenAI key never makes the offline default call out.
    """

    base_url: str | None = field(
        default_factory=lambda: _env("ORRA_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    model: str | None = field(default_factory=lambda: _env("ORRA_LLM_MODEL"))
    api_key: str | None = field(default_factory=lambda: _env("ORRA_LLM_API_KEY", "OPENAI_API_KEY"))
    #: seconds for one chat-completions call before it counts as timed out
    timeout: float = _seconds("ORRA_LLM_TIMEOUT", 60, 0.1, 3600)
    #: further attempts after a timeout, connection error, 429 or 5xx (with backoff)
    retries: int = _count("ORRA_LLM_RETRIES", 2, 0, 10)
    #: rounds in which an invalid plan goes back to the LLM with the validator's errors
    repair_rounds: int = _count("ORRA_PLAN_REPAIR_ROUNDS", 2, 0, 10)
    #: ``auto`` (try ``response_format`` json_schema, drop it if the endpoint refuses), ``on``,
    #: or ``off`` (ask for a fenced JSON block)
    structured_output: str = field(
        default_factory=lambda: choice_env("ORRA_LLM_STRUCTURED_OUTPUT", "auto", ("on", "off"))
    )
    temperature: float = 0.0
    enabled: bool = field(
        default_factory=lambda: (
            bool(_env("ORRA_LLM_MODEL", "ORRA_LLM_BASE_URL", "ORRA_LLM_API_KEY"))
            and _env("ORRA_PLANNER") != "schema-flow"
        )
    )

    def resolved_model(self) -> str:
        return self.model or "gpt-4o-mini"


@dataclass
class Settings:
    db_path: str = field(default_factory=default_db_path)
    #: seconds between application-level pings to each service socket
    ping_interval: float = _seconds("ORRA_PING_INTERVAL", 15, 0.1, 3600)
    #: seconds a service may leave a websocket-level ping unanswered before its socket is
    #: closed: long, because an orra Python SDK handler that blocks its event loop answers none
    #: (a busy service is not a dead one; the step timeout covers one that never answers)
    ws_ping_timeout: float = _seconds("ORRA_WS_PING_TIMEOUT", 180, 1, 86_400)
    #: sockets one service may hold open, and one project (all its services): a socket past
    #: either is refused before the upgrade with HTTP 429 (docs/security.md)
    max_instances_per_service: int = _count("ORRA_MAX_INSTANCES_PER_SERVICE", 100, 1, 100_000)
    max_sockets_per_project: int = _count("ORRA_MAX_SOCKETS_PER_PROJECT", 1000, 1, 1_000_000)
    #: seconds a new socket may stay silent — no frame, no websocket pong — before it is
    #: closed (4002); the keep-alive ping goes every third of it, at most every 20 s
    ws_silent_grace: float = field(
        default_factory=lambda: float(whole_number_env("ORRA_WS_SILENT_GRACE", 30, 2, 3600))
    )
    #: largest task input we will send: the orra Python SDK drops frames over 10,487,808 bytes
    max_task_frame_bytes: int = 10_487_808
    #: largest request body we accept on the REST API
    max_request_bytes: int = MAX_REQUEST_BYTES
    #: default step duration (seconds) used for estimates before we have measurements
    default_step_seconds: float = 1.0
    #: tasks an instance of the original orra SDKs (which send the key in the URL) may hold at
    #: once: they read at most 32 frames ahead of a busy handler (0: no limit)
    legacy_instance_capacity: int = _count("ORRA_LEGACY_CAPACITY", 16, 0, 100_000)
    #: how long a step waits for its service to come online before it fails
    offline_grace_seconds: float = _seconds("ORRA_OFFLINE_GRACE", 300, 0, _WEEK)
    #: seconds one attempt of a step may run (generous: agents call LLMs)
    step_timeout_seconds: float = _seconds("ORRA_STEP_TIMEOUT", 300, 0.1, _WEEK)
    #: dispatches of one step in all (the first included) before it fails
    retry_max_attempts: int = _count("ORRA_RETRY_ATTEMPTS", 5, 1, 1000)
    #: backoff before the first retry; doubles (``retry_backoff``) up to ``retry_max_delay``
    retry_initial_delay: float = _seconds("ORRA_RETRY_DELAY", 0.5, 0, 3600)
    retry_backoff: float = 2.0
    retry_max_delay: float = _seconds("ORRA_RETRY_MAX_DELAY", 30, 0, 86_400)
    #: attempts to deliver one webhook before it is marked failed
    webhook_attempts: int = _count("ORRA_WEBHOOK_ATTEMPTS", 8, 1, 1000)
    #: backoff before the second delivery attempt; doubles up to ``webhook_max_delay``
    webhook_initial_delay: float = _seconds("ORRA_WEBHOOK_DELAY", 1, 0, 3600)
    webhook_max_delay: float = _seconds("ORRA_WEBHOOK_MAX_DELAY", 300, 0, 86_400)
    #: attempts of one compensation (orra's value) and seconds each may take
    compensation_attempts: int = _count("ORRA_COMPENSATION_ATTEMPTS", 10, 1, 1000)
    compensation_timeout_seconds: float = _seconds("ORRA_COMPENSATION_TIMEOUT", 30, 0.1, _WEEK)
    #: replicas on PostgreSQL (docs/scale-out.md): seconds between heartbeats, and how long a
    #: replica may stay silent before the others declare it dead and take over its runs
    #: seconds between keep-alives on a quiet event stream (proxies close idle connections)
    stream_keepalive_seconds: float = _seconds("ORRA_STREAM_KEEPALIVE", 15.0, 0.1, 300)
    replica_heartbeat_seconds: float = _seconds("ORRA_REPLICA_HEARTBEAT", 1.0, 0.1, 60)
    replica_dead_after_seconds: float = _seconds("ORRA_REPLICA_DEAD_AFTER", 10.0, 1, 3600)
    #: deliver webhooks to loopback/private/link-local addresses too (local development, the
    #: embedded notebook/demo server, tests); off by default: docs/security.md
    allow_private_webhooks: bool = field(
        default_factory=lambda: _flag("ORRA_ALLOW_PRIVATE_WEBHOOKS")
    )
    #: when set, creating a project needs ``Authorization: Bearer <admin token>``
    admin_token: str | None = field(default_factory=lambda: _env("ORRA_ADMIN_TOKEN"))
    llm: LLMSettings = field(default_factory=LLMSettings)
    #: plans kept in the plan cache (per control plane, least recently used dropped first)
    plan_cache_size: int = 4096
    #: DuckDB's ``memory_limit`` (as DuckDB spells it) and ``threads``; beyond the limit it
    #: spills to a temporary directory next to the database (docs/reliability.md)
    db_memory_limit: str = field(
        default_factory=lambda: db_memory_limit(
            _env("ORRA_DB_MEMORY_LIMIT", default=DEFAULT_DB_MEMORY_LIMIT) or ""
        )
    )
    db_threads: int = field(
        default_factory=lambda: db_threads(
            _env("ORRA_DB_THREADS", default=str(DEFAULT_DB_THREADS)) or ""
        )
    )
    #: unfinished orchestrations one project may hold, and bytes of their request data (action,
    #: data, plan): past either, new runs are refused with 429 ``too_many_unfinished``
    max_unfinished: int = field(
        default_factory=lambda: whole_number(
            _env("ORRA_MAX_UNFINISHED", default=str(DEFAULT_MAX_UNFINISHED)) or "",
            "ORRA_MAX_UNFINISHED",
            1,
            10_000_000,
        )
    )
    max_unfinished_bytes: int = field(
        default_factory=lambda: byte_size(
            _env("ORRA_MAX_UNFINISHED_BYTES", default=DEFAULT_MAX_UNFINISHED_BYTES) or "",
            "ORRA_MAX_UNFINISHED_BYTES",
            low=1024,
        )
    )

    def __post_init__(self) -> None:
        heartbeat, dead_after = self.replica_heartbeat_seconds, self.replica_dead_after_seconds
        if dead_after < 3 * heartbeat:  # a replica must miss several heartbeats to be dead
            raise SettingError(
                f"ORRA_REPLICA_DEAD_AFTER={dead_after:g} must be at least three heartbeats "
                f"(ORRA_REPLICA_HEARTBEAT={heartbeat:g}): raise it to {3 * heartbeat:g} or more"
            )
