"""Real parts for tests: a control-plane process, service processes, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from local_http import LocalHttpServer, QuietHandler

from orra_studio.demo import SEED_REQUEST as SEED_REQUEST  # re-exported for the tests

ROOT = Path(__file__).resolve().parent.parent
SERVICES = Path(__file__).resolve().parent / "services"

#: retries that do not keep a test waiting (a server's environment)
FAST_RETRIES = {"ORRA_RETRY_DELAY": "0.05", "ORRA_RETRY_MAX_DELAY": "0.2"}

#: the smallest contract the edge tests register a service with: an order id in, a refund out
REFUND_SCHEMA = {
    "input": {"type": "object", "properties": {"orderId": {"type": "string"}}},
    "output": {"type": "object", "properties": {"refund": {"type": "number"}}},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def terminate(proc: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send ``sig`` to a running process; kill it if it has not ended within ``grace`` s."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ServerProcess:
    """``orra serve`` in its own process on a free port and a given DuckDB file (or, with
    ``db``, a ``postgresql://`` URL; its log goes beside ``db_path`` then)."""

    def __init__(
        self,
        db_path: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        *,
        db: str | None = None,
    ) -> None:
        self.db_path = db_path
        self.db = db or str(db_path)
        self.args = args or []
        #: the planner is offline unless a test names an LLM endpoint (a developer's own
        #: ORRA_LLM_* or OPENAI_* settings never leak into a test)
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("ORRA_LLM_", "OPENAI_", "ORRA_PLANNER"))
            },
            "ORRA_PING_INTERVAL": "0.5",
            # the tests' webhook receivers listen on 127.0.0.1
            "ORRA_ALLOW_PRIVATE_WEBHOOKS": "1",
            **(env or {}),
        }
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = db_path.with_suffix(f".{self.port}.log")

    def start(self) -> ServerProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        log = self._log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orra_studio.cli",
                "serve",
                "--port",
                str(self.port),
                "--db",
                self.db,
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=self.env,
        )

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                return httpx.get(self.url + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(healthy, 60, "the control plane to answer /health")  # a busy CI machine
        except BaseException:
            self.stop(signal.SIGKILL)  # a server that never answered is not left running
            raise
        return self

    def again(self) -> ServerProcess:
        """A new process on the same DuckDB file, port and settings: the control plane after a
        restart (not started yet)."""
        other = ServerProcess(self.db_path, self.port, args=self.args, db=self.db)
        other.env = self.env
        return other

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            terminate(self.proc, sig, 20)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def server_fixture(folder: str, **options: Any) -> Any:
    """A module-scoped ``server`` fixture: a control plane of the module's own (in a temporary
    folder named ``folder``; ``options`` as for ``ServerProcess``), started once for all its
    tests. A module writes ``server = server_fixture("name", env=...)``."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        db = tmp_path_factory.mktemp(folder) / "orra.duckdb"
        process = ServerProcess(db, **options).start()
        yield process
        process.stop()

    return server


class ServiceProcess:
    """A service (or several) in a separate Python process talking over real websockets."""

    def __init__(
        self,
        args: list[str],
        *,
        python: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        self.python = python or sys.executable
        self.cwd = cwd or ROOT
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - not a pipe: must not block

    def start(self) -> ServiceProcess:
        self.proc = subprocess.Popen(
            [self.python, *self.args],
            cwd=self.cwd,
            env=self.env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        return self

    def output(self) -> str:
        """What it has printed so far (read without moving the shared file offset)."""
        if self._output.closed:
            return ""
        fd = self._output.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop it (again is fine) and return what it printed."""
        if self.proc is None or self._output.closed:
            return ""
        terminate(self.proc, sig, 10)
        self._output.seek(0)
        out = self._output.read().decode(errors="replace")
        self._output.close()
        return out


def io_schema(inputs: dict[str, str], outputs: dict[str, str]) -> dict[str, Any]:
    """A registration ``schema``: JSON Schema objects of the given field types, every input
    field required."""

    def fields(types: dict[str, str]) -> dict[str, Any]:
        return {name: {"type": kind} for name, kind in types.items()}

    return {
        "input": {"type": "object", "properties": fields(inputs), "required": list(inputs)},
        "output": {"type": "object", "properties": fields(outputs)},
    }


def ws_url(server_url: str, service_id: str, api_key: str) -> str:
    """A service's websocket address, key in the query (as orra-sdk 0.2.4 sends it)."""
    return server_url.replace("http", "ws", 1) + f"/ws?serviceId={service_id}&apiKey={api_key}"


def socket_for(api: Api, name: str, description: str, schema: Any) -> tuple[dict[str, Any], str]:
    """Register a service over HTTP: its registration and the websocket address for it."""
    body = {"name": name, "description": description, "schema": schema}
    service = api.post("/register/service", body).json()
    return service, ws_url(api.url, service["id"], api.key or "")


async def close_code(ws: websockets.ClientConnection, timeout: float = 10) -> int | None:
    """Read ``ws`` until the server closes it: the close code it sent (``None``: no close frame
    came); fails if nothing arrives for ``timeout`` s."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def sse_frames(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events of a server-sent event stream, read line by line: each event's JSON ``data``
    with its ``id`` as ``sse_id`` (comment lines skipped)."""
    frame: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in frame:
                yield {**json.loads(frame["data"]), "sse_id": frame["id"]}
            frame = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            frame[name] = value


def orra_cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m orra_studio.cli ARGS`` in a new process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "orra_studio.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        **kwargs,
    )


