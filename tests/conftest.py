from __future__ import annotations

import os
import signal
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from busy_scenario import BusyScenario
from helpers import Api, ServerProcess
from postgres_cluster import PostgresCluster, start_or_skip

# a test sets the terminal's width itself (COLUMNS) where it matters; a width inherited from the
# runner (pytest-xdist workers get COLUMNS/LINES) would be fixed in the CLI's consoles at import
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

# the Ctrl-C tests send SIGINT to services and CLIs started here, as a terminal would; a shell
# that runs pytest in the background (`nohup … &`) starts it with SIGINT ignored, which every
# child would inherit (Python then installs no KeyboardInterrupt): let children start as from a
# terminal (a handled signal, unlike an ignored one, is reset to the default at exec)
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real control plane (uvicorn, own process, DuckDB file) for the whole session."""
    db = tmp_path_factory.mktemp("live") / "orra.duckdb"
    server = ServerProcess(db).start()
    yield server
    server.stop()


# -- soak tests: long waits that overlap the rest of the suite instead of adding to it
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run soak tests last: their scenario has been running in the background since the
    session started, so by then there is little or nothing left to wait for."""
    items.sort(key=lambda item: item.get_closest_marker("soak") is not None)


@pytest.fixture(scope="session", autouse=True)
def _soaks_started(request: pytest.FixtureRequest) -> None:
    """Start the scenario of every selected soak test now. Under xdist each worker starts its
    own, because which worker will run the soak test is not known yet: the spare one is mostly
    waiting too, and costs a few seconds of start-up, not the soak's minutes."""
    for item in request.session.items:
        marker = item.get_closest_marker("soak")
        if marker is not None:
            try:
                request.getfixturevalue(marker.args[0])
            except pytest.skip.Exception:
                pass  # e.g. orra-sdk not fetchable: kept, so that test alone is skipped


@pytest.fixture(scope="session")
def busy_services(
    tmp_path_factory: pytest.TempPathFactory, orra_sdk_python: str
) -> Iterator[BusyScenario]:
    scenario = BusyScenario(tmp_path_factory.mktemp("busy"), orra_sdk_python)
    try:
        yield scenario.start()
    finally:
        scenario.stop()


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    return tmp_path / "orra.duckdb"


@pytest.fixture(autouse=True)
def _close_api_clients() -> Iterator[None]:
    yield
    while Api.opened:
        Api.opened.pop().close()


# -- the original orra-sdk 0.2.4, in a virtualenv of its own (it pins httpx<0.27, websockets<13)
ORRA_SDK = "orra-sdk==0.2.4"
CACHE = Path(os.environ.get("ORRA_TEST_CACHE", Path.home() / ".cache" / "orra-studio"))


@pytest.fixture(scope="session")
def orra_sdk_python() -> str:
    env_dir = CACHE / "venv-orra-sdk-0.2.4"
    python = env_dir / "bin" / "python"
    marker = env_dir / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(CACHE / "venv-orra-sdk.lock"):  # test workers share it: one builds it
        _install_orra_sdk(env_dir, python, marker)
    check = subprocess.run(
        [str(python), "-c", "import orra, httpx, websockets; print(websockets.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip().startswith("12."), check.stdout
    return str(python)


def _install_orra_sdk(env_dir: Path, python: Path, marker: Path) -> None:
    if marker.exists():
        return
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    fetched = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", ORRA_SDK],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if fetched.returncode != 0:
        why = (fetched.stderr.strip().splitlines() or ["pip failed"])[-1]
        if os.environ.get("CI"):  # CI has the package registry: a failure is real
            pytest.fail(f"could not install {ORRA_SDK} for the compatibility tests: {why}")
        pytest.skip(f"{ORRA_SDK} could not be fetched (no package index here?): {why}")
    marker.write_text(ORRA_SDK)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server per test process, started when a test first needs it;
    each test takes a database of its own (``cluster.new_database()``)."""
    cluster = start_or_skip()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database(postgres_cluster: PostgresCluster) -> str:
    """A fresh PostgreSQL database of its own; its URL."""
    return postgres_cluster.new_database()
