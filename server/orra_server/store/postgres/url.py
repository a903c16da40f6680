"""Telling a PostgreSQL URL from a DuckDB path, showing one without its password, and the
limits every session connects with.

No psycopg here: the control plane asks this before it knows whether it needs the driver.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["CONNECT_LIMITS", "is_postgres_url", "password_of", "safe_url", "shown_db"]

_SCHEMES = ("postgresql://", "postgres://")

#: how long connecting may take, and TCP keepalives, so a database host that vanished (no
#: reset, no answer) fails a commit or a read in seconds, not after the kernel's minutes
CONNECT_LIMITS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def is_postgres_url(target: str) -> bool:
    """Whether ``--db`` names a PostgreSQL server rather than a DuckDB file."""
    return target.lower().startswith(_SCHEMES)


def safe_url(url: str) -> str:
    """The URL without its password or query (``postgresql://user@host:port/db``)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def shown_db(target: str) -> str:
    """What a log line or a banner may say of ``--db``: a path as it is, a URL without its
    password."""
    return safe_url(target) if is_postgres_url(target) else target


def password_of(url: str) -> str | None:
    """The URL's password, for the log filter to cut out of every line."""
    return urlsplit(url).password
