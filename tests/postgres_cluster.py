"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary folder,
a free loopback port, stopped at the end of the session.

``initdb`` refuses to run as root, so as root every server command runs as the ``postgres``
user (Debian's package creates it) in a folder that user owns. Where no server is installed the
tests that need one skip, saying how to enable them; under ``CI=true`` they fail instead, since
CI installs the server (``.ci/run``).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from helpers import free_port

__all__ = ["PostgresCluster", "server_binaries"]

#: how to get a server where none is installed (the skip message says it)
INSTALL_HINT = "apt-get install -y postgresql (Debian's server; the tests start their own cluster)"


def server_binaries() -> Path | None:
    """The folder of ``pg_ctl``/``initdb``/``postgres``: Debian keeps them off the PATH, under
    ``/usr/lib/postgresql/<major>/bin``; the newest major wins."""
    found = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        major = re.fullmatch(r"[0-9]+", candidate.parent.name, re.ASCII)
        if major and (candidate / "initdb").exists():
            found.append((int(candidate.parent.name), candidate))
    if found:
        return max(found)[1]
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PostgresCluster:
    """One server on 127.0.0.1 with trust authentication (a throwaway for tests only)."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        """``durable``: PostgreSQL's own fsync settings (for benchmarks); otherwise a
        throwaway's (the machine's disk is not under test)."""
        self.binaries = binaries
        self.durable = durable
        self.port = free_port()
        # not under pytest's 0700 tmp folders: the postgres user must reach its data folder
        self.root = Path(tempfile.mkdtemp(prefix="orra-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        command = [str(self.binaries / argv[0]), *argv[1:]]
        user = "postgres" if self._as_postgres else None
        done = subprocess.run(
            command, user=user, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> PostgresCluster:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c max_connections=300",
                # a throwaway cluster: durability of the machine's disk is not under test
                *([] if self.durable else ["-c fsync=off", "-c full_page_writes=off"]),
            ]
        )
        self._options = options
        self.start_server()
        return self

    def start_server(self) -> None:
        """The server up on the cluster's data (after :meth:`start`'s ``initdb``)."""
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options, "-l", log, "-w", "start")

    def stop_server(self) -> None:
        """The server down, its data kept (an outage): :meth:`start_server` brings it back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_or_skip() -> PostgresCluster:
    """A started cluster; a skip (a failure under ``CI=true``) where no server is installed."""
    binaries = server_binaries()
    if binaries is None:
        message = f"PostgreSQL tests need a server: {INSTALL_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing: pip install -e '.[dev]' installs it")
    return PostgresCluster(binaries).start()
