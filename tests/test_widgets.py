"""The notebook widgets driven headless (no kernel, no browser): their state and callbacks,
against a real control plane and real services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import SEED_PLAN, ServerProcess, ServiceProcess, new_project, wait_until
from orra_studio import Client
from orra_studio.notebook import OrchestrationResult, PlanPreview, RunProgress
from orra_studio.notebook.widgets import plan_svg

ACTION = "Count the words of a shouted message"


@pytest.fixture(scope="module")
def client(live_server: ServerProcess) -> Iterator[Client]:
    api, project = new_project(live_server.url)
    services = ServiceProcess(
        ["tests/services/sdk_services.py", live_server.url, project["apiKey"], "text"],
        env={"COUNT_DELAY": "0.05"},
    ).start()
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}), what="services")
        with Client(live_server.url, project["apiKey"]) as studio:
            yield studio
    finally:
        api.close()
        services.stop()


def _preview(client: Client, **kwargs) -> PlanPreview:
    data = {"message": "hello big world"}
    return PlanPreview(client, ACTION, data, client.plan(ACTION, data), **kwargs)


def test_plan_preview_edit_leave_out_and_run(client: Client) -> None:
    seen: list[OrchestrationResult] = []
    preview = _preview(client, on_result=seen.append)
    assert [s["component"] for s in preview.plan["steps"]] == ["text-shouter", "word-counter"]
    assert preview.status == "PREVIEW" and not preview.run_button.disabled
    assert "text-shouter" in preview.diagram.value  # the table view

    # leave out the step the other one needs: the server refuses, the widget says why
    preview.include["step1"].value = False
    assert [s["id"] for s in preview.plan["steps"]] == ["step2"]
    preview.run_button.click()
    assert preview.status == "INVALID" and preview.result is None and seen == []
    assert "step1" in preview.notice.value and not preview.run_button.disabled

    # put it back, edit its input, run
    preview.include["step1"].value = True
    preview.inputs["step1"]["message"].value = "one two"
    preview.run_button.click()
    assert preview.status == "COMPLETED"
    assert preview.result is not None and preview.result.result["words"] == 2
    assert seen == [preview.result]
    progress = preview.progress_box.children[0]
    assert isinstance(progress, RunProgress) and progress.bar.value == 2
    assert progress.bar.bar_style == "success"
    frame = preview.result.to_pandas()
    assert list(frame.index) == ["step1", "step2"] and set(frame["status"]) == {"COMPLETED"}
    assert frame.loc["step1", "input"] == {"message": "one two"}


def test_switching_to_the_graph_view(client: Client) -> None:
    preview = _preview(client)
    preview.view.value = "graph"
    assert preview.diagram.value.startswith("<svg")
    assert preview.diagram.value.count("<rect") == 2 and preview.diagram.value.count("<line") == 1
    preview.view.value = "table"
    assert preview.diagram.value.startswith("<table")


def test_run_progress_follows_events(client: Client) -> None:
    accepted = client.submit(ACTION, {"message": "a b c d"})
    view = RunProgress(accepted)
    assert view.bar.max == 2 and view.bar.value == 0
    statuses = []
    for event in client.events(accepted["executionId"]):
        view.apply(event)
        statuses.append(view.status)
    assert view.status == "COMPLETED" and view.bar.value == 2
    assert "RUNNING" in statuses
    assert [s.status for s in view.progress.steps.values()] == ["COMPLETED", "COMPLETED"]
    assert all(s.attempts == 1 for s in view.progress.steps.values())
    # the web studio's run-view graph, drawn by the same code: two nodes, both completed
    assert view.graph.value.count('data-status="COMPLETED"') == 2


def test_an_empty_preview_cannot_run(client: Client) -> None:
    data = {"rocketId": "r1"}
    action = "launch a rocket to the moon"
    preview = PlanPreview(client, action, data, client.plan(action, data))
    assert preview.run_button.disabled and preview.plan["steps"] == []


def test_plan_svg_draws_levels_and_edges() -> None:
    plan = {**SEED_PLAN, "parallelExecutionGroups": [["step1", "step2", "step3"], ["step4"]]}
    svg = plan_svg(plan)
    assert svg.count("<rect") == 4 and svg.count("<line") == 3
    assert "ai-assistant-service" in svg


def test_a_failed_result_shows_its_error_and_compensations() -> None:
    body = {
        "executionId": "o_1",
        "status": "FAILED",
        "startTime": "2026-12-03T10:00:00Z",
        "endTime": "2026-12-03T10:00:01.5Z",
        "error": "step3 (ship-order) failed: no courier available",
        "result": None,
        "stepResults": [
            {
                "id": "step1",
                "component": "reserve-stock",
                "status": "COMPLETED",
                "attempts": 1,
                "startTime": "2026-12-03T10:00:00Z",
                "endTime": "2026-12-03T10:00:00.2Z",
                "input": {},
                "output": {"reservationId": "r-1"},
                "error": None,
            },
            {
                "id": "step3",
                "component": "ship-order",
                "status": "FAILED",
                "attempts": 2,
                "startTime": "2026-12-03T10:00:00.3Z",
                "endTime": "2026-12-03T10:00:01.5Z",
                "input": {},
                "output": None,
                "error": "no courier available",
            },
        ],
        "compensations": [
            {
                "stepId": "step1",
                "component": "reserve-stock",
                "status": "completed",
                "reason": "failed",
                "attempts": 1,
                "result": {"status": "completed"},
                "error": None,
            }
        ],
    }
    result = OrchestrationResult(body)
    page = result._repr_html_()
    assert "FAILED" in page and "no courier available" in page and "1500 ms" in page
    assert "<b>compensations</b>" in page and "reserve-stock" in page
    assert result.compensations[0]["status"] == "completed"
    frame = result.to_pandas()
    assert frame.loc["step3", "attempts"] == 2 and frame.loc["step1", "duration_ms"] == 200
    assert list(result.timings()["offset_ms"]) == [0.0, 300.0]


def test_widgets_have_a_static_html_fallback(client: Client) -> None:
    preview = _preview(client)
    bundle = preview._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget first
    assert "<table>" in bundle["text/html"] and "text-shouter" in bundle["text/html"]
    accepted = client.submit(ACTION, {"message": "a b"})
    progress = RunProgress(accepted)
    fallback = progress._repr_mimebundle_()["text/html"]
    assert accepted["executionId"] in fallback and "word-counter" in fallback


def test_a_run_that_planned_nothing_shows_why(client: Client) -> None:
    accepted = client.submit("plan my wedding", {})
    assert accepted["status"] == "NOT_ACTIONABLE"
    progress = RunProgress(accepted)
    progress.finish(client.orchestration(accepted["executionId"]))
    assert progress.bar.layout.display == "none"
    assert "NOT_ACTIONABLE" in progress.table.value and "<table>" not in progress.table.value
    assert "no registered service does what the action" in progress.table.value
