"""Driving Debian's Chromium with Playwright for the studio's tests.

Nothing is downloaded: Playwright's own driver launches ``/usr/bin/chromium`` (``.ci/run``
installs it with apt). Every page a test opens is watched: a console error, a request to any
host but 127.0.0.1, or "Traceback" in the page fails the test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from helpers import ROOT, free_port, terminate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt-get install chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


@dataclass
class Watched:
    """What a page did that a test must not tolerate."""

    console_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)

    def attach(self, page) -> None:  # noqa: ANN001 - a playwright Page
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on(
            "request",
            lambda r: self.remote_requests.append(r.url) if not r.url.startswith(LOCAL) else None,
        )

    def check(self, page) -> None:  # noqa: ANN001
        assert self.console_errors == [], self.console_errors
        assert self.remote_requests == [], self.remote_requests
        # text= selectors see into Panel's shadow roots; page.content() does not
        assert page.locator("text=Traceback").count() == 0


class StudioProcess:
    """``orra studio`` in its own process, against a control plane and a key."""

    def __init__(
        self,
        url: str,
        api_key: str,
        log: Path,
        *,
        port: int | None = None,
        token: str | None = None,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
        embedded: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        #: its login token (ORRA_STUDIO_TOKEN), so a test can log in as a person would
        self.token = token or secrets.token_urlsafe(24)
        self.login_url = f"{self.url}?token={self.token}"
        self.cookie_name = f"orra-studio-{self.port}"
        self.auth = {"Authorization": f"token {self.token}"}
        self._log = log.open("w")
        self.log_path = log
        self.cwd = cwd
        # embedded: nothing configured (``env`` gives the home), so the studio starts the demo
        args = ["studio", "--port", str(self.port)]
        if not embedded:
            args += ["--url", url, "--api-key", api_key]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orra_studio.cli", *args, "--no-open"],
            cwd=cwd,
            env={**os.environ, "ORRA_STUDIO_TOKEN": self.token, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def start(self, timeout: float = 60.0) -> StudioProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"orra studio exited: {self.log_path.read_text()[-2000:]}")
            try:
                answer = httpx.get(self.url + "executions", headers=self.auth, timeout=2)
                if answer.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("orra studio did not answer in time")

    def stop(self) -> str:
        terminate(self.proc, 2, 15)  # SIGINT, as Ctrl-C
        self._log.close()
        return self.log_path.read_text()


@contextmanager
def browser_page(screenshots: Path) -> Iterator[tuple[object, Watched]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_or_skip(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            watched = Watched()
            watched.attach(page)
            page.set_default_timeout(20_000)
            yield page, watched
        finally:
            browser.close()


@contextmanager
def studio_page(
    studio: StudioProcess, screenshots: Path, route: str
) -> Iterator[tuple[object, Watched]]:
    """A browser logged in to ``studio`` (its token URL, as a person opens it), on ``route``;
    what it loaded and logged is checked at the end."""
    with browser_page(screenshots) as (page, watched):
        page.goto(studio.login_url)
        page.goto(studio.url + route)
        yield page, watched
        watched.check(page)
