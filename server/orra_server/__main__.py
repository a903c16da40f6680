"""``python -m orra_server [--host H] [--port P] [--db PATH]``: the control plane alone."""

from __future__ import annotations

import argparse

from .serving import serve
from .settings import Settings, default_db_path


def main() -> None:
    parser = argparse.ArgumentParser(prog="orra_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8005)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    settings = Settings(db_path=args.db or default_db_path())
    serve(settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
