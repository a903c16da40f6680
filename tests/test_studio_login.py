"""The studio's login: nothing of a studio answers without its token or session, from any
host — pages, assets, any method, Bokeh's websocket — and a session is the token or password,
exchanged once, in a cookie only this start of this studio accepts. A real ``orra studio``
process against a real control plane, plain HTTP and websockets, and one real Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets.sync.client as ws_client
from browser import StudioProcess, browser_page, studio_page
from websockets.exceptions import InvalidStatus

from helpers import ServerProcess, free_port, new_project, orra_cli, terminate, wait_until

pytestmark = pytest.mark.slow

#: every page, Bokeh's and Panel's own endpoints, assets: all closed without a login
PATHS = [
    "",
    "executions",
    "run?id=o_x",
    "compose",
    "services",
    "analytics",
    "autoload.js?bokeh-autoload-element=x",
    "executions/metadata",
    "static/js/bokeh.min.js",
    "favicon.ico",
    "anything/else",
]


@pytest.fixture(scope="module")
def key(live_server: ServerProcess) -> str:
    _api, project = new_project(live_server.url)
    return project["apiKey"]


@pytest.fixture
def studio(live_server: ServerProcess, key: str, tmp_path: Path) -> Iterator[StudioProcess]:
    process = StudioProcess(live_server.url, key, tmp_path / "studio.log").start()
    yield process
    log = process.stop()
    assert process.token not in log  # a token set in the environment is never printed


def logged_in(studio: StudioProcess) -> httpx.Client:
    """A client holding the session cookie the token URL gave it."""
    client = httpx.Client(base_url=studio.url, timeout=10)
    answer = client.get(f"executions?token={studio.token}&id=1")
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == "/executions?id=1"  # the token leaves the address
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"orra-studio-{studio.port}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    return client


def test_nothing_answers_without_the_login(studio: StudioProcess):
    with httpx.Client(base_url=studio.url, timeout=10) as client:
        for path in PATHS:
            page = client.get(path)
            assert page.status_code == 302, (path, page.status_code)
            assert page.headers["location"].startswith("/login?next=%2F"), path
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                answer = client.request(method, path, content=b"{}")
                assert answer.status_code == 401, (method, path)
                assert answer.json()["error"] == "login_required"
        form = client.get("login")
        assert form.status_code == 200 and 'name="secret"' in form.text
        assert "<script" not in form.text and "http" not in form.text.split("<body>")[1]
        # from another host name (a DNS-rebinding page): the same
        assert client.get("executions", headers={"Host": "evil.example"}).status_code == 302


def test_bokehs_websocket_is_refused_before_the_handshake(studio: StudioProcess):
    ws = studio.url.replace("http", "ws") + "ws"
    origin = studio.url.rstrip("/")
    with pytest.raises(InvalidStatus) as refused:
        ws_client.connect(ws, origin=origin, subprotocols=["bokeh", "x"], open_timeout=10)
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):  # a wrong token is no better
        ws_client.connect(
            ws, origin=origin, additional_headers={"Authorization": "token " + "x" * 43}
        )
    # with the session the gate lets it through (Bokeh then wants its own session token)
    with contextlib.closing(logged_in(studio)) as client:
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    with ws_client.connect(
        ws, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10
    ) as socket:
        assert socket.response.status_code == 101
    # the session from another origin: Bokeh's origin check stands behind SameSite=Strict
    with pytest.raises(InvalidStatus):
        ws_client.connect(ws, origin="http://evil.example", additional_headers={"Cookie": cookie})


def test_a_wrong_token_is_refused_and_the_right_one_opens_every_page(studio: StudioProcess):
    with httpx.Client(base_url=studio.url, timeout=10) as client:
        wrong = client.get("executions?token=" + "A" * 43)
        assert wrong.status_code == 401 and "not this studio" in wrong.text
        assert "set-cookie" not in wrong.headers
        assert client.get("executions", headers={"Authorization": "token nope"}).is_redirect
        refused = client.post("login", data={"secret": "A" * 43, "next": "/executions"})
        assert refused.status_code == 401 and "set-cookie" not in refused.headers
        for _ in range(12):  # bad links are not password guesses: they lock nobody out
            assert client.get("executions?token=" + "B" * 43).status_code == 401
        assert client.post("login", data={"secret": "B" * 43}).status_code == 401  # not 429
        assert client.get("executions").status_code == 302
    with contextlib.closing(logged_in(studio)) as client:
        for path in PATHS[:6]:
            assert client.get(path).status_code == 200, path
        # the page's Bokeh session token carries request headers and cookies: not the login's
        payload = session_payload(client.get("services").text)
        assert studio.cookie_name not in payload["cookies"], payload["cookies"]
        assert client.get("logout").status_code == 200
        assert client.get("executions").status_code == 302  # logged out
    # the header a proxy adds works without a cookie, and stays out of the page
    proxied = httpx.get(studio.url + "services", headers=studio.auth)
    assert proxied.status_code == 200
    headers = {k.lower() for k in session_payload(proxied.text)["headers"]}
    assert "authorization" not in headers and studio.token not in proxied.text


def session_payload(html: str) -> dict:
    from bokeh.util.token import get_token_payload

    (token,) = set(re.findall(r'"token":\s*"([A-Za-z0-9_.-]+)"', html))
    return get_token_payload(token)


def test_the_readmes_orra_studio_prints_the_url_to_log_in_with(tmp_path: Path):
    """``orra studio`` with nothing configured (the embedded demo) prints its token URL once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    env["HOME"] = str(tmp_path)
    port = free_port()
    log = tmp_path / "studio.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orra_studio.cli", "studio", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        pattern = rf"Orra Studio on (http://127\.0\.0\.1:{port}/\?token=([A-Za-z0-9_-]{{43}})) "
        wait_until(lambda: re.search(pattern, log.read_text()), 60, "the printed URL")
        url, token = re.search(pattern, log.read_text()).groups()
        assert "embedded demo" in log.read_text()
        with httpx.Client(timeout=10, follow_redirects=True) as client:
            assert client.get(f"http://127.0.0.1:{port}/services").url.path == "/login"
            page = client.get(url)
            assert page.status_code == 200 and page.url == f"http://127.0.0.1:{port}/"
            assert client.get(f"http://127.0.0.1:{port}/services").status_code == 200
    finally:
        terminate(proc, 2, 15)
    assert log.read_text().count(token) == 1  # printed once


