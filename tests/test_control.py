"""The application layer driven directly, as the embedded server or a future CLI path would:
a real store on a DuckDB file, the real engine, no HTTP. Each state check answers with the
error (status and code) the REST API gives for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from orra_server.control import Runtime
from orra_server.control.approvals import ListApprovals, list_approvals
from orra_server.control.approve import Approve, approve
from orra_server.control.cancel import Cancel, cancel
from orra_server.control.lookup import GetOrchestration, get_orchestration
from orra_server.control.plans import OrchestrationRequest
from orra_server.control.preview import preview
from orra_server.control.projects import CreateProject, create_project
from orra_server.control.reject import Reject, reject
from orra_server.control.rerun import Rerun, rerun
from orra_server.control.services import Register, register
from orra_server.control.submit import submit
from orra_server.core.errors import OrraError
from orra_server.planning.plan import Plan
from orra_server.settings import Settings

ECHO_SCHEMA = {
    "input": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "output": {"type": "object", "properties": {"text": {"type": "string"}}},
}
ACTION = {"type": "echo", "content": "say it back"}
DATA = [{"field": "text", "value": "hello"}]


def _plan(*, gated: bool) -> Plan:
    """Two echo steps, the second after the first; ``gated``: the first waits for approval."""
    first: dict[str, Any] = {
        "id": "task1",
        "component": "echo",
        "input": {"text": "{{request.data.text}}"},
    }
    if gated:
        first["requiresApproval"] = True
    second = {
        "id": "task2",
        "component": "echo",
        "input": {"text": "{{task1.output.text}}"},
        "dependencies": ["task1"],
    }
    return Plan.model_validate({"steps": [first, second]})


def _drive(tmp_path: Path, scenario: Callable[[Runtime, str], Awaitable[None]]) -> None:
    """Open a control plane on a DuckDB file (no LLM, no service connected), make a project
    with the echo service registered, run ``scenario``, close it."""

    async def main() -> None:
        settings = Settings(db_path=str(tmp_path / "control.duckdb"))
        settings.llm.enabled = False
        runtime = Runtime.open(settings)
        await runtime.start()
        try:
            project = await create_project(runtime, CreateProject("control"))
            await register(runtime, Register(project["id"], "service", "echo", schema=ECHO_SCHEMA))
            await scenario(runtime, project["id"])
        finally:
            await runtime.stop()

    asyncio.run(main())


async def _approvals_once_waiting(runtime: Runtime, project_id: str, timeout: float = 10.0):
    """The approvals page once a step waits: the wait shows once the acceptance is on disk."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        page = await list_approvals(runtime, ListApprovals(project_id))
        if page.items or loop.time() > deadline:
            return page
        await asyncio.sleep(0.01)  # a condition polled to a deadline, not a wait for time


def _refused(error: pytest.ExceptionInfo[OrraError], status: int, code: str) -> None:
    assert (error.value.status_code, error.value.code) == (status, code), error.value.to_body()


def test_a_finished_run_cannot_be_cancelled_and_a_running_one_cannot_be_rerun(tmp_path: Path):
    async def scenario(runtime: Runtime, project_id: str) -> None:
        # nothing fits this action: NOT_ACTIONABLE, recorded and ended at once
        unplannable = OrchestrationRequest(project_id, {"type": "fly", "content": "to Mars"}, [])
        ended = await submit(runtime, unplannable)
        assert ended.status == "NOT_ACTIONABLE"
        with pytest.raises(OrraError) as error:
            await cancel(runtime, Cancel(project_id, ended.execution_id))
        _refused(error, 409, "orchestration_finished")
        with pytest.raises(OrraError) as error:
            await rerun(runtime, Rerun(project_id, ended.execution_id))
        _refused(error, 409, "no_plan")

        # no echo instance is connected: the run waits for one (up to the offline grace)
        running = await submit(
            runtime, OrchestrationRequest(project_id, ACTION, DATA, plan=_plan(gated=False))
        )
        assert running.status == "ACCEPTED"
        with pytest.raises(OrraError) as error:
            await rerun(runtime, Rerun(project_id, running.execution_id, from_step="task2"))
        _refused(error, 409, "orchestration_not_finished")

        cancelled = await cancel(runtime, Cancel(project_id, running.execution_id, "done here"))
        assert cancelled.body("CANCELLED")["status"] == "CANCELLED"
        read = await get_orchestration(runtime, GetOrchestration(project_id, cancelled.id, 10))
        assert read.status == "CANCELLED"
        with pytest.raises(OrraError) as error:
            await cancel(runtime, Cancel(project_id, running.execution_id))
        _refused(error, 409, "orchestration_finished")

    _drive(tmp_path, scenario)


def test_only_a_waiting_step_is_decided_and_only_in_its_own_project(tmp_path: Path):
    async def scenario(runtime: Runtime, project_id: str) -> None:
        asked = OrchestrationRequest(project_id, ACTION, DATA, plan=_plan(gated=True))
        previewed = await preview(runtime, asked)
        assert previewed.answer["status"] == "PREVIEW", previewed.answer
        run_id = (await submit(runtime, asked)).execution_id

        def at(step_id: str, project: str) -> dict[str, str]:
            return {"project_id": project, "orchestration_id": run_id, "step_id": step_id}

        waiting = await _approvals_once_waiting(runtime, project_id)
        assert [(a["executionId"], a["stepId"]) for a in waiting.items] == [(run_id, "task1")]
        assert waiting.items[0]["expiresAt"] is None  # no approvalTimeoutSeconds

        with pytest.raises(OrraError) as error:  # task2 waits for task1, not for a person
            await approve(runtime, Approve(**at("task2", project_id)))
        _refused(error, 409, "step_not_awaiting_approval")
        with pytest.raises(OrraError) as error:
            await reject(
                runtime,
                Reject(**at("task2", project_id), reason="no"),
            )
        _refused(error, 409, "step_not_awaiting_approval")
        with pytest.raises(OrraError) as error:
            await approve(runtime, Approve(**at("task9", project_id)))
        _refused(error, 404, "step_not_found")
        with pytest.raises(OrraError) as error:  # an edited input must fit the schema
            await approve(runtime, Approve(**at("task1", project_id), input={"text": 7}))
        _refused(error, 400, "invalid_step_input")

        other = await create_project(runtime, CreateProject("other"))
        with pytest.raises(OrraError) as error:  # ids are not secrets: another project's is 404
            await approve(runtime, Approve(**at("task1", other["id"])))
        _refused(error, 404, "orchestration_not_found")

        rejection = Reject(**at("task1", project_id), reason="not today", key_hash="ab" * 32)
        decided = await reject(runtime, rejection)
        step = decided.steps["task1"]
        assert (step.status, step.approval) == ("FAILED", "rejected")
        assert step.error == "rejected by key abababab: not today", step.error
        with pytest.raises(OrraError) as error:  # decided once: the second decision conflicts
            await approve(runtime, Approve(**at("task1", project_id)))
        _refused(error, 409, "step_not_awaiting_approval")
        assert (await list_approvals(runtime, ListApprovals(project_id))).items == []

    _drive(tmp_path, scenario)
