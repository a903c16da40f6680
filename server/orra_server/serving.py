"""Running the control plane: its uvicorn settings (one place for ``orra serve`` and the
embedded server) and the checks that make a start-up failure one line."""

from __future__ import annotations

import copy
import errno
import logging
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import uvicorn
import uvicorn.config

from .api import create_app
from .core import redaction
from .core.limits import MAX_FRAME_BYTES
from .settings import Settings
from .store.postgres import is_postgres_url, safe_url, shown_db

__all__ = [
    "StartupError",
    "check_database",
    "check_port",
    "shown_db",
    "logging_config",
    "serve",
    "uvicorn_config",
]


#: after SIGTERM, how long requests in flight may take to finish; a stream (a run's events, the
#: change feed) never finishes, so it is closed then, and its client resumes (Last-Event-ID)
#: from another replica or this one once it is back: a stop takes seconds, not forever
SHUTDOWN_GRACE_SECONDS = 3.0


def uvicorn_config(
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    own_process: bool = False,
) -> uvicorn.Config:
    """``own_process``: ``orra serve``, whose root logger this configures (see
    :func:`logging_config`); the embedded server leaves its host's logging alone."""
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        log_config=logging_config(log_level, own_process=own_process),
        access_log=False,  # the /ws query string carries the API key: keep it out of logs
        ws_max_size=MAX_FRAME_BYTES,
        ws_per_message_deflate=False,  # small JSON frames: compression costs more than it saves
        # a socket that answers a keep-alive ping is confirmed (control/socket_health.py): the
        # first pings must come within ORRA_WS_SILENT_GRACE
        ws_ping_interval=min(20.0, settings.ws_silent_grace / 3),
        ws_ping_timeout=settings.ws_ping_timeout,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


class PeerErrors(logging.Filter):
    """A peer's broken input is one line, not a traceback: uvicorn logs an invalid UTF-8 text
    frame with ``logger.exception`` (and rightly closes the socket with 1007). And streams
    closed at a stop are news, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Cancel %s running task(s), timeout graceful shutdown"):
            # not an error: the streams still open at a stop are closed, and their clients
            # resume (see SHUTDOWN_GRACE_SECONDS)
            record.msg = "stopping: closed %s open request(s) (streams resume elsewhere)"
            record.levelno, record.levelname = logging.INFO, "INFO"
        if record.exc_info and str(record.msg).startswith("Invalid UTF-8 sequence received"):
            record.msg, record.args = (
                "closed a websocket with 1007: the client sent a text frame that is not UTF-8",
                (),
            )
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def logging_config(log_level: str, *, own_process: bool) -> dict[str, Any]:
    """uvicorn's logging configuration, with secrets redacted on its handlers
    (:mod:`.redaction`) and peers' errors on one line (:class:`PeerErrors`).

    In a process of its own (``orra serve``) the root logger writes through uvicorn's handler
    at ``log_level``, so the ``orra.*`` loggers' lines are shown (and redacted) like uvicorn's;
    embedded in someone else's process (a notebook), the root logger is left to its owner.
    """
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {
        "redact": {"()": redaction.KeyRedactor},
        "peer_errors": {"()": PeerErrors},
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["uvicorn.error"]["filters"] = ["peer_errors"]
    if own_process:
        config["root"] = {"handlers": ["default"], "level": log_level.upper()}
    return config


class StartupError(SystemExit):
    """The server cannot start: one line for the operator, exit code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")


def check_database(path: str) -> None:
    """Fail in one line, before the server starts, when the file is not a usable database.

    Opened and closed again here, before the server opens it: never while it is open.
    """
    if path == ":memory:":
        return
    if is_postgres_url(path):
        check_postgres(path)
        return
    file = Path(path).expanduser()
    if not file.exists():
        return
    try:
        duckdb.connect(str(file)).close()
    except duckdb.Error as exc:
        message = str(exc).removeprefix("IO Error: ")
        holder = re.search(r"PID (\d+)", message)
        if "lock" in message.lower() and holder:
            raise StartupError(
                f"the database {file} is in use by process {holder.group(1)}; stop it, or "
                "pass --db (or ORRA_DB) to use another file"
            ) from None
        raise StartupError(
            f"cannot open the database {file}: {message.split(' See also')[0]} (choose another "
            "file with --db or ORRA_DB)"
        ) from None


def check_postgres(url: str) -> None:
    """Fail in one line when the driver is missing, the server cannot be reached, or the
    schema cannot be brought to this version (newer than this orra, or a role that may not
    create tables); the message shows the URL without its password. The schema is migrated
    here, before the server starts, so a replica's own start finds it current."""
    try:
        import psycopg
    except ImportError:
        raise StartupError(
            "a postgresql:// database needs the PostgreSQL driver: "
            "pip install 'orra-studio[postgres]'"
        ) from None
    from .store.postgres.schema import SchemaError, migrate

    try:
        connection = psycopg.connect(url, connect_timeout=10, application_name="orra-migrate")
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise StartupError(
            f"cannot reach PostgreSQL at {safe_url(url)}: {reason.replace(url, safe_url(url))}"
        ) from None
    with connection:
        try:
            migrate(connection)
        except SchemaError as exc:
            raise StartupError(f"PostgreSQL at {safe_url(url)}: {exc}") from None
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StartupError(
                f"cannot prepare the schema in PostgreSQL at {safe_url(url)}: {reason}"
            ) from None


def check_port(host: str, port: int) -> None:
    """Fail in one line when ``host:port`` cannot be listened on (another server holds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise StartupError(
                f"port {port} on {host} {reason}; stop what listens there, or pass --port"
            ) from None


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_started`` once it listens."""

    on_started: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run the control plane until stopped. Raises :class:`StartupError` (exit 1) when the
    database or the port cannot be used; ``on_started`` runs once it listens."""
    check_database(settings.db_path)
    check_port(host, port)
    server = _Server(
        uvicorn_config(settings, host=host, port=port, log_level=log_level, own_process=True)
    )
    server.on_started = on_started
    server.run()
    if not server.started:
        raise StartupError("the control plane did not start; the lines above say why")
