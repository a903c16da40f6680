"""What a new user hits in the first ten minutes (issue 13): each defect pinned by a test."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest
from local_http import LocalHttpServer, QuietHandler
from typer.testing import CliRunner

from helpers import (
    ROOT,
    SEED_REQUEST,
    SERVICES,
    ServerProcess,
    ServiceProcess,
    new_project,
    orra_cli,
    seed_services,
    serving,
    wait_until,
)
from orra_studio.cli import app

MARKUP = "[de] thgin doog ]x/[ [bold]not bold[/bold] é ✓ 漢字"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ORRA_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COLUMNS", "250")
    for name in ("ORRA_URL", "ORRA_API_KEY", "ORRA_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


# -- 1. data is printed literally -------------------------------------------------------------
def test_the_cli_prints_service_output_literally(live_server, cli, monkeypatch, tmp_path):
    api, project = new_project(live_server.url)
    monkeypatch.setenv("ORRA_URL", live_server.url)
    monkeypatch.setenv("ORRA_API_KEY", project["apiKey"])
    with serving(api, "sdk_services.py", "schema", online={"greeter"}, cwd=tmp_path):
        run = cli.invoke(app, ["run", "greet: greet a person by name", "-d", f"name:{MARKUP}"])
        assert run.exit_code == 0, run.stderr + repr(run.exception)
        assert f"Hello, {MARKUP}!" in run.stdout
        execution_id = re.search(r"o_[a-z0-9]{20}", run.stdout + run.stderr).group(0)
        inspect = cli.invoke(app, ["inspect", execution_id, "-d"])
        assert inspect.exit_code == 0, inspect.stderr
        assert MARKUP in inspect.stdout
        logs = cli.invoke(app, ["logs", execution_id])
        assert logs.exit_code == 0 and "Traceback" not in logs.stdout + logs.stderr


# -- 2. a service started before the control plane waits and connects ------------------------
def test_a_service_started_before_the_server_waits_and_connects(tmp_path):
    db = tmp_path / "orra.duckdb"
    first = ServerProcess(db).start()
    try:
        api, project = new_project(first.url)
    finally:
        first.stop()
    # the control plane is down; the service starts anyway (docker compose's usual order)
    service = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), first.url, project["apiKey"], "schema"],
        cwd=tmp_path,
    ).start()
    try:
        wait_until(lambda: "retrying" in service.output(), 20, "a failed first attempt")
        assert service.proc.poll() is None, service.output()
        server = ServerProcess(db, port=first.port).start()
        try:
            wait_until(lambda: api.services_online({"greeter"}), 30, "the greeter to connect")
            assert service.proc.poll() is None
        finally:
            server.stop()
    finally:
        output = service.stop()
    assert "Traceback" not in output, output
    assert "AttributeError" not in output


# -- 3. a JSON body without Content-Type ------------------------------------------------------
def test_a_json_body_is_json_whatever_the_content_type_says(live_server):
    # what `curl -d '{…}'` sends: application/x-www-form-urlencoded
    answer = httpx.post(
        live_server.url + "/register/project",
        content=b'{"name": "my-project"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "my-project"
    form = httpx.post(live_server.url + "/register/project", data={"name": "my-project"})
    assert form.status_code == 400
    assert "Content-Type: application/json" in form.json()["error"]["message"]


# -- 4. options validated at the boundary -----------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_run_timeout_is_checked_before_anything_runs(cli, value):
    result = cli.invoke(app, ["run", "anything", "--timeout", value])
    assert result.exit_code == 2
    assert "--timeout" in result.stderr
    assert "Traceback" not in result.stderr and "ValueError" not in result.stderr


# -- 6. the suggested service name is a valid one ---------------------------------------------
def test_an_invalid_service_name_gets_a_valid_suggestion(live_server):
    api, _ = new_project(live_server.url)
    answer = api.post("/register/service", {"name": "My Echo Service", "description": "x"})
    assert answer.status_code == 400
    assert "try 'my-echo-service'" in answer.json()["error"]["message"]
    assert api.post("/register/service", {"name": "my-echo-service"}).status_code == 200


# -- 7. no dead links in the docs --------------------------------------------------------------
def test_every_relative_link_in_the_docs_leads_somewhere():
    dead = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if not (page.parent / target).exists():
                dead.append(f"{page.relative_to(ROOT)} → {target}")
    assert not dead, dead
    assert (ROOT / "docs" / "protocol.md").exists()


# -- 8. one line when the database or the port is taken, banner only once listening -----------
def test_serve_says_in_one_line_when_the_database_or_the_port_is_taken(tmp_path):
    db = tmp_path / "orra.duckdb"
    held = duckdb.connect(str(db))
    try:
        run = orra_cli("serve", "--db", str(db), "--port", "1")
    finally:
        held.close()
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"error: the database {db} is in use by process {os.getpid()}; stop it, or pass --db "
        "(or ORRA_DB) to use another file"
    ]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "orra_studio.cli",
                "serve",
                "--db",
                str(db),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use; stop what listens there, or pass --port"
    ]


# -- 9. event order agrees with cause ------------------------------------------------------------
def test_a_step_is_never_logged_as_dispatched_before_what_caused_it(live_server, tmp_path):
    api, project = new_project(live_server.url)
    with seed_services(api, cwd=tmp_path):
        ids = [api.post("/orchestrations", SEED_REQUEST).json()["executionId"] for _ in range(30)]
        for execution_id in ids:
            body = api.wait_finished(execution_id)
            assert body["status"] == "COMPLETED"
            logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
            seq_of_completion = {
                e["stepId"]: e["seq"] for e in logs if e["event"] == "step_completed"
            }
            dispatch_of_join = min(
                e["seq"] for e in logs if e["event"] == "step_dispatched" and e["stepId"] == "step4"
            )
            assert all(
                seq_of_completion[s] < dispatch_of_join for s in ("step1", "step2", "step3")
            ), logs
            times = [e["time"] for e in logs if e["event"].startswith(("step_", "orch"))]
            assert times == sorted(times), logs


# -- 12. API docs that work offline ------------------------------------------------------------
def test_the_api_docs_page_loads_nothing_from_the_internet(live_server):
    page = httpx.get(live_server.url + "/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page.text)
    assets += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert httpx.get(live_server.url + asset).status_code == 200, asset
    assert "cdn" not in page.text.lower()


# -- 11. the README's service example: logs what it does, stops quietly on Ctrl-C --------------
def test_the_readme_service_logs_and_stops_quietly_on_ctrl_c(live_server, tmp_path):
    api, project = new_project(live_server.url)
    service = ServiceProcess(
        [
            "-c",
            "import logging, runpy, sys; logging.basicConfig(level=logging.INFO); "
            f"sys.argv = ['readme', {live_server.url!r}, {project['apiKey']!r}]; "
            f"runpy.run_path({str(SERVICES / 'readme_service.py')!r}, run_name='__main__')",
        ],
        cwd=tmp_path,
    ).start()
    wait_until(lambda: api.services_online({"customer-data-service"}), 20, "the service")
    assert "registered as s_" in service.output() and "connected to" in service.output()
    service.proc.send_signal(signal.SIGINT)
    try:
        assert service.proc.wait(timeout=10) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 10 s after Ctrl-C:\n{service.stop()[-3000:]}")
    output = service.stop()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output


# -- 10. a registration that changes the schema leaves older instances stale -------------------
def test_a_schema_change_leaves_instances_of_the_old_schema_without_new_tasks(live_server):
    import asyncio
    import json

    import websockets

    api, project = new_project(live_server.url)
    old = {
        "input": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        "output": {"type": "object", "properties": {"status": {"type": "string"}}},
    }
    new = {
        "input": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        "output": {"type": "object", "properties": {"eta": {"type": "string"}}},
    }

    def register(schema: dict) -> dict:
        body = {"name": "order-tracker", "description": "Tracks an order by id", "schema": schema}
        answer = api.post("/register/service", body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = register(old)
    url = (
        live_server.url.replace("http", "ws")
        + f"/ws?serviceId={first['id']}&apiKey={project['apiKey']}"
    )

    def tracker() -> dict:
        return next(s for s in api.get("/services").json()["services"] if s["id"] == first["id"])

    assert tracker()["lastSeen"] is None  # registered, never connected

    async def scenario() -> None:
        async with websockets.connect(url) as one:
            await asyncio.to_thread(wait_until, lambda: tracker()["lastSeen"], 10, "seen")
            same = await asyncio.to_thread(register, old)  # a restart: same contract
            assert "warnings" not in same
            async with websockets.connect(url) as two:
                await asyncio.to_thread(wait_until, lambda: tracker()["instances"] == 2, 10, "2")
                changed = await asyncio.to_thread(register, new)
                assert changed["version"] == 3
                assert "2 connected instance(s)" in " ".join(changed["warnings"])
                shown = await asyncio.to_thread(tracker)
                assert (shown["instances"], shown["staleInstances"], shown["online"]) == (
                    0,
                    2,
                    False,
                )
                assert all(c["stale"] for c in shown["connections"])
                request = {
                    "action": {"type": "track-order", "content": "where is my order"},
                    "data": [{"field": "orderId", "value": "o-9"}],
                }
                accepted = await asyncio.to_thread(api.post, "/orchestrations", request)
                assert accepted.status_code == 202, accepted.text
                async with websockets.connect(url) as three:  # restarted with the new schema
                    task = json.loads(await asyncio.wait_for(three.recv(), 10))
                    while task["type"] != "task_request":
                        task = json.loads(await asyncio.wait_for(three.recv(), 10))
                    for stale in (one, two):  # the stale ones got no task
                        try:
                            while True:
                                frame = json.loads(await asyncio.wait_for(stale.recv(), 0.2))
                                assert frame["type"] != "task_request", frame
                        except TimeoutError:
                            pass

    asyncio.run(scenario())
    gone = tracker()  # every instance left: when the last one went is still known
    assert not gone["online"] and gone["lastSeen"] is not None


# -- 14. no package index: the orra-sdk compatibility tests skip, with the reason -------------
@pytest.mark.slow
def test_the_orra_sdk_tests_skip_with_a_reason_when_the_package_cannot_be_fetched(tmp_path):
    import os

    env = {
        **os.environ,
        "ORRA_TEST_CACHE": str(tmp_path),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }
    env.pop("CI", None)
    env.pop("PIP_FIND_LINKS", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
        + ["tests/test_orra_sdk_compat.py", "-k", "register_connect"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "1 skipped" in run.stdout and "could not be fetched" in run.stdout


# -- 11. smaller rough edges -------------------------------------------------------------------
class _NotOrra(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.answer(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html")


def test_login_to_something_that_is_not_orra_says_so(cli):
    with LocalHttpServer(_NotOrra) as other:
        url = other.url
        result = cli.invoke(app, ["login", "--url", url])
    assert result.exit_code == 1
    assert "does not answer like an Orra control plane" in result.stderr
    assert "<html>" not in result.stderr and "Traceback" not in result.stderr


def test_a_duplicate_data_field_is_named(live_server):
    api, _ = new_project(live_server.url)
    body = {
        "action": {"type": "x", "content": "y"},
        "data": [{"field": "orderId", "value": 1}, {"field": "orderId", "value": 2}],
    }
    answer = api.post("/orchestrations", body)
    assert answer.status_code == 400
    assert "'orderId'" in answer.json()["error"]["message"]


def test_ps_shows_type_and_content_and_never_wraps_ids(live_server, cli, monkeypatch):
    api, project = new_project(live_server.url)
    monkeypatch.setenv("ORRA_URL", live_server.url)
    monkeypatch.setenv("ORRA_API_KEY", project["apiKey"])
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal, whatever runs the tests
    execution_id = api.post(
        "/orchestrations", {"action": {"type": "plan-wedding", "content": "plan my wedding"}}
    ).json()["executionId"]
    listed = cli.invoke(app, ["ps"])
    assert listed.exit_code == 0, listed.stderr
    assert "plan-wedding: plan my wedding" in listed.stdout  # the type, then the content
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal: the id stays whole
    narrow = cli.invoke(app, ["ps"])
    assert execution_id in narrow.stdout

    run = cli.invoke(app, ["run", "plan-wedding: plan my wedding"])
    assert run.exit_code == 3
    assert "NOT_ACTIONABLE: no services are registered" in " ".join(run.stdout.split())
    assert "component" not in run.stdout  # no empty steps table


def test_a_failing_handler_is_logged_in_one_line(live_server, tmp_path):
    api, project = new_project(live_server.url)
    with serving(
        api, "sdk_services.py", "text", online={"text-shouter", "word-counter"}, cwd=tmp_path
    ) as service:
        request = {
            "action": {"type": "shout", "content": "shout a message"},
            "data": [{"field": "message", "value": "fail"}],
            "options": {"maxAttempts": 1},
        }
        body = api.wait_finished(api.post("/orchestrations", request).json()["executionId"])
        assert body["status"] == "FAILED"
        wait_until(lambda: "the handler failed on task" in service.output(), 10, "the log line")
        line = next(x for x in service.output().splitlines() if "handler failed" in x)
        assert "ValueError: cannot shout 'fail'" in line
        assert "Traceback" not in service.output()
