"""What a probe of a running control plane found after issue 24's fixes, pinned.

Each test is the probe's own request against a real server (and, for the CLI, the real
``orra`` commands): a grounding with an escaped lone surrogate (500), webhooks without a
count, deliveries to a receiver that never answers stalling the event loop, and terminal
control sequences from a caller's or a service's text reaching the operator's terminal.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import LocalHttpServer, QuietHandler
from rich.console import Console
from typer.testing import CliRunner

from helpers import (
    ServerProcess,
    ServiceProcess,
    new_project,
    one_step,
    seed_services,
    wait_until,
)
from orra_server.core.limits import MAX_API_KEYS, MAX_SERVICES, MAX_WEBHOOKS
from orra_studio.cli import app
from orra_studio.render import logs_table, visible


def test_a_grounding_with_an_escaped_lone_surrogate_is_a_400(live_server: ServerProcess):
    api, _ = new_project(live_server.url)
    spec = (
        '{"name": "probe-spec", "domain": "probe-domain", "version": "1", "useCases": '
        '[{"action": "refund {orderId}", "params": {"orderId": "1"}, "capabilities": '
        '["refund"], "intent": "a refund \\ud800"}]}'
    )
    answer = api.http.post(
        "/groundings", content=spec, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_grounding" and "surrogate" in error["message"]
    assert "\\ud800" in error["message"]
    # a surrogate pair is one character, and fine
    paired = spec.replace("\\ud800", "\\ud83d\\ude00")
    answer = api.http.post(
        "/groundings", content=paired, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["useCases"][0]["intent"] == "a refund \U0001f600"
    assert "Traceback" not in live_server.log()


@pytest.mark.parametrize("path", ["/webhooks", "/compensation-failure-webhooks"])
def test_a_project_has_at_most_twenty_webhooks_of_each_kind(live_server: ServerProcess, path: str):
    api, _ = new_project(live_server.url)
    urls = [f"http://127.0.0.1:9/hook{i}" for i in range(MAX_WEBHOOKS)]
    for url in urls:
        assert api.post(path, {"url": url}).status_code == 201
    refused = api.post(path, {"url": "http://127.0.0.1:9/one-more"})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_webhooks" and error["details"] == {"limit": MAX_WEBHOOKS}
    assert str(MAX_WEBHOOKS) in error["message"]
    assert api.post(path, {"url": urls[0]}).status_code == 201  # already there: no new one
    assert len(api.get(path).json()["webhooks"]) == MAX_WEBHOOKS
    assert api.http.delete(f"{path}/{urls[0].replace('/', '%2F')}").status_code == 200
    assert api.post(path, {"url": "http://127.0.0.1:9/one-more"}).status_code == 201


def test_a_webhook_added_twice_is_one_webhook(live_server: ServerProcess):
    """It was two rows, and every outcome was delivered to it twice."""
    url = "http://127.0.0.1:9/twice"
    api, project = new_project(live_server.url, webhooks=[url, url])
    assert project["webhooks"] == [url]
    assert api.post("/webhooks", {"url": url}).status_code == 201
    assert api.get("/webhooks").json()["webhooks"] == [url]


class Tarpit:
    """A TCP port that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    yield pit
    pit.close()


def test_deliveries_to_a_receiver_that_never_answers_do_not_stall_the_server(
    fresh_db: Path, tarpit: Tarpit
):
    """800 deliveries (2 projects × 20 webhooks × 20 runs) to a port that accepts and stays
    silent: /health stayed above 3 s while they waited in httpcore's pool."""
    server = ServerProcess(fresh_db).start()
    try:
        hooks = [f"http://127.0.0.1:{tarpit.port}/h{i}" for i in range(MAX_WEBHOOKS)]
        apis = [new_project(server.url, webhooks=hooks)[0] for _ in range(2)]
        worst: list[float] = []
        done = threading.Event()

        def watch() -> None:
            import httpx

            with httpx.Client(timeout=60) as client:
                while not done.is_set():
                    start = time.perf_counter()
                    assert client.get(server.url + "/health").status_code == 200
                    worst.append(time.perf_counter() - start)
                    time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        request = {"action": {"type": "t", "content": "nothing serves this"}, "data": []}
        try:
            for api in apis:
                for _ in range(20):
                    assert api.post("/orchestrations", request).status_code == 202
            time.sleep(4)  # the deliveries wait on the tarpit meanwhile (timeout 10 s)
        finally:
            done.set()
            watcher.join()
        assert tarpit.held, "no delivery reached the receiver"
        assert max(worst) < 0.5, f"/health took {max(worst):.2f} s"
    finally:
        server.stop()


