"""Issue 24: what a project holds in memory is bounded — unfinished runs (count and bytes of
request data) and the approvals list (paged, large inputs previewed). Real control plane, real
DuckDB file; the services are registered but never connect, so their runs wait."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    Api,
    ServerProcess,
    free_port,
    new_project,
    one_step,
    orra_cli,
    register,
    registration,
    wait_until,
)
from orra_server.api.schemas import ApprovalList
from orra_studio import Client, TooManyRequests
from orra_studio.notebook import ApprovalsPanel

pytestmark = pytest.mark.slow

LIMITS = {"ORRA_MAX_UNFINISHED": "3", "ORRA_MAX_UNFINISHED_BYTES": "1MiB"}
WAITER = registration("waiting-service", "Never connects: its steps wait.", {"text": "str"}, {})
WAITER["schema"]["input"]["properties"]["text"] = {"type": "string"}
WAITER["schema"]["output"] = {"type": "object", "properties": {}}


def waiting_run(text: str = "x", **options: Any) -> dict[str, Any]:
    return one_step("waiting-service", "text", text, **options)


def post(api: Api, body: dict[str, Any]) -> Any:
    return api.post("/orchestrations", body)


def assert_full(answer: Any, what: str) -> dict[str, Any]:
    assert answer.status_code == 429, answer.text
    assert re.fullmatch(r"[0-9]{1,4}", answer.headers.get("retry-after", "")), answer.headers
    error = answer.json()["error"]
    assert error["code"] == "too_many_unfinished", error
    assert what in error["message"] and "cancel" in error["message"], error["message"]
    return error


def test_unfinished_runs_are_bounded_per_project_and_rebuilt_on_restart(tmp_path: Path) -> None:
    db, port = tmp_path / "orra.duckdb", free_port()
    server = ServerProcess(db, port=port, env=LIMITS).start()
    try:
        api, _ = new_project(server.url)
        other, _ = new_project(server.url)
        register(api, [WAITER])
        register(other, [WAITER])
        ids = []
        for _ in range(3):
            answer = post(api, waiting_run())
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["executionId"])
        error = assert_full(post(api, waiting_run()), "3 unfinished orchestrations")
        assert error["details"]["unfinished"] == 3 and error["details"]["maxUnfinished"] == 3
        # a preview runs nothing: never refused
        assert post(api, {**waiting_run(), "dryRun": True}).status_code == 200
        # another project has its own room
        assert post(other, waiting_run()).status_code == 202

        cancelled = api.post(f"/orchestrations/{ids[0]}/cancel", {"compensate": False})
        assert cancelled.status_code == 200, cancelled.text
        assert api.wait_finished(ids[0])["status"] == "CANCELLED"
        rerun = api.post(f"/orchestrations/{ids[0]}/rerun")  # a re-run takes the room back
        assert rerun.status_code == 202, rerun.text
        assert_full(post(api, waiting_run()), "3 unfinished orchestrations")
        assert_full(api.post(f"/orchestrations/{ids[0]}/rerun"), "3 unfinished orchestrations")

        # bytes: 600 KB of data fits the 1 MiB bound once, not twice
        big = post(other, waiting_run("b" * 600_000))
        assert big.status_code == 202, big.text
        error = assert_full(post(other, waiting_run("c" * 600_000)), "bytes of request data")
        assert error["details"]["maxUnfinishedBytes"] == 1024**2
    finally:
        server.stop()

    server = ServerProcess(db, port=port, env=LIMITS).start()
    try:  # the counts come back with the runs
        assert_full(post(api, waiting_run()), "3 unfinished orchestrations")
        assert_full(post(other, waiting_run("d" * 600_000)), "bytes of request data")
        assert post(other, waiting_run()).status_code == 202  # a small one still fits
        cancelled = api.post(f"/orchestrations/{ids[1]}/cancel", {"compensate": False})
        assert cancelled.status_code == 200, cancelled.text
        api.wait_finished(ids[1])
        assert post(api, waiting_run()).status_code == 202
        # the client raises TooManyRequests with the server's Retry-After; the CLI says so
        with Client(server.url, api.key) as client, pytest.raises(TooManyRequests) as refused:
            client.orchestrate(waiting_run()["action"], {"text": "x"}, plan=waiting_run()["plan"])
        assert refused.value.code == "too_many_unfinished" and refused.value.retry_after == 30
        assert "retry after 30 s" in str(refused.value)
        env = {**os.environ, "ORRA_URL": server.url, "ORRA_API_KEY": api.key or ""}
        env["ORRA_CONFIG"] = str(tmp_path / "config.toml")
        cli = orra_cli("run", "anything at all", "-d", "text:x", env={**env, "COLUMNS": "300"})
        said = " ".join(cli.stderr.split())
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert (
            "cancel runs" in said and "retry after 30 s" in said and "[too_many_unfinished]" in said
        )
    finally:
        server.stop()


def test_a_bad_limit_setting_stops_the_start_with_one_line(tmp_path: Path) -> None:
    for name, value in [("ORRA_MAX_UNFINISHED", "²"), ("ORRA_MAX_UNFINISHED_BYTES", "lots")]:
        server = ServerProcess(tmp_path / "orra.duckdb", env={name: value})
        try:
            with pytest.raises(AssertionError, match=name):
                server.start()
        finally:
            server.stop()


def test_the_approvals_list_is_paged_and_large_inputs_are_previewed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "orra.duckdb").start()
    try:
        api, _ = new_project(server.url)
        register(api, [WAITER])
        ids = []
        for n in range(5):
            text = "L" * 100_000 if n == 2 else f"small {n}"
            answer = post(api, waiting_run(text, approve=["step1"]))
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["executionId"])

        def listed() -> list[dict[str, Any]] | None:
            items = api.get("/approvals", params={"limit": 500}).json()["approvals"]
            return items if len(items) == 5 else None

        wait_until(listed, 15, "five steps to wait for approval")
        seen: list[dict[str, Any]] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            answer = api.get("/approvals", params=params)
            assert answer.status_code == 200, answer.text
            body = ApprovalList.model_validate(answer.json()).model_dump()
            assert len(body["approvals"]) <= 2
            seen += body["approvals"]
            pages += 1
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert pages == 3
        assert [a["executionId"] for a in seen] == ids  # oldest first, each once
        large = seen[2]
        assert large["inputTruncated"] is True and large["input"] is None
        assert large["inputBytes"] > 100_000
        assert large["inputPreview"].startswith('{"text":"LLL')
        assert len(large["inputPreview"]) == 2000
        assert large["inputUrl"] == f"/orchestrations/{ids[2]}"
        whole = api.get(large["inputUrl"]).json()["stepResults"][0]
        assert whole["input"] == {"text": "L" * 100_000}
        small = seen[0]
        assert small["inputTruncated"] is False and small["input"] == {"text": "small 0"}

        # the client, the CLI and the notebook panel show the first page and say more wait
        with Client(server.url, api.key) as client:
            assert [a["executionId"] for a in client.approvals(2)] == ids[:2]
            page = client.approval_page(2, cursor=client.approval_page(2)["nextCursor"])
            assert [a["executionId"] for a in page["approvals"]] == ids[2:4]
            panel = ApprovalsPanel(client, limit=3)
            assert panel.more and len(panel.cards) == 3
            assert panel.cards[2].input_editor.disabled
            assert panel.cards[2].input_editor.value.startswith('{"text":"LLL')
            panel.cards[2].approve_button.click()
            assert panel.cards[2].decision == "approved", panel.cards[2].notice.value
        env = {**os.environ, "ORRA_URL": server.url, "ORRA_API_KEY": api.key or ""}
        env["ORRA_CONFIG"] = str(tmp_path / "config.toml")
        listed = orra_cli("approvals", "ls", "--limit", "2", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [a["executionId"] for a in json.loads(listed.stdout)] == ids[:2]
        assert "more steps wait than the 2 shown" in listed.stderr
        assert "orra approvals ls --cursor " in " ".join(listed.stderr.split())

        bad = api.get("/approvals", params={"cursor": "nonsense!"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
        assert api.get("/approvals", params={"limit": 501}).status_code == 400
        assert api.get("/approvals", params={"limit": 0}).status_code == 400
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "runs"), [("3", 3), ("10_000", 10_000), (" 12 ", 12), ("²", None), ("0", None)]
)
def test_the_run_bound_grammar(text: str, runs: int | None) -> None:
    from orra_server.settings import SettingError, whole_number

    if runs is None:
        with pytest.raises(SettingError, match="ORRA_MAX_UNFINISHED"):
            whole_number(text, "ORRA_MAX_UNFINISHED", 1, 10_000_000)
    else:
        assert whole_number(text, "ORRA_MAX_UNFINISHED", 1, 10_000_000) == runs


@pytest.mark.parametrize(
    ("text", "size"),
    [("1MiB", 1024**2), ("1.5GB", 1_500_000_000), ("4096", 4096), ("٤٠٩٦", None), ("12", None)],
)
def test_the_byte_bound_grammar(text: str, size: int | None) -> None:
    from orra_server.settings import SettingError, byte_size

    if size is None:
        with pytest.raises(SettingError, match="ORRA_MAX_UNFINISHED_BYTES"):
            byte_size(text, "ORRA_MAX_UNFINISHED_BYTES", low=1024)
    else:
        assert byte_size(text, "ORRA_MAX_UNFINISHED_BYTES", low=1024) == size