def plan_step(
    step_id: str, component: str, input: dict[str, Any], dependencies: list[str] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": step_id,
        "component": component,
        "input": input,
        "dependencies": list(dependencies),
    }


def calls_in(log: Path) -> Counter[str]:
    """How often each service was called, from a test service's call log (a line per call,
    the service's name first)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split()[0] for line in lines)


def one_step(component: str, field: str, value: str, **options: Any) -> dict[str, Any]:
    """A request whose plan is one step of ``component`` with ``field`` from the data (no
    planner involved); ``options``: timeout and retry overrides."""
    body: dict[str, Any] = {
        "action": {"type": "run-one", "content": f"run {component}"},
        "data": [{"field": field, "value": value}],
        "plan": {
            "steps": [plan_step("step1", component, {field: f"{{{{request.data.{field}}}}}"})]
        },
    }
    if options:
        body["options"] = options
    return body


def python_prints(code: str, **kwargs: Any) -> str:
    """What ``python -c code`` prints, in a fresh interpreter (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, **kwargs
    )
    return done.stdout.strip()


@contextmanager
def serving(
    api: Api,
    script: str,
    *args: str,
    online: set[str],
    timeout: float = 20,
    **process: Any,
) -> Iterator[ServiceProcess]:
    """``tests/services/<script> URL KEY *args`` (or ``-m module``) in its own process, with
    ``api``'s server and key; yields once every service in ``online`` has an instance, and
    stops it afterwards."""
    program = script.split() if script.startswith("-m ") else [str(SERVICES / script)]
    service = ServiceProcess([*program, api.url, api.key or "", *args], **process)
    service.start()
    try:
        wait_until(lambda: api.services_online(online), timeout, ", ".join(sorted(online)))
        yield service
    finally:
        service.stop()


def seed_services(api: Api, **process: Any) -> contextlib.AbstractContextManager[ServiceProcess]:
    """The four seed services (``orra_studio.demo_services``) connected to ``api``'s project."""
    return serving(api, "-m orra_studio.demo_services", online=SEED_SERVICES, **process)


