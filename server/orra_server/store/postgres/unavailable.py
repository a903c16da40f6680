"""PostgreSQL going away is an answer for the caller, not an internal error: a read or a write
that cannot reach the database becomes :class:`~orra_server.core.errors.DatabaseUnavailable`
(HTTP 503 with ``Retry-After``), never a 500 with a psycopg traceback in the log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import PoolTimeout

from ...core.errors import DatabaseUnavailable

__all__ = ["as_unavailable", "reachable"]

#: what "the database cannot be reached" looks like from psycopg and its pool (a lock or
#: statement timeout is an OperationalError too, but not one of these)
_AWAY = (
    psycopg.errors.ConnectionException,  # 08…: the connection failed or was lost
    psycopg.errors.AdminShutdown,  # 57P01: the server is shutting down, or ended this session
    psycopg.errors.CrashShutdown,  # 57P02
    psycopg.errors.CannotConnectNow,  # 57P03: the server is starting up
    PoolTimeout,  # no connection could be had in time
)


def as_unavailable(exc: BaseException) -> BaseException:
    """``exc`` as the caller should see it: the database being away as a 503, the rest as is."""
    if isinstance(exc, _AWAY) or (
        isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None
    ):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatabaseUnavailable(
            f"the database cannot be reached now ({reason[:200]}); try again in a moment"
        )
    return exc


@contextmanager
def reachable() -> Iterator[None]:
    """Turn the database being away, inside the block, into :class:`DatabaseUnavailable`."""
    try:
        yield
    except psycopg.Error as exc:
        mapped = as_unavailable(exc)
        if mapped is exc:
            raise
        raise mapped from exc
