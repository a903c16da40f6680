"""``python -m orra_server [--host H] [--port P] [--db PATH]``: the control plane alone."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import uvicorn

from . import Settings, create_app
from .limits import MAX_FRAME_BYTES
from .settings import default_db_path


def main() -> None:
    parser = argparse.ArgumentParser(prog="orra_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8005)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    settings = Settings(db_path=args.db or default_db_path())
    serve(settings, host=args.host, port=args.port)


def check_database(path: str) -> None:
    """Fail in one line, before the server starts, when the file is not a usable database.

    Opened and closed again here, before the server opens it: never while it is open.
    """
    if path == ":memory:":
        return
    file = Path(path).expanduser()
    if not file.exists():
        return
    try:
        duckdb.connect(str(file)).close()
    except duckdb.Error as exc:
        message = str(exc).removeprefix("IO Error: ")
        raise SystemExit(
            f"error: cannot open the database {file}: {message} (choose another file with "
            "--db or ORRA_DB; is another orra process using it?)"
        ) from None


def serve(settings: Settings, *, host: str, port: int, log_level: str = "warning") -> None:
    check_database(settings.db_path)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the /ws query string carries the API key: keep it out of logs
        ws_max_size=MAX_FRAME_BYTES,
        ws_per_message_deflate=False,  # small JSON frames: compression costs more than it saves
        ws_ping_interval=20.0,
        ws_ping_timeout=settings.ws_ping_timeout,
    )


if __name__ == "__main__":
    main()
