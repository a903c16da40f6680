from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import Api, ServerProcess


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real control plane (uvicorn, own process, DuckDB file) for the whole session."""
    db = tmp_path_factory.mktemp("live") / "orra.duckdb"
    server = ServerProcess(db).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    return tmp_path / "orra.duckdb"


@pytest.fixture(autouse=True)
def _close_api_clients() -> Iterator[None]:
    yield
    while Api.opened:
        Api.opened.pop().close()
