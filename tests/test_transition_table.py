"""The transition table, walked entry by entry: every kind of event has a pure case here.

Pure: no server, no store, no sockets, no loop — a run's state, an event, and the effects that
come back as data. ``test_every_entry_of_the_table_has_a_pure_case`` fails when an event is
added to ``engine/table.py`` without a case below.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_transitions import POLICY, T0, T1, new_run, started

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus
from orra_server.engine import replanning, table
from orra_server.engine.run import StepState
from orra_server.engine.transitions import Ending, Transition
from orra_server.store import StoredRevision

#: kind of event -> its pure case (registered with ``@case``)
CASES: dict[type, Callable[[], None]] = {}


def case(kind: type) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(check: Callable[[], None]) -> Callable[[], None]:
        assert kind not in CASES, f"two cases for {kind.__name__}"
        CASES[kind] = check
        return check

    return register


def gated() -> tuple:
    """A started run whose ``step4`` needs approval and has just become ready."""
    run = started()
    run.options = {"approvalTimeoutSeconds": 60}
    run.webhooks = ["https://example.test/hook"]
    step = run.steps["step4"]
    step.approval = "required"
    step.input = {"customer": "Ann"}
    for step_id in ("step1", "step2", "step3"):
        table.apply(run, table.StepCompleted(run.steps[step_id], {"task": step_id}, T0))
    return run, step


def failed_for_good() -> tuple:
    """A started run whose ``step2`` failed for good and is being re-planned."""
    run = started()
    table.apply(run, table.StepCompleted(run.steps["step1"], {"task": {"name": "Ann"}}, T0))
    answer = table.apply(run, table.StepFailed(run.steps["step2"], "boom", T0))
    replanning.settle(run, answer, replanner_available=True)
    return run, answer


@case(table.Accepted)
def _accepted() -> None:
    run = new_run()
    answer = table.apply(run, table.Accepted())
    assert run.status == OrchestrationStatus.RUNNING
    assert [s.id for s in answer.ready] == ["step1", "step2", "step3"] and answer.changes == []


@case(table.NotActionable)
def _not_actionable() -> None:
    run = new_run({"steps": []})
    answer = table.apply(run, table.NotActionable("nothing can do that"))
    assert run.status == OrchestrationStatus.NOT_ACTIONABLE and run.error == "nothing can do that"
    assert [c.kind for c in answer.changes] == ["orchestration_not_actionable"]


@case(table.Recovered)
def _recovered() -> None:
    run = new_run()
    run.steps["step1"].status = StepStatus.COMPLETED
    run.steps["step2"].status = StepStatus.RUNNING
    answer = table.apply(run, table.Recovered({("o_1", "step2"): 1}, lambda step: 3, T1))
    assert [s.id for s in answer.ready] == ["step2", "step3"] and answer.ending is None
    assert run.steps["step2"].attempts == 1


@case(table.Unrecoverable)
def _unrecoverable() -> None:
    run = new_run()
    answer = table.apply(run, table.Unrecoverable("KeyError: 'x'", T1))
    assert answer.ending.status == OrchestrationStatus.FAILED and not answer.ending.replannable
    assert [c.kind for c in answer.changes] == ["recovery_failed"]


@case(table.StepCompleted)
def _step_completed() -> None:
    run = started()
    answer = table.apply(run, table.StepCompleted(run.steps["step1"], {"task": 1}, T1))
    assert run.steps["step1"].status == StepStatus.COMPLETED and run.steps["step1"].end_time == T1
    assert answer.ready == [] and run.steps["step4"].remaining == 2


@case(table.StepFailed)
def _step_failed() -> None:
    run = started()
    answer = table.apply(run, table.StepFailed(run.steps["step3"], "Input validation failed", T1))
    assert run.steps["step3"].status == StepStatus.FAILED
    assert answer.ending.status == OrchestrationStatus.FAILED and answer.ending.replannable


@case(table.StepFailedLate)
def _step_failed_late() -> None:
    run = started()
    run.finishing = True
    step = run.steps["step1"]
    answer = table.apply(run, table.StepFailedLate(step, "too late", T1))
    assert [(c.kind, c.payload) for c in answer.changes] == [
        ("step_failed_late", {"error": "too late"})
    ]
    assert step.status == StepStatus.RUNNING and answer.ending is None  # nothing else changes


@case(table.AttemptFailed)
def _attempt_failed() -> None:
    run = started()
    step = run.steps["step1"]
    answer = table.apply(run, table.AttemptFailed(step, "timeout", "slow", POLICY, T1))
    assert step.status == StepStatus.RETRYING and answer.retry[0] is step


@case(table.StepAborted)
def _step_aborted() -> None:
    run = started()
    answer = table.apply(run, table.StepAborted(run.steps["step2"], {"task": {"why": "x"}}, T1))
    assert answer.ending.status == OrchestrationStatus.ABORTED


@case(table.PauseChanged)
def _pause_changed() -> None:
    run = started()
    run.steps["step3"].paused = True
    answer = table.apply(run, table.PauseChanged(T1))
    assert run.status == OrchestrationStatus.PAUSED
    assert [c.kind for c in answer.changes] == ["orchestration_paused"]


@case(table.ApprovalRequested)
def _approval_requested() -> None:
    run, step = gated()
    answer = table.apply(run, table.ApprovalRequested(step, T1))
    assert step.status == StepStatus.AWAITING_APPROVAL and step.waiting_since == T1
    assert run.status == OrchestrationStatus.AWAITING_APPROVAL
    assert [c.kind for c in answer.changes] == [
        "approval_requested",
        "orchestration_awaiting_approval",
    ]
    assert answer.changes[0].payload == {"component": "assistant", "input": {"customer": "Ann"}}
    assert answer.awaits is step and answer.ready == [] and answer.ending is None
    kind, body = answer.webhook
    assert kind == "approval_requested" and body["stepId"] == "step4"
    assert body["requestedAt"] == T1.isoformat() and body["executionId"] == "o_1"


@case(table.Approved)
def _approved() -> None:
    run, step = gated()
    table.apply(run, table.ApprovalRequested(step, T0))
    answer = table.apply(run, table.Approved(step, {"customer": "Bo"}, "ann@x", "ok", T1))
    assert step.status == StepStatus.PENDING and step.approval == "approved"
    assert step.input == {"customer": "Bo"}  # dispatched with the edited input
    assert answer.ready == [step] and answer.ending is None
    assert run.status == OrchestrationStatus.RUNNING
    approved, running = answer.changes
    assert approved.kind == "step_approved" and running.kind == "orchestration_running"
    assert approved.payload == {
        "by": "ann@x",
        "comment": "ok",
        "edited": True,
        "input": {"customer": "Bo"},
    }


@case(table.Rejected)
def _rejected() -> None:
    run, step = gated()
    table.apply(run, table.ApprovalRequested(step, T0))
    answer = table.apply(run, table.Rejected(step, "wrong customer", "ann@x", T1))
    assert step.status == StepStatus.FAILED and step.approval == "rejected"
    assert step.error == "rejected by ann@x: wrong customer"
    assert [c.kind for c in answer.changes] == [
        "step_rejected",
        "step_failed",
        "orchestration_running",
    ]
    ending = answer.ending
    assert ending.status == OrchestrationStatus.FAILED and ending.replannable
    assert ending.compensation == (
        "failed",
        {"stepId": "step4", "error": "rejected by ann@x: wrong customer"},
    )


@case(table.Cancelled)
def _cancelled() -> None:
    run = started()
    answer = table.apply(run, table.Cancelled("changed my mind", False))
    assert answer.ending.status == OrchestrationStatus.CANCELLED
    assert answer.ending.compensation is None and answer.changes == []


@case(table.Revised)
def _revised() -> None:
    run, _ = failed_for_good()
    plan = {
        "steps": [
            {"id": "step2b", "component": "catalog2", "input": {}},
            {"id": "step5", "component": "assistant", "dependencies": ["step1", "step2b"]},
        ]
    }
    added = {  # as adaptation.py makes them: wired to each other by ``revised``
        spec["id"]: StepState(
            spec["id"], spec["component"], "s_x", {}, list(spec.get("dependencies", []))
        )
        for spec in plan["steps"]
    }
    revision = replanning.revision_record({"provenance": "llm"}, [run.steps["step2"]])
    answer = table.apply(run, table.Revised(plan, added, revision, T1))
    assert not run.replanning and run.plan == plan
    assert set(run.steps) == {"step1", "step2b", "step5"}  # the completed step stays
    assert set(run.replaced) == {"step2", "step3", "step4"}
    assert run.replaced["step2"].status == StepStatus.FAILED
    assert run.replaced["step4"].status == StepStatus.SKIPPED
    assert run.replaced["step4"].error == "replaced by plan revision 1"
    assert [s.id for s in answer.ready] == ["step2b"] and run.steps["step5"].remaining == 1
    assert {s.id for s in answer.forgotten} == {"step2", "step3", "step4"}
    [change] = answer.changes
    assert change.kind == "plan_revised" and change.payload["revision"] == 1
    assert change.payload["reason"] == "step2 (catalog) failed: boom"
    assert change.payload["failedStep"] == "step2" and change.payload["added"] == [
        "step2b",
        "step5",
    ]
    assert run.revisions[0].replaced == ["step2", "step3", "step4"]
    assert answer.ending is None


@case(table.ReplanFailed)
def _replan_failed() -> None:
    run, _ = failed_for_good()
    answer = table.apply(run, table.ReplanFailed("no alternative for catalog", T1))
    assert not run.replanning
    assert [(c.kind, c.payload) for c in answer.changes] == [
        ("replan_failed", {"reason": "no alternative for catalog"})
    ]
    ending = answer.ending
    assert ending.status == OrchestrationStatus.FAILED and not ending.replannable
    assert ending.error == ("step2 (catalog) failed: boom; re-planning: no alternative for catalog")
    assert ending.compensation == ("failed", {"stepId": "step2", "error": "boom"})


@case(table.Ended)
def _ended() -> None:
    run = started()
    answer = table.apply(run, table.Ended(Ending(OrchestrationStatus.CANCELLED, "stop"), T1))
    assert run.finishing and {s.id for s in answer.stopped} == {"step1", "step2", "step3"}
    [change] = answer.changes
    assert change.kind == "orchestration_cancelled" and change.status == "CANCELLED"


def test_every_entry_of_the_table_has_a_pure_case() -> None:
    missing = sorted(kind.__name__ for kind in set(table.TABLE) - set(CASES))
    assert missing == [], f"table entries without a pure case: {missing}"
    assert set(CASES) <= set(table.TABLE)


@pytest.mark.parametrize("kind", list(table.TABLE), ids=lambda kind: kind.__name__)
def test_the_table_entry(kind: type) -> None:
    CASES[kind]()


def test_a_failure_for_good_starts_re_planning_when_the_run_may_be_revised() -> None:
    run, answer = failed_for_good()
    assert run.replanning and answer.ending is None and answer.replan
    assert run.failures == ["step2 (catalog) failed: boom"]
    later = replanning.settle(run, Transition(ready=[run.steps["step3"]]), True)
    assert later.ready == [] and later.retry is None  # nothing is dispatched meanwhile


def test_a_failure_ends_the_run_when_re_planning_is_off_or_spent() -> None:
    run = started()
    run.options = {"replan": "off"}
    answer = table.apply(run, table.StepFailed(run.steps["step2"], "boom", T0))
    replanning.settle(run, answer, replanner_available=True)
    assert answer.ending is not None and not run.replanning and not answer.replan
    run = started()
    run.revisions = [StoredRevision(1), StoredRevision(2)]
    run.failures = ["step9 (x) failed: first"]
    answer = table.apply(run, table.StepFailed(run.steps["step2"], "boom", T0))
    replanning.settle(run, answer, replanner_available=True)
    assert answer.ending.error == (
        "step9 (x) failed: first; step2 (catalog) failed: boom"
        " (the plan was revised 2 time(s), the most allowed)"
    )
    assert not replanning.may_replan(started(), replanner_available=False)
