"""``python -m orra_server [--host H] [--port P] [--db PATH]``: the control plane alone."""

from __future__ import annotations

import argparse

from .serving import StartupError, serve
from .settings import SettingError, Settings, default_db_path


def main() -> None:
    parser = argparse.ArgumentParser(prog="orra_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8005)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    try:
        settings = Settings(db_path=args.db or default_db_path())
    except SettingError as exc:
        raise StartupError(str(exc)) from None
    serve(settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
