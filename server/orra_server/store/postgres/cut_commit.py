"""What became of a commit whose connection went while it was under way.

The client cannot know whether a ``COMMIT`` it sent happened when the connection drops before
the answer comes. PostgreSQL can tell: ``pg_xact_status`` of the transaction's id, asked on a
new session. The writer reads every transaction's id in its first round trip
(``pg_current_xact_id()``, PostgreSQL 13 or newer) so that it can ask.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import psycopg

__all__ = ["outcome_of"]

log = logging.getLogger("orra.store")


def outcome_of(
    transaction: str, connect: Callable[[], psycopg.Connection], idle_timeout: float
) -> tuple[psycopg.Connection | None, str | None]:
    """A new session (``connect()``) and what it says of ``transaction``: ``"committed"``,
    ``"aborted"``, or None when no session could be had. The old session's transaction ends
    within the server's idle-in-transaction timeout (``idle_timeout``), so "in progress" is
    asked again until then; each question is its own snapshot."""
    deadline = time.monotonic() + idle_timeout + 1.0
    try:
        connection = connect()
    except psycopg.Error as exc:
        log.warning("a commit was cut off; its outcome cannot be read (%s)", exc)
        return None, None
    try:
        while True:
            try:
                found = connection.execute(
                    "SELECT pg_xact_status(%s::xid8)", (transaction,)
                ).fetchone()
            finally:  # a fresh snapshot each time, and no transaction left open
                with contextlib.suppress(psycopg.Error):
                    connection.rollback()
            status = found[0] if found else None
            if status != "in progress" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    except psycopg.Error as exc:
        log.warning("a commit was cut off; its outcome cannot be read (%s)", exc)
        return connection, None
    log.warning("a commit was cut off by the connection; the database says: %s", status)
    return connection, status
