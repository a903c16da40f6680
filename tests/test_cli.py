"""The ``orra`` CLI against a real control plane: the seed README's flow, then the orra CLI's
commands, as tables for people and as JSON for scripts."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import (
    Api,
    ServerProcess,
    ServiceProcess,
    WebhookReceiver,
    saga_request,
    serving,
    wait_until,
)
from orra_studio.cli import app

INQUIRY = "customer-inquiry: Hi, I am interested in your product. Can you tell me more about it?"
DATA = ["-d", "customerId:cust12345", "-d", "sellerId:sell98765"]


class Orra:
    """Runs ``orra …`` in-process with its own config file."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0):
        result = self.runner.invoke(app, list(args))
        if result.exit_code != code:
            raise AssertionError(
                f"orra {' '.join(args)} exited {result.exit_code}, not {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture
def orra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Orra:
    monkeypatch.setenv("ORRA_CONFIG", str(tmp_path / "orra" / "config.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("ORRA_URL", "ORRA_API_KEY", "ORRA_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    return Orra()


@pytest.fixture
def seed_project(
    orra: Orra, live_server: ServerProcess, tmp_path: Path
) -> Iterator[tuple[str, WebhookReceiver]]:
    """The seed README's set-up: login, projects add, webhooks add, api-keys add, services."""
    with WebhookReceiver() as receiver:
        login = orra.json("login", "--url", live_server.url)
        assert login["url"] == live_server.url and login["serverVersion"]
        config = tmp_path / "orra" / "config.toml"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds keys

        project = orra.json("projects", "add", "new-orra-project")
        assert project["id"].startswith("p_") and project["current"]
        hook = orra.json("webhooks", "add", "--url", receiver.url, "-p", "new-orra-project")
        assert hook["url"] == receiver.url and hook["secret"].startswith("whsec_")
        listed = orra.json("webhooks", "ls", "-p", "new-orra-project")
        assert [w["url"] for w in listed] == [receiver.url]
        assert all(w["id"].startswith("wh_") for w in listed)
        key = orra.json("api-keys", "add", "--name", "My API Key", "-p", "new-orra-project")
        assert key["name"] == "My API Key" and key["apiKey"].startswith("sk-orra-v1-")
        keys = orra.json("api-keys", "ls", "-p", "new-orra-project")
        assert {k["name"]: k["apiKey"] for k in keys}["My API Key"] == key["apiKey"]

        services = ServiceProcess(
            ["-m", "orra_studio.demo_services", live_server.url, key["apiKey"]]
        ).start()
        try:
            wait_until(
                lambda: sum(s["online"] for s in orra.json("services")) == 4,
                what="the four seed services to connect",
            )
            # a newcomer's second terminal says what it did, not nothing
            wait_until(lambda: services.output().count(" connected to ") == 4, 10, "4 lines")
            yield key["apiKey"], receiver
        finally:
            services.stop()


def test_seed_flow_run_ps_inspect_logs(orra: Orra, seed_project) -> None:
    _, receiver = seed_project
    done = orra.json("run", INQUIRY, *DATA)
    assert done["status"] == "COMPLETED"
    assert "Premium Analytics Suite" in done["result"]["content"]
    assert [s["status"] for s in done["stepResults"]] == ["COMPLETED"] * 4
    _, delivered, _ = receiver.next()
    assert delivered["executionId"] == done["executionId"]

    shown = orra("run", INQUIRY, *DATA).stdout  # for people: a table and the result
    assert "COMPLETED" in shown and "Premium Analytics Suite" in shown

    listed = orra.json("ps")
    assert listed[1]["executionId"] == done["executionId"]  # newest first
    assert {r["status"] for r in listed} == {"COMPLETED"}
    assert (listed[0]["stepsCompleted"], listed[0]["stepsPlanned"]) == (4, 4)
    assert " 4/4 " in orra("ps").stdout
    assert done["executionId"] in orra("ps").stdout

    inspected = orra.json("inspect", done["executionId"], "-d", "--updates")
    assert [s["id"] for s in inspected["stepResults"]] == ["step1", "step2", "step3", "step4"]
    assert inspected["stepResults"][0]["input"] == {"customerId": "cust12345"}
    assert inspected["planProvenance"]["source"] in ("schema-flow", "cache")
    assert inspected["updates"] == []
    card = orra("inspect", done["executionId"], "-d").stdout
    assert "planned by" in card and "step4 · ai-assistant-service" in card

    logs = orra.json("logs", done["executionId"])
    assert logs["logs"][-1]["event"] in ("orchestration_completed", "webhook_attempt")
    assert "orchestration_completed" in {line["event"] for line in logs["logs"]}
    lines = orra("logs", done["executionId"], "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [x["seq"] for x in logs["logs"]]
    assert "completed" in orra("logs", done["executionId"]).stdout


def test_at_80_columns_nothing_is_cropped_and_the_views_agree(
    orra: Orra, seed_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal (or a pipe) of 80 columns: ids whole, the action the same in ps and inspect,
    every line within 80 columns, the log in number order with its times in order too."""
    monkeypatch.setenv("COLUMNS", "80")
    done = orra.json("run", INQUIRY, *DATA)
    execution_id = done["executionId"]
    action = "customer-inquiry: Hi, I am interested"
    shown = {
        "ps": orra("ps").stdout,
        "inspect": orra("inspect", execution_id).stdout,
        "logs": orra("logs", execution_id).stdout,
        "run": orra("run", INQUIRY, *DATA).stdout,
    }
    for name, text in shown.items():
        assert [line for line in text.splitlines() if len(line) > 80] == [], name
    assert execution_id in shown["ps"] and execution_id in shown["inspect"]
    assert "took" in shown["ps"] and "took" in shown["inspect"]  # the last columns are there
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that ps folds nothing: the same text
    assert action in orra("ps").stdout and action in orra("inspect", execution_id).stdout
    assert "product-catalog-service" in shown["inspect"] + shown["run"]  # not folded mid-name
    logs = orra.json("logs", execution_id)["logs"]
    assert [line["seq"] for line in logs] == list(range(1, len(logs) + 1))
    times = [line["time"] for line in logs]
    assert times == sorted(times), logs


def test_plan_verify_run_and_exit_codes(orra: Orra, seed_project) -> None:
    preview = orra.json("plan", INQUIRY, *DATA)
    assert preview["status"] == "PREVIEW" and preview["validation"]["valid"]
    assert preview["plan"]["parallelExecutionGroups"] == [["step1", "step2", "step3"], ["step4"]]
    assert "[step1, step2, step3]  →  [step4]" in orra("plan", INQUIRY, *DATA).stdout

    verified = orra.json("verify", "run", INQUIRY, *DATA)
    assert verified["status"] == "COMPLETED"

    # ended but not COMPLETED: exit 3, and the body still printed for scripts
    refused = orra.json("run", "launch a rocket to the moon", "-d", "rocketId:r1", code=3)
    assert refused["status"] == "NOT_ACTIONABLE"

    started = orra.json("run", INQUIRY, *DATA, "--no-wait")
    assert started["status"] == "ACCEPTED"

    missing = orra("inspect", "o_missing", code=1)
    assert "orchestration_not_found" in missing.stderr and "Traceback" not in missing.stderr
    bad = orra("run", INQUIRY, "-d", "customerId", code=2)
    assert "is not field:value" in bad.stderr
    typed = orra("plan", INQUIRY, "-d", "count:=not json", code=2)
    assert "after ':=' comes JSON" in typed.stderr


def test_without_config_errors_are_one_line(orra: Orra, live_server: ServerProcess) -> None:
    result = orra("ps", code=1)
    assert "no project selected" in result.stderr and "Traceback" not in result.stderr
    unknown = orra("ps", "-p", "nope", code=1)
    assert "no project 'nope'" in unknown.stderr
    down = orra("login", "--url", "http://127.0.0.1:9", code=1)
    assert "no control plane answers at http://127.0.0.1:9" in down.stderr
    versions = orra.json("version", "--url", live_server.url)
    assert versions["server"] == versions["client"]


def test_projects_use_and_logout(orra: Orra, live_server: ServerProcess, tmp_path: Path) -> None:
    orra("login", "--url", live_server.url)
    first = orra.json("projects", "add", "first")
    orra.json("projects", "add", "second")
    orra("projects", "add", "second", code=1)  # names are unique on this machine
    orra("projects", "use", "first")
    listed = {p["name"]: p for p in orra.json("projects", "ls")}
    assert listed["first"]["current"] == "*" and listed["second"]["current"] == ""
    assert listed["first"]["id"] == first["id"]

    # an existing project attached by its key
    key = orra.json("api-keys", "gen", "ci", "-p", "second")["apiKey"]
    refused = orra("logout", code=1)  # keys would go: not without --yes
    assert "pass --yes" in refused.stderr
    assert (tmp_path / "orra" / "config.toml").exists()
    orra("logout", "--yes")
    assert not (tmp_path / "orra" / "config.toml").exists()
    orra("ps", code=1)
    attached = orra.json("login", "--url", live_server.url, "--api-key", key)
    assert attached["project"] == "second"
    assert orra.json("ps") == []


def test_grounding_and_compensation_failures(
    orra: Orra, live_server: ServerProcess, tmp_path: Path
) -> None:
    orra("login", "--url", live_server.url)
    orra("projects", "add", "grounded")
    spec = tmp_path / "support.yaml"
    spec.write_text(
        "name: customer-support\ndomain: e-commerce\nversion: '1.0'\n"
        "useCases:\n  - action: 'Help customer with {inquiry}'\n"
        "    params: {inquiry: where is my order}\n"
        "    capabilities: ['Look up the customer']\n    intent: help a customer\n"
        "constraints: []\n"
    )
    applied = orra.json("grounding", "apply", "-f", str(spec))
    assert applied["name"] == "customer-support"
    assert [g["name"] for g in orra.json("grounding", "ls")] == ["customer-support"]
    orra("grounding", "rm", "customer-support")
    assert orra.json("grounding", "ls") == []
    assert orra.json("comp-fail", "ls") == []
    assert "compensation_failure_not_found" in orra("comp-fail", "inspect", "cf_x", code=1).stderr


def _logged_in_with_a_key(orra: Orra, live_server: ServerProcess, project: str) -> Api:
    """``orra login``, a new current project and a key for its services, as a person does."""
    orra("login", "--url", live_server.url)
    orra("projects", "add", project)
    return Api(live_server.url, orra.json("api-keys", "add", "--name", project)["apiKey"])


def test_timeout_watch_and_interim_updates(
    orra: Orra, live_server: ServerProcess, tmp_path: Path
) -> None:
    api = _logged_in_with_a_key(orra, live_server, "workers")
    slow = {"WORK_DELAY": "1.5"}
    with serving(api, "faulty_services.py", "worker", online={"slow-worker"}, env=slow):
        # still running when --timeout passes: exit 4, and it goes on running
        late = orra("run", "Do slow work on a job", "-d", "job:j1", "--timeout", "0.2", code=4)
        assert "is still RUNNING after 0.2 s" in late.stderr
        running = orra.json("ps", "--status", "RUNNING")
        assert len(running) == 1

        watched = orra("ps", "-w", "--interval", "0.1")  # returns once every run has ended
        assert "COMPLETED" in watched.stdout and "RUNNING" not in watched.stdout.splitlines()[-2]
        execution_id = running[0]["executionId"]
        inspected = orra.json("inspect", execution_id, "--updates")
        assert inspected["status"] == "COMPLETED"
        assert [u["update"] for u in inspected["updates"]] == [{"progress": 50, "job": "j1"}]
        assert "progress" in orra("inspect", execution_id, "--updates").stdout


def test_edited_plan_abort_reason_and_compensation_history(
    orra: Orra, live_server: ServerProcess, tmp_path: Path
) -> None:
    api = _logged_in_with_a_key(orra, live_server, "saga")
    names = {"reserve-stock", "charge-card", "ship-order"}
    with serving(api, "faulty_services.py", "saga", online=names):
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps({"plan": saga_request("o-1", "abort")["plan"]}))
        data = ["-d", "orderId:o-1", "-d", "mode:abort"]
        assert orra.json("plan", "fulfil order o-1", *data, "--plan", str(plan))["validation"][
            "valid"
        ]
        aborted = orra.json("run", "fulfil order o-1", *data, "--plan", str(plan), code=3)
        assert aborted["status"] == "ABORTED"
        execution_id = aborted["executionId"]

        def compensated() -> dict | None:
            body = orra.json("inspect", execution_id, "-d")
            ended = [c for c in body.get("compensations", []) if c["status"] != "pending"]
            done = len(ended) == 2 and all(c["status"] != "running" for c in ended)
            return body if done else None

        body = wait_until(compensated, what="both compensations")
        assert [c["stepId"] for c in body["compensations"]] == ["step2", "step1"]
        assert body["planProvenance"]["source"] == "caller"
        assert body["abortReason"] == {"reason": "address is on a sanctions list"}
        shown = orra("inspect", execution_id, "-d").stdout
        assert "sanctions list" in shown and "Compensations" in shown and "partial" in shown

        broken = tmp_path / "broken.json"
        broken.write_text("{not json")
        assert "is not JSON" in orra("run", "x", "--plan", str(broken), code=2).stderr
        invalid = tmp_path / "invalid.json"
        invalid.write_text(json.dumps({"steps": [{**saga_request("o", "x")["plan"]["steps"][1]}]}))
        refused = orra.json("plan", "fulfil order o-2", *data, "--plan", str(invalid), code=3)
        assert not refused["validation"]["valid"]
        assert orra("run", "fulfil order o-2", *data, "--plan", str(invalid), code=1).stderr


def test_api_keys_rm_and_rotate_and_webhooks_rm(orra: Orra, live_server: ServerProcess):
    orra("login", "--url", live_server.url)
    orra("projects", "add", "keys-project")
    orra("api-keys", "add", "--name", "worker")
    keys = orra.json("api-keys", "ls")
    assert {k["name"] for k in keys} == {"default", "worker"}
    worker = next(k for k in keys if k["name"] == "worker")
    assert worker["apiKey"].startswith("sk-orra-v1-")  # this machine made it
    revoked = orra.json("api-keys", "rm", worker["id"])
    assert revoked["revoked"] is True and revoked["name"] == "worker"
    assert {k["name"] for k in orra.json("api-keys", "ls")} == {"default"}
    last = orra("api-keys", "rm", "default", code=1)
    assert "Rotate it instead" in last.stderr
    rotated = orra.json("api-keys", "rotate", "default")
    assert rotated["apiKey"].startswith("sk-orra-v1-")
    assert orra.json("api-keys", "ls")[0]["id"] == rotated["id"]

    orra("webhooks", "add", "--url", "http://127.0.0.1:9/hook")
    hook = orra.json("webhooks", "ls")[0]
    removed = orra.json("webhooks", "rm", hook["id"])
    assert removed == {"id": hook["id"], "url": "http://127.0.0.1:9/hook", "removed": True}
    assert orra.json("webhooks", "ls") == []
    assert orra("webhooks", "ls").stdout.strip() == (
        "no webhooks; add one: orra webhooks add --url URL"
    )
    missing = orra("webhooks", "rm", "wh_nope", code=1)
    assert "no webhook 'wh_nope'" in missing.stderr


def test_ctrl_c_during_run_prints_the_execution_id_and_leaves_it_running(
    orra: Orra, live_server: ServerProcess
) -> None:
    """Ctrl-C stops the waiting, not the orchestration: the id and how to see it again are
    printed (issue 27), and the run goes on."""
    api = _logged_in_with_a_key(orra, live_server, "interrupted")
    with serving(
        api, "faulty_services.py", "worker", online={"slow-worker"}, env={"WORK_DELAY": "30"}
    ):
        waiting = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orra_studio.cli",
                "run",
                "Do slow work on a job",
                "-d",
                "job:j9",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            def running() -> list[dict[str, Any]]:
                listed = api.get("/orchestrations", params={"status": "RUNNING"}).json()
                return listed["orchestrations"]

            wait_until(running, 30, "the run to be running")
            (run,) = running()
            waiting.send_signal(signal.SIGINT)
            _out, stderr = waiting.communicate(timeout=30)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.communicate()
        assert waiting.returncode == 130, stderr
        assert f"orra inspect {run['executionId']}" in stderr
        assert "Traceback" not in stderr
        status = api.get(f"/orchestrations/{run['executionId']}").json()["status"]
        assert status == "RUNNING"  # it goes on