def test_control_characters_in_text_are_shown_not_obeyed(
    live_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    api, project = new_project(live_server.url)
    content = "clear\x1b[2J bell\x07 csi\x9b31m cr\rover [red]x[/red]\nnext"
    body = {"action": {"type": "t\x1b]0;title\x07", "content": content}, "data": []}
    execution_id = api.post("/orchestrations", body).json()["executionId"]
    api.wait_finished(execution_id)
    monkeypatch.setenv("ORRA_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("ORRA_URL", live_server.url)
    monkeypatch.setenv("ORRA_API_KEY", project["apiKey"])
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()
    for args in (["ps"], ["inspect", execution_id], ["logs", execution_id]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        shown = result.stdout
        assert not any(c in shown for c in "\x1b\x07\x9b\r"), (args, shown)
    shown = runner.invoke(app, ["inspect", execution_id]).stdout
    assert "clear␛[2J bell␇ csi\\x9b31m cr␍over [red]x[/red]" in shown  # literal, visible
    # a service's error text goes through the same tables
    logs = {"executionId": "o_1", "status": "FAILED", "logs": []}
    logs["logs"].append({"seq": 1, "time": "", "level": "error", "message": "a\x1b[31mb"})
    drawn = io.StringIO()
    Console(file=drawn, width=200).print(logs_table(logs))
    assert "\x1b" not in drawn.getvalue() and "a␛[31mb" in drawn.getvalue()
    assert visible("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_a_project_has_at_most_max_services(live_server: ServerProcess):
    """3,000 services were accepted; then GET /services wrote 35 MB on the event loop (1.4 s)
    and a dry run failed with a RecursionError in the offline planner."""
    api, _ = new_project(live_server.url)
    schema = {"input": {"type": "object"}, "output": {"type": "object"}}
    for i in range(MAX_SERVICES):
        body = {"name": f"svc-{i}", "description": "does a thing", "schema": schema}
        assert api.post("/register/service", body).status_code == 200
    body = {"name": "one-more", "description": "does a thing", "schema": schema}
    refused = api.post("/register/agent", body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_services" and error["details"] == {"limit": MAX_SERVICES}
    again = api.post("/register/service", {**body, "name": "svc-0"})  # re-registering is fine
    assert again.status_code == 200 and again.json()["version"] == 2
    assert len(api.get("/services").json()["services"]) == MAX_SERVICES


def test_a_project_holds_at_most_max_api_keys(live_server: ServerProcess):
    """1,200 keys were accepted, each kept in the server's memory for authentication."""
    api, _ = new_project(live_server.url)
    for i in range(MAX_API_KEYS - 1):  # the project's first key counts
        assert api.post("/apikeys", {"name": f"k{i}"}).status_code == 201
    refused = api.post("/apikeys", {"name": "one-more"})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_api_keys" and error["details"] == {"limit": MAX_API_KEYS}
    assert len(api.get("/apikeys").json()["apiKeys"]) == MAX_API_KEYS
    rotated = api.post("/apikeys/k0/rotate")  # rotating keeps the count: allowed
    assert rotated.status_code == 201, rotated.text
    assert api.http.delete("/apikeys/k1").status_code == 200
    assert api.post("/apikeys", {"name": "one-more"}).status_code == 201


def test_a_failed_webhook_is_logged_by_id_not_by_its_secret_path(fresh_db: Path):
    """Slack, Discord and Zapier webhooks carry their secret in the path, which the
    "not delivered" warning printed in full."""
    server = ServerProcess(
        fresh_db, env={"ORRA_WEBHOOK_ATTEMPTS": "1"}, args=["--log-level", "info"]
    ).start()
    receiver = LocalHttpServer(_Failing, "/services/T0AAAA/B0BBBB/XoXoSecretPathToken")
    receiver.__enter__()
    try:
        url = receiver.url  # it answers 500: httpx logged "HTTP Request: POST <url>" as well
        api, _ = new_project(server.url, webhooks=[url])
        request = {"action": {"type": "t", "content": "nothing serves this"}, "data": []}
        execution_id = api.post("/orchestrations", request).json()["executionId"]
        hook_id = api.get("/webhooks").json()["items"][0]["id"]
        line = wait_until(
            lambda: next((x for x in server.log().splitlines() if "not delivered" in x), None),
            what="the failed delivery's warning",
        )
        host = url.split("/")[2]
        assert hook_id in line and host in line and execution_id in line
        assert "XoXoSecretPathToken" not in server.log()
        assert f"POST http://{host}/[path]" in server.log()  # the request line keeps the host
    finally:
        receiver.__exit__()
        server.stop()


class _Failing(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.answer(500, b"{}")


def test_exports_are_built_one_at_a_time(fresh_db: Path):
    """Each export is built whole in memory (rows, then the encoded body): four JSON exports
    of 150 MB at once took the server from 0.9 to 2.3 GB. They now take turns: four sent
    together cost about what one does."""
    import httpx
    import psutil

    server = ServerProcess(fresh_db).start()
    try:
        api, project = new_project(server.url)
        big = [{"field": f"f{i}", "value": "v" * 8000} for i in range(1000)]  # 8 MB a run
        for _ in range(8):
            body = {"action": {"type": "t", "content": "nothing serves this"}, "data": big}
            assert api.post("/orchestrations", body).status_code == 202
        assert server.proc is not None
        process = psutil.Process(server.proc.pid)
        peak = [process.memory_info().rss]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], process.memory_info().rss)
                time.sleep(0.01)

        def export() -> None:
            headers = {"Authorization": f"Bearer {project['apiKey']}"}
            answer = httpx.get(
                server.url + "/export/orchestrations?format=json", headers=headers, timeout=120
            )
            assert answer.status_code == 200 and answer.json()["count"] == 8

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            base = process.memory_info().rss
            for _ in range(3):  # one at a time: what one costs, allocator warmed
                export()
            one = peak[0] - base
            warm = peak[0]
            exports = [threading.Thread(target=export) for _ in range(4)]
            for thread in exports:
                thread.start()
            for thread in exports:
                thread.join()
        finally:
            done.set()
            watcher.join()
        assert one > 50 * 2**20, one  # the export was big enough to measure
        # together they added 2-3 exports' worth above the warm peak; in turns, under one
        assert peak[0] - warm < 1.2 * one, (peak[0] - warm) / one
    finally:
        server.stop()


def test_sockets_that_never_speak_do_not_take_tasks_from_one_that_does(
    live_server: ServerProcess,
):
    """Twenty sockets that completed the upgrade and stayed silent counted as instances:
    seven runs of eight timed out on them while the real instance sat idle."""
    api, project = new_project(live_server.url)
    with seed_services(api):
        service = next(
            s
            for s in api.get("/services").json()["services"]
            if s["name"] == "customer-data-service"
        )
        silent = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", live_server.port))
            sock.sendall(
                (
                    f"GET /ws?serviceId={service['id']}&apiKey={project['apiKey']} HTTP/1.1\r\n"
                    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            silent.append(sock)
        try:
            wait_until(lambda: api.services_online({"customer-data-service"}, count=21))
            request = one_step("customer-data-service", "customerId", "c1", timeoutSeconds=3)
            request["options"]["maxAttempts"] = 1
            for _ in range(8):
                execution_id = api.post("/orchestrations", request).json()["executionId"]
                assert api.wait_finished(execution_id)["status"] == "COMPLETED"
        finally:
            for sock in silent:
                sock.close()


HUGE_ERROR_SERVICE = """
import sys
from pydantic import BaseModel
from orra_sdk import Service, Task

class EchoIn(BaseModel):
    text: str

class EchoOut(BaseModel):
    echo: str

service = Service("huge-error", description="Fails with a huge error", url=sys.argv[1],
                  api_key=sys.argv[2])

@service.handler
async def fail(task: Task[EchoIn]) -> EchoOut:
    raise RuntimeError("BOOM " + "E" * 3_000_000)

service.run_forever()
"""


def test_a_huge_error_is_cut_in_the_services_log_and_on_the_wire(live_server: ServerProcess):
    """A handler's 3 MB exception text went whole into the service's log, one line."""
    api, _ = new_project(live_server.url)
    service = ServiceProcess(["-c", HUGE_ERROR_SERVICE, live_server.url, api.key or ""])
    service.start()
    try:
        wait_until(lambda: api.services_online({"huge-error"}), what="the service")
        request = one_step("huge-error", "text", "x", maxAttempts=1)
        execution_id = api.post("/orchestrations", request).json()["executionId"]
        assert api.wait_finished(execution_id)["status"] == "FAILED"
        wait_until(lambda: "BOOM" in service.output(), what="the service's warning")
        output = service.output()
        assert len(output) < 20_000, len(output)
        assert "more characters)" in output
    finally:
        service.stop()
