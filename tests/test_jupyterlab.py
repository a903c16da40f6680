"""The studio inside JupyterLab: a real ``jupyter lab``, the Launcher tile from
``extensions/jupyterlab``, clicked in a real Chromium, proxied by jupyter-server-proxy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import browser_page

from helpers import Api, ServerProcess, free_port, new_project, terminate, wait_until

pytestmark = pytest.mark.slow


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
            "--IdentityProvider.token=",
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
            return httpx.get(url + "/api", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, 60, "jupyter lab to answer")
        yield url, api
    finally:
        terminate(proc, 2, 20)
        log.close()


def test_the_launcher_tile_opens_the_studio_inside_lab(lab, tmp_path: Path):
    url, api = lab
    info = httpx.get(url + "/server-proxy/servers-info", timeout=10).json()
    (studio,) = [s for s in info["server_processes"] if s["name"] == "orra-studio"]
    assert studio["launcher_entry"]["title"] == "Orra Studio"
    with browser_page(tmp_path) as (page, _watched):
        page.set_default_timeout(60_000)
        page.goto(url + "/lab")
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
    proxied = httpx.get(url + "/orra-studio/executions", timeout=30)
    assert proxied.status_code == 200 and "Orra Studio" in proxied.text
