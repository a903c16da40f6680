"""The studio inside JupyterLab: a real ``jupyter lab``, the Launcher tile from
``extensions/jupyterlab``, clicked in a real Chromium, proxied by jupyter-server-proxy."""

from __future__ import annotations

import ast
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import browser_page

from helpers import (
    Api,
    ServerProcess,
    free_port,
    new_project,
    python_prints,
    terminate,
    wait_until,
)

pytestmark = pytest.mark.slow


#: Jupyter's own login, on as it is by default
LAB_TOKEN = "lab-" + "t" * 40
LAB = {"Authorization": f"token {LAB_TOKEN}"}


@pytest.fixture
def lab(live_server: ServerProcess, tmp_path: Path) -> Iterator[tuple[str, Api]]:
    try:
        import orra_studio_jupyter  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("orra-studio-jupyter is missing: the README's install command installs it")
        pytest.skip("pip install -e ./extensions/jupyterlab")
    api, project = new_project(live_server.url)
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "ORRA_URL": live_server.url,
        "ORRA_API_KEY": project["apiKey"],
    }
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={LAB_TOKEN}",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={tmp_path}",
            "--LabApp.news_url=",
            "--allow-root",  # CI runs as root
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "lab.log").read_text()[-3000:])
        try:
            return httpx.get(url + "/api/status", headers=LAB, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, 60, "jupyter lab to answer")
        yield url, api
        proc.poll()
    finally:
        terminate(proc, 2, 20)
        log.close()


def test_the_launcher_tile_opens_the_studio_inside_lab(lab, tmp_path: Path):
    url, api = lab
    info = httpx.get(url + "/server-proxy/servers-info", headers=LAB, timeout=10).json()
    (studio,) = [s for s in info["server_processes"] if s["name"] == "orra-studio"]
    assert studio["launcher_entry"]["title"] == "Orra Studio"
    with browser_page(tmp_path) as (page, _watched):
        page.set_default_timeout(60_000)
        page.goto(f"{url}/lab?token={LAB_TOKEN}")
        tile = page.locator(".jp-LauncherCard", has_text="Orra Studio")
        tile.wait_for()
        started = time.monotonic()
        tile.click()
        frame = page.frame_locator("iframe")
        frame.locator(".orra-nav").first.wait_for()
        frame.get_by_text("Executions").first.wait_for()
        page.screenshot(path=str(tmp_path / "lab-studio.png"))
        print(f"\nstudio shown inside Lab {time.monotonic() - started:.1f} s after the click")
    # the proxied studio talks to the configured control plane
    proxied = httpx.get(url + "/orra-studio/executions", headers=LAB, timeout=30)
    assert proxied.status_code == 200 and "Orra Studio" in proxied.text


def _studio_process() -> tuple[int, list[str]]:
    """The ``orra studio`` jupyter-server-proxy started (pid, arguments)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--unix-socket" in args and b"orra_studio" in args:
            found.append((int(proc.name), [a.decode() for a in args if a]))
    assert len(found) == 1, found
    return found[0]


def _listening_tcp(pid: int) -> list[str]:
    """TCP sockets a process listens on (its socket inodes among /proc/net/tcp's LISTENs)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                listening.append(fields[1])
    return listening


def test_the_launcher_studio_answers_only_through_jupyters_login(lab):
    url, _api = lab
    # Jupyter's login stands in front: no Jupyter token, no studio
    refused = httpx.get(url + "/orra-studio/executions", timeout=30)
    assert refused.status_code in (302, 403), refused.status_code
    assert "/login" in refused.headers.get("location", "/login")
    started = httpx.get(url + "/orra-studio/executions", headers=LAB, timeout=60)
    assert started.status_code == 200 and "Orra Studio" in started.text
    pid, args = _studio_process()
    # no port, no host, no '*' origin: a unix socket, Jupyter's origins only
    assert "--port" not in args and "--host" not in args and "*" not in args
    port = url.rsplit(":", 1)[1]
    origins = [args[i + 1] for i, a in enumerate(args) if a == "--allow-origin"]
    assert origins == [f"127.0.0.1:{port}", f"localhost:{port}"]
    assert _listening_tcp(pid) == []
    socket_path = args[args.index("--unix-socket") + 1]
    assert os.stat(Path(socket_path).parent).st_mode & 0o077 == 0  # a private folder
    # straight to its socket, not through the proxy: refused, pages and websocket alike
    transport = httpx.HTTPTransport(uds=socket_path)
    with httpx.Client(transport=transport, base_url="http://localhost", timeout=10) as direct:
        page = direct.get("/orra-studio/executions")
        assert page.status_code == 302 and "/orra-studio/login" in page.headers["location"]
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
        upgrade |= {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": url}
        assert direct.get("/orra-studio/ws", headers=upgrade).status_code == 401
        assert direct.post("/orra-studio/executions").status_code == 401
    # the token the proxy adds is in the studio's environment, never its command line
    assert not any("token" in a.lower() for a in args)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"ip": "localhost", "port": 8890}, ["127.0.0.1:8890", "localhost:8890"]),
        ({"ip": "10.1.2.3", "port": 8890}, ["10.1.2.3:8890"]),
        (
            {"ip": "localhost", "port": 8890, "custom_display_url": "https://lab.example.org"},
            ["127.0.0.1:8890", "lab.example.org:80", "localhost:8890"],
        ),
        ({"ip": "localhost", "port": 8890, "allow_origin": "*"}, None),
    ],
)
def test_the_launcher_pins_the_jupyter_servers_own_origins(options, expected):
    code = (
        "from jupyter_server.serverapp import ServerApp\n"
        f"ServerApp.instance(**{options!r})\n"
        "from orra_studio_jupyter import jupyter_origins\n"
        "print(jupyter_origins())"
    )
    origins = ast.literal_eval(python_prints(code).splitlines()[-1])
    assert "*" not in origins and all("*" not in o for o in origins)
    assert origins == (expected or ["127.0.0.1:8890", "localhost:8890"])
