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

#: SQLSTATEs that say the server is away or went away: class 08 (connection exceptions) and
#: 57P01-57P05 (shut down by an administrator or a crash, starting up, gone, session idle too
#: long). A lock or statement timeout, a deadlock or a serialization failure is none of these.
_AWAY_STATES = ("57P01", "57P02", "57P03", "57P04", "57P05")


def _away(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):  # no connection could be had in time
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    # no SQLSTATE: libpq's own failure (refused, reset, "server closed the connection")
    return state is None or state.startswith("08") or state in _AWAY_STATES


def as_unavailable(exc: BaseException) -> BaseException:
    """``exc`` as the caller should see it: the database being away as a 503, the rest as is."""
    if _away(exc):
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