def test_a_cookie_from_another_start_of_the_studio_is_refused(
    live_server: ServerProcess, key: str, tmp_path: Path
):
    first = StudioProcess(live_server.url, key, tmp_path / "first.log").start()
    try:
        client = logged_in(first)
        assert client.get("executions").status_code == 200
    finally:
        first.stop()
    # the same port, the same token, a new start: the old cookie signs nothing now
    again = StudioProcess(
        live_server.url, key, tmp_path / "again.log", port=first.port, token=first.token
    ).start()
    try:
        assert client.get("executions").status_code == 302
        assert client.get(f"executions?token={first.token}").status_code == 302
        assert client.get("executions").status_code == 200  # the token logs in again
    finally:
        client.close()
        again.stop()


def test_the_login_form_takes_the_password_in_a_browser(
    live_server: ServerProcess, key: str, tmp_path: Path
):
    password = "correct horse battery staple"
    studio = StudioProcess(
        live_server.url, key, tmp_path / "studio.log", env={"ORRA_STUDIO_PASSWORD": password}
    ).start()
    try:
        with browser_page(tmp_path) as (page, watched):
            page.goto(studio.url + "services")
            page.wait_for_selector(".orra-login-page")
            page.fill("#secret", "not it")
            page.click("button[type=submit]")
            page.wait_for_selector("text=not this studio's token or password")
            page.fill("#secret", password)
            page.click("button[type=submit]")
            page.wait_for_selector("text=Register a service or agent")  # back where it went
            assert page.url == studio.url + "services"
            assert page.context.cookies()[0]["httpOnly"] is True
            watched.console_errors.clear()  # the 401 of the wrong password is logged
            watched.check(page)
    finally:
        log = studio.stop()
    assert password not in log


def test_a_host_others_reach_needs_a_chosen_token_or_password(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    env["HOME"] = str(tmp_path)  # nothing configured: it would start the embedded demo
    for host in ("0.0.0.0", "192.0.2.7", "::"):
        refused = orra_cli("studio", "--host", host, env=env)
        assert refused.returncode == 2, refused.stderr
        assert f"--host {host} lets other machines reach this studio" in refused.stderr
        assert "--token or ORRA_STUDIO_TOKEN" in refused.stderr
    short = orra_cli("studio", "--host", "0.0.0.0", env={**env, "ORRA_STUDIO_TOKEN": "x"})
    assert short.returncode == 2 and "16 to 256 characters" in short.stderr
    odd = orra_cli("studio", "--token", "²" * 20, env=env)
    assert odd.returncode == 2 and "16 to 256 characters" in odd.stderr


def test_the_header_names_the_project_of_the_key_in_use_not_the_configs_current_one(
    live_server: ServerProcess, tmp_path: Path
):
    config = {**os.environ, "ORRA_CONFIG": str(tmp_path / "config.toml")}
    for args in (("login", "--url", live_server.url), ("projects", "add", "configs-current")):
        assert orra_cli(*args, env=config).returncode == 0
    _api, keys_project = new_project(live_server.url)  # named "test" by new_project
    assert keys_project["name"] != "configs-current"
    env = {"ORRA_CONFIG": config["ORRA_CONFIG"]}
    studio = StudioProcess(live_server.url, keys_project["apiKey"], tmp_path / "s.log", env=env)
    studio.start()
    try:
        with studio_page(studio, tmp_path, "executions") as (page, _watched):
            # the header, in the sidebar: the server, the key's project by name, the masked key
            page.wait_for_selector(f"text={live_server.url} · {keys_project['name']} · key")
            assert page.locator("text=configs-current").count() == 0
    finally:
        studio.stop()


def test_orra_demo_then_orra_studio_shows_the_demos_runs(tmp_path: Path):
    """The first hour: ``orra demo``, then ``orra studio`` with nothing configured opens the
    demo's database, so its run is on the Executions page (not an empty one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    env["HOME"] = str(tmp_path)
    demo = orra_cli("demo", env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "orra studio" in demo.stdout
    execution_id = re.search(r"ACCEPTED: (o_[a-z0-9]{20})", demo.stdout).group(1)
    studio = StudioProcess("", "", tmp_path / "studio.log", env=env, embedded=True).start()
    try:
        with studio_page(studio, tmp_path, "executions") as (page, _watched):
            page.wait_for_selector(f"text={execution_id}")
    finally:
        studio.stop()


def test_an_empty_project_says_what_to_do_next(live_server: ServerProcess, tmp_path: Path):
    _api, fresh = new_project(live_server.url)
    studio = StudioProcess(live_server.url, fresh["apiKey"], tmp_path / "studio.log").start()
    try:
        with studio_page(studio, tmp_path, "executions") as (page, _watched):
            page.wait_for_selector("text=No orchestrations yet")
            page.select_option("select", "FAILED")
            page.wait_for_selector("text=No orchestration matches these filters")
    finally:
        studio.stop()