class Api:
    """A thin httpx wrapper with a project's key, for readable tests."""

    opened: list[Api] = []  # closed after each test by conftest

    def __init__(self, url: str, key: str | None = None) -> None:
        self.url = url
        self.key = key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)
        Api.opened.append(self)

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def accepted(self, body: dict[str, Any]) -> dict[str, Any]:
        """Submit an orchestration that must be accepted (202): the acceptance."""
        answer = self.post("/orchestrations", body)
        assert answer.status_code == 202, answer.text
        return answer.json()

    def read_events(self, execution_id: str, **headers: str) -> list[dict[str, Any]]:
        """A run's server-sent events, read until the server ends the stream."""
        path = f"/orchestrations/{execution_id}/events"
        with self.http.stream("GET", path, headers=headers, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            return list(sse_frames(response.iter_lines()))

    def services_online(self, names: set[str], count: int = 1) -> bool:
        services = self.get("/services").json()["services"]
        online = {s["name"]: s["instances"] for s in services}
        return all(online.get(n, 0) >= count for n in names)

    def wait_finished(self, execution_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/orchestrations/{execution_id}", params={"wait": 5}).json()
            if body["status"] in {"COMPLETED", "FAILED", "ABORTED", "CANCELLED", "NOT_ACTIONABLE"}:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{execution_id} still {body['status']} after {timeout} s")


def faulty_env(logs: Path, work_delay: str) -> dict[str, str]:
    """The settings of the fault-injection services (``faulty_services.py`` and its TypeScript
    twin): their logs in ``logs``, a ship that takes 30 s on ``slow``, a worker that takes
    ``work_delay`` s, an echo that fails twice before it answers."""
    logged = {"REVERT_LOG": str(logs / "reverts.log"), "WORK_LOG": str(logs / "work.log")}
    return logged | {"SHIP_DELAY": "30", "WORK_DELAY": work_delay, "FAIL_TIMES": "2"}


def seed_request(**options: Any) -> dict[str, Any]:
    """The seed's request (the README's example) with these run options."""
    return {**copy.deepcopy(SEED_REQUEST), "options": options}


def new_project(
    url: str,
    webhooks: list[str] | None = None,
    admin_token: str | None = None,
    *,
    lasting: bool = False,
) -> tuple[Api, dict[str, Any]]:
    """A new project on the server at ``url``: an ``Api`` with its key, and the registration.
    The ``Api`` is closed after the test, unless ``lasting`` (a module fixture closes it)."""
    answer = httpx.post(
        url + "/register/project",
        json={"name": "test", "webhooks": webhooks or []},
        headers={"Authorization": f"Bearer {admin_token}"} if admin_token else None,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    project = answer.json()
    api = Api(url, project["apiKey"])
    if lasting:
        Api.opened.remove(api)
    return api, project


class WebhookReceiver(LocalHttpServer):
    """A real HTTP endpoint that records what it receives."""

    def __init__(self, port: int = 0) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        received = self.received

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.put((dict(self.headers.items()), body))
                self.answer(200)

        super().__init__(Handler, "/webhooks/orra", port)

    def next(self, timeout: float = 15.0) -> tuple[dict[str, str], dict[str, Any], bytes]:
        headers, body = self.received.get(timeout=timeout)
        return headers, json.loads(body), body

    def drain(self) -> int:
        """Forget what has arrived so far (deliveries a test does not check); how many."""
        count = 0
        while not self.received.empty():
            self.received.get_nowait()
            count += 1
        return count


#: the seed's three lookups, and with its assistant the whole seed
SEED_LOOKUPS = {"customer-data-service", "product-catalog-service", "seller-data-service"}
SEED_SERVICES = {*SEED_LOOKUPS, "ai-assistant-service"}
#: the seed's services (and failing, backup and interchangeable assistants) in one script
REPLAN_SERVICES = "replan_services.py"


def _object(properties: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


def registration(
    name: str, description: str, inputs: dict[str, str], outputs: dict[str, str]
) -> dict[str, Any]:
    """A ``/register/service`` body whose schemas require every field they name."""
    schema = {"input": _object(inputs), "output": _object(outputs)}
    return {"name": name, "description": description, "schema": schema}


#: the seed README's four services as plain JSON Schema, for registering over HTTP
SEED_REGISTRATIONS = [
    registration(
        "customer-data-service",
        "Retrieves a customer's profile (name, company, industry) by customer id.",
        {"customerId": "string"},
        {"customerProfile": "object"},
    ),
    registration(
        "product-catalog-service",
        "Finds products in the catalog that are relevant to a customer inquiry.",
        {"inquiry": "string"},
        {"relevantProducts": "array"},
    ),
    registration(
        "seller-data-service",
        "Retrieves a seller's profile (name, department) by seller id.",
        {"sellerId": "string"},
        {"sellerProfile": "object"},
    ),
    registration(
        "ai-assistant-service",
        "Composes a reply to a customer inquiry from the customer's profile, the relevant "
        "products and the seller's profile.",
        {
            "customerProfile": "object",
            "relevantProducts": "array",
            "sellerProfile": "object",
            "inquiry": "string",
        },
        {"content": "string", "sentTimestamp": "string"},
    ),
]


def register(api: Api, registrations: list[dict[str, Any]]) -> dict[str, str]:
    """Register services over HTTP (no websocket): name -> id."""
    ids = {}
    for body in registrations:
        answer = api.post("/register/service", body)
        assert answer.status_code == 200, answer.text
        ids[body["name"]] = answer.json()["id"]
    return ids


#: the plan the original orra README shows for the seed request
SEED_PLAN = {
    "steps": [
        {
            "id": "step1",
            "component": "customer-data-service",
            "action": "retrieveCustomerProfile",
            "input": {"customerId": "{{request.data.customerId}}"},
            "expectedOutput": "customerProfile",
            "dependencies": [],
        },
        {
            "id": "step2",
            "component": "product-catalog-service",
            "action": "findRelevantProducts",
            "input": {"inquiry": "{{request.action.content}}"},
            "expectedOutput": "relevantProducts",
            "dependencies": [],
        },
        {
            "id": "step3",
            "component": "seller-data-service",
            "action": "retrieveSellerProfile",
            "input": {"sellerId": "{{request.data.sellerId}}"},
            "expectedOutput": "sellerProfile",
            "dependencies": [],
        },
        {
            "id": "step4",
            "component": "ai-assistant-service",
            "action": "composeReply",
            "input": {
                "customerProfile": "{{step1.output.customerProfile}}",
                "relevantProducts": "{{step2.output.relevantProducts}}",
                "sellerProfile": "{{step3.output.sellerProfile}}",
                "inquiry": "{{request.action.content}}",
            },
            "expectedOutput": "content",
            "dependencies": ["step1", "step2", "step3"],
        },
    ]
}


def saga_request(order_id: str, mode: str, **options: Any) -> dict[str, Any]:
    """reserve → charge → ship, as a caller-supplied plan (no planner involved)."""
    body: dict[str, Any] = {
        "action": {"type": "fulfil-order", "content": f"fulfil order {order_id}"},
        "data": [{"field": "orderId", "value": order_id}, {"field": "mode", "value": mode}],
        "plan": {
            "steps": [
                {
                    "id": "step1",
                    "component": "reserve-stock",
                    "action": "reserve",
                    "input": {"orderId": "{{request.data.orderId}}"},
                    "dependencies": [],
                },
                {
                    "id": "step2",
                    "component": "charge-card",
                    "action": "charge",
                    "input": {
                        "orderId": "{{request.data.orderId}}",
                        "reservationId": "{{step1.output.reservationId}}",
                    },
                    "dependencies": ["step1"],
                },
                {
                    "id": "step3",
                    "component": "ship-order",
                    "action": "ship",
                    "input": {
                        "orderId": "{{request.data.orderId}}",
                        "chargeId": "{{step2.output.chargeId}}",
                        "mode": "{{request.data.mode}}",
                    },
                    "dependencies": ["step2"],
                },
            ]
        },
    }
    if options:
        body["options"] = options
    return body


def ended_run(execution_id: str, result: Any, created_at: Any = None) -> Any:
    """A COMPLETED run with an empty plan and ``result``, to write through a Store directly."""
    from datetime import UTC, datetime

    from orra_sdk.vocabulary import OrchestrationStatus
    from orra_server.engine.run import Run

    return Run(
        id=execution_id,
        project_id="p_1",
        action={"type": "t", "content": "c"},
        data=[],
        plan={"steps": []},
        status=OrchestrationStatus.COMPLETED,
        created_at=created_at or datetime(2026, 12, 6, tzinfo=UTC),
        result=result,
    )
