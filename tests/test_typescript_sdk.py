"""The TypeScript SDK (``sdk/typescript``) against the real control plane: real Node processes
over real websockets, next to ``orra_sdk`` and the original ``orra-sdk`` 0.2.4.

Its own unit tests (``node --test``) run here too, so ``pytest`` covers everything."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typescript import SDK, built_sdk

from helpers import (
    FAST_RETRIES,
    SEED_REQUEST,
    SEED_SERVICES,
    SERVICES,
    Api,
    ServerProcess,
    ServiceProcess,
    faulty_env,
    free_port,
    new_project,
    one_step,
    saga_request,
    server_fixture,
    serving,
    wait_until,
)

pytestmark = pytest.mark.slow

FAULTY = "ts_faulty_services.mjs"
SEED = SDK / "examples" / "seed-services.mjs"
#: quick retries, so a flaky step's three attempts take well under a second


@pytest.fixture(scope="module", autouse=True)
def sdk() -> Path:
    return built_sdk()


server = server_fixture("ts-sdk", env=FAST_RETRIES)


@pytest.fixture
def api(server: ServerProcess) -> Api:
    api, _ = new_project(server.url)
    return api


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def start(api: Api, body: dict[str, Any]) -> str:
    return api.accepted(body)["executionId"]


def assert_seed_completed(api: Api) -> dict[str, Any]:
    accepted = api.post("/orchestrations", SEED_REQUEST).json()
    assert accepted["status"] == "ACCEPTED", accepted
    groups = accepted["plan"]["parallelExecutionGroups"]
    assert [len(group) for group in groups] == [3, 1]  # three in parallel, then the reply
    body = api.wait_finished(accepted["executionId"])
    assert body["status"] == "COMPLETED", body
    assert "Premium Analytics Suite" in body["result"]["content"]
    return body


def test_the_node_unit_tests_and_the_type_checks_pass(sdk: Path) -> None:
    done = subprocess.run(
        ["node", "--test", "test/"], cwd=sdk, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    passed = int(re.search(r"^# pass (\d+)", done.stdout, re.MULTILINE).group(1))
    assert passed >= 17 and "# fail 0" in done.stdout
    # the handler's types come from zod schemas; typecheck/ holds lines that must not compile
    typed = subprocess.run(
        ["npm", "run", "typecheck"], cwd=sdk, capture_output=True, text=True, timeout=120
    )
    assert typed.returncode == 0, typed.stdout[-3000:]


def test_the_seed_orchestration_with_all_four_services_in_typescript(api: Api) -> None:
    with serving(api, str(SEED), python="node", online=SEED_SERVICES) as node:
        body = assert_seed_completed(api)
        assert [s["status"] for s in body["stepResults"]] == ["COMPLETED"] * 4
        # each instance says how many tasks it runs at once (its concurrency, 1 here)
        connections = [c for s in api.get("/services").json()["services"] for c in s["connections"]]
        assert [c["capacity"] for c in connections] == [1] * len(SEED_SERVICES)
    assert "Unhandled" not in node.stop()


def test_the_seed_orchestration_across_three_sdks(api: Api, orra_sdk_python: str) -> None:
    """Two services in TypeScript, one in ``orra_sdk``, one in the original ``orra-sdk``."""
    typescript = {"customer-data-service", "product-catalog-service"}
    with (
        serving(api, str(SEED), ",".join(sorted(typescript)), python="node", online=typescript),
        serving(
            api,
            "-m orra_studio.demo_services",
            "seller-data-service",
            online={"seller-data-service"},
        ),
        serving(
            api,
            "orra_legacy_services.py",
            "ai-assistant-service",
            online={"ai-assistant-service"},
            python=orra_sdk_python,
            env={"PYTHONPATH": ""},
        ),
    ):
        assert_seed_completed(api)


def test_the_original_readme_example_registers_and_serves(api: Api, tmp_path: Path) -> None:
    """``examples/readme-customer-account.cjs`` is the README's code but for the require line:
    it registers (under the RFC 1123 form of its name) and gets the task; its handler then
    logs an undefined variable, and the step says so. With that one word fixed it completes."""
    request = {
        "action": {"type": "customer-account", "content": "Retrieve the customer account data"},
        "data": [{"field": "customerId", "value": "cust-1"}],
    }
    env = {"ORRA_URL": api.url, "ORRA_API_KEY": api.key or ""}
    online = {"customeraccountservice"}
    readme = SDK / "examples" / "readme-customer-account.cjs"
    # the one-word fix, beside a link to the package so its require resolves
    fixed = tmp_path / "readme-fixed.cjs"
    fixed.write_text(
        readme.read_text().replace("'Received task:', task)", "'Received task:', taskData)")
    )
    assert fixed.read_text() != readme.read_text()
    (tmp_path / "node_modules" / "@orra-studio").mkdir(parents=True)
    (tmp_path / "node_modules" / "@orra-studio" / "sdk").symlink_to(SDK)
    for script, outcome in ((readme, "FAILED"), (fixed, "COMPLETED")):
        node = ServiceProcess([str(script)], python="node", cwd=tmp_path, env=env).start()
        try:
            wait_until(lambda: api.services_online(online), 30, script.name)
            body = api.wait_finished(start(api, request | {"options": {"maxAttempts": 2}}))
        finally:
            output = node.stop()
        assert body["status"] == outcome, body
        assert "Service registered successfully" in output
        assert "registering it as 'customeraccountservice'" in output
        if outcome == "FAILED":
            assert body["stepResults"][0]["error"] == "Service error: task is not defined"
        else:
            assert body["result"] == {"status": "completed", "result": "Processed data"}
            assert "input: { customerId: 'cust-1' }" in output  # the task the handler logged
        wait_until(lambda: not api.services_online(online), 10, "the example to go offline")
    # the README style keeps the id in .orra-data, as the original SDK did: one service
    saved = tmp_path / ".orra-data" / "customeraccountservice-orra-service-key.json"
    assert saved.exists()
    names = [s["name"] for s in api.get("/services").json()["services"]]
    assert names.count("customeraccountservice") == 1


def test_a_service_started_before_the_control_plane_connects_once_it_is_up(
    tmp_path: Path,
) -> None:
    db, port = tmp_path / "orra.duckdb", free_port()
    first = ServerProcess(db, port=port).start()
    api, _ = new_project(first.url)
    first.stop()
    node = ServiceProcess(
        [str(SEED), api.url, api.key or "", "customer-data-service"], python="node"
    ).start()
    try:
        wait_until(lambda: "retrying in" in node.output(), 20, "a failed first attempt")
        second = ServerProcess(db, port=port).start()
        try:
            wait_until(
                lambda: api.services_online({"customer-data-service"}), 30, "the late connect"
            )
            body = api.wait_finished(
                start(api, one_step("customer-data-service", "customerId", "c-9"))
            )
            assert body["status"] == "COMPLETED", body
            assert body["result"]["customerProfile"]["id"] == "c-9"
        finally:
            second.stop()
    finally:
        output = node.stop()
    assert "cannot reach the control plane" in output and "connected to" in output


def test_kill_9_mid_task_then_restart_same_id_task_resent_and_done_once(
    api: Api, tmp_path: Path
) -> None:
    work_log, id_file = tmp_path / "work.log", tmp_path / "ids" / "slow-worker.json"
    env = {"WORK_LOG": str(work_log), "WORK_DELAY": "2", "ID_FILE": str(id_file)}
    online = {"slow-worker"}
    with serving(api, FAULTY, "worker", python="node", online=online, env=env) as first:
        service_id = api.get("/services").json()["services"][0]["id"]
        execution_id = start(api, one_step("slow-worker", "job", "survive"))
        wait_until(lambda: any("start survive" in x for x in lines(work_log)), 15, "the start")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        with serving(api, FAULTY, "worker", python="node", online=online, env=env):
            body = api.wait_finished(execution_id)
    assert body["status"] == "COMPLETED", body
    services = api.get("/services").json()["services"]
    assert [s["id"] for s in services] == [service_id]
    assert '"id":"' + service_id + '"' in id_file.read_text()
    log = lines(work_log)
    assert [x.split()[1:] for x in log] == [["start", "survive"]] * 2 + [["done", "survive"]]
    assert body["stepResults"][0]["output"]["pid"] != first.proc.pid


@pytest.fixture(scope="module")
def faulty(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory):
    """A project with the TypeScript saga, flaky, worker and bad-output services."""
    api, _ = new_project(server.url, lasting=True)
    logs = tmp_path_factory.mktemp("ts-logs")
    env = faulty_env(logs, work_delay="1")
    names = {"reserve-stock", "charge-card", "ship-order", "flaky-echo", "bad-output"}
    with serving(api, FAULTY, "saga,flaky,badout", python="node", online=names, env=env) as node:
        yield api, logs
    output = node.stop()
    api.close()
    assert "Unhandled" not in output, output[-3000:]


def test_a_handler_that_throws_is_retried_and_runs_again(faulty) -> None:
    api, _ = faulty
    body = api.wait_finished(start(api, one_step("flaky-echo", "text", "hello")))
    assert body["status"] == "COMPLETED", body
    (step,) = body["stepResults"]
    # errors are never cached: each retry ran the handler (calls counts them)
    assert step["attempts"] == 3 and step["output"] == {"echo": "hello", "calls": 3}


def test_a_failure_runs_the_revert_handlers_in_reverse_order(faulty) -> None:
    api, logs = faulty
    execution_id = start(api, saga_request("ts-fail", "fail", maxAttempts=1))
    assert api.wait_finished(execution_id)["status"] == "FAILED"

    def compensations() -> list[dict[str, Any]] | None:
        found = api.get(f"/orchestrations/{execution_id}").json().get("compensations", [])
        return (
            found
            if found and all(c["status"] not in ("pending", "running") for c in found)
            else None
        )

    ended = wait_until(compensations, 30, "both compensations")
    assert [(c["stepId"], c["status"]) for c in ended] == [
        ("step2", "partial"),
        ("step1", "completed"),
    ]
    reverts = [x for x in lines(logs / "reverts.log") if "ts-fail" in x]
    assert reverts == ["charge-card ts-fail failed", "reserve-stock ts-fail failed"]


def test_a_handler_abort_ends_the_run_aborted(faulty) -> None:
    api, logs = faulty
    body = api.wait_finished(start(api, saga_request("ts-abort", "abort")))
    assert body["status"] == "ABORTED", body
    assert body["stepResults"][2]["attempts"] == 1
    logs_of = api.get(f"/orchestrations/{body['executionId']}/logs").json()["logs"]
    aborted = [e for e in logs_of if e["event"] == "step_aborted"]
    assert aborted[0]["payload"] == {"reason": "address is on a sanctions list"}
    wait_until(
        lambda: "reserve-stock ts-abort aborted" in lines(logs / "reverts.log"), 30, "undone"
    )


def test_cancel_aborts_the_handlers_signal(faulty) -> None:
    api, logs = faulty
    execution_id = start(api, saga_request("ts-cancel", "slow"))
    # the handler itself has started (RUNNING shows a little before the frame arrives)
    started = "ship-order ts-cancel started"
    wait_until(lambda: started in lines(logs / "reverts.log"), 15, "the slow step to start")
    steps = api.get(f"/orchestrations/{execution_id}").json()["stepResults"]
    assert steps[2]["status"] == "RUNNING"
    answer = api.post(f"/orchestrations/{execution_id}/cancel", {"reason": "changed my mind"})
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    wait_until(
        lambda: "ship-order ts-cancel cancelled" in lines(logs / "reverts.log"),
        30,  # a deadline, not a wait: generous for a machine busy with the other worker
        "the handler's signal to abort",
    )


def test_an_output_that_breaks_its_schema_fails_the_step_with_the_reason(faulty) -> None:
    api, _ = faulty
    body = api.wait_finished(start(api, one_step("bad-output", "account", "a-1", maxAttempts=1)))
    assert body["status"] == "FAILED"
    error = body["stepResults"][0]["error"]
    assert error.startswith("Service error: the handler's output does not match")
    assert "/balance must be >= 0" in error


def test_two_instances_of_one_service_share_the_work(api: Api, tmp_path: Path) -> None:
    work_log = tmp_path / "work.log"
    env = {"WORK_LOG": str(work_log), "WORK_DELAY": "0.5", "WORK_CONCURRENCY": "1"}
    with (
        serving(api, FAULTY, "worker", python="node", online={"slow-worker"}, env=env),
        serving(api, FAULTY, "worker", python="node", online={"slow-worker"}, env=env) as second,
    ):
        wait_until(lambda: api.services_online({"slow-worker"}, count=2), 20, "two instances")
        ids = [start(api, one_step("slow-worker", "job", f"j{n}")) for n in range(6)]
        bodies = [api.wait_finished(execution_id) for execution_id in ids]
        assert second.proc is not None
    assert all(b["status"] == "COMPLETED" for b in bodies)
    pids = {b["stepResults"][0]["output"]["pid"] for b in bodies}
    assert len(pids) == 2  # both instances worked
    assert sum(" done " in x for x in lines(work_log)) == 6  # each job once


def _bad_input(mode: str, url: str, key: str = "") -> list[str]:
    """What ``ts_bad_input.mjs`` prints; it must exit 0 with no unhandled rejection."""
    done = subprocess.run(
        [
            "node",
            "--unhandled-rejections=strict",
            str(SERVICES / "ts_bad_input.mjs"),
            url,
            key,
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_refused_key_and_a_bad_name_are_typed_errors(api: Api) -> None:
    printed = _bad_input("refused", api.url, api.key or "")
    assert printed[0] == "refused true AuthError key_refused"
    assert printed[1].startswith("name InvalidServiceName invalid_service_name: name may contain")
    assert "try 'echo-service'" in printed[1]
    assert printed[2].startswith("ok s_")


def test_an_unreachable_url_says_so_and_keeps_trying() -> None:
    printed = _bad_input("unreachable", f"http://127.0.0.1:{free_port()}")
    assert printed[0].startswith("ConnectionError unreachable: echo: not connected to http://")
    assert "ECONNREFUSED" in printed[0]
    assert printed[1] == "start failed closed"
    assert printed[2].startswith("ConfigError invalid_config: url must start with http")


def test_sigterm_closes_gracefully_finishing_the_task_it_holds(api: Api, tmp_path: Path) -> None:
    work_log = tmp_path / "work.log"
    env = {"WORK_LOG": str(work_log), "WORK_DELAY": "1.5"}
    with serving(api, FAULTY, "worker", python="node", online={"slow-worker"}, env=env) as node:
        execution_id = start(api, one_step("slow-worker", "job", "finish-me"))
        wait_until(lambda: any("start finish-me" in x for x in lines(work_log)), 15, "the start")
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)  # closeOnSignals: close(), then exit
        assert node.proc.wait(20) == 0
        output = node.stop()
    body = api.wait_finished(execution_id)
    assert body["status"] == "COMPLETED", body
    assert body["stepResults"][0]["attempts"] == 1  # finished by the instance that was closing
    assert [x.split()[1] for x in lines(work_log)] == ["start", "done"]
    assert "closed after 1 task(s)" in output


def test_a_control_plane_restart_mid_task_runs_it_once(tmp_path: Path) -> None:
    """The restarted control plane sends the running step again; the service says
    ``in_progress`` instead of starting it twice, then delivers the one result.

    The work lasts until the test releases it, once the re-send was seen: however slowly the
    control plane restarts (and the SDK's back-off grows meanwhile), the task is still running
    when it comes back (a fixed 8 s of work was shorter than a restart under load)."""
    first = ServerProcess(tmp_path / "orra.duckdb", env=FAST_RETRIES).start()
    api, _ = new_project(first.url)
    work_log, release = tmp_path / "work.log", tmp_path / "release"
    env = {"WORK_LOG": str(work_log), "WORK_UNTIL": str(release), "ORRA_LOG_LEVEL": "debug"}
    node = ServiceProcess(
        [str(SERVICES / FAULTY), api.url, api.key or "", "worker"], python="node", env=env
    ).start()
    try:
        wait_until(lambda: api.services_online({"slow-worker"}), 30, "the worker")
        execution_id = start(api, one_step("slow-worker", "job", "once"))
        wait_until(lambda: any("start once" in x for x in lines(work_log)), 15, "the start")
        first.stop()
        second = first.again().start()
        try:
            resent = "sent again while running: in_progress"
            wait_until(lambda: resent in node.output(), 60, "the re-sent task to be refused")
            release.touch()
            body = api.wait_finished(execution_id, timeout=60)
        finally:
            second.stop()
    finally:
        output = node.stop()
    assert body["status"] == "COMPLETED", body
    assert [x.split()[1:] for x in lines(work_log)] == [["start", "once"], ["done", "once"]]
    assert "sent again while running: in_progress" in output, output
    assert "Unhandled" not in output
