"""The engine's pure core: a run's state transitions, without sockets, timers or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus
from orra_server.engine import transitions
from orra_server.engine.policy import RetryPolicy
from orra_server.engine.run import Run, build_steps

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=5)
POLICY = RetryPolicy(timeout=30, max_attempts=3, initial_delay=1, backoff=2, max_delay=10)

#: the seed plan's shape: three independent fetches, then one step that uses all three
SEED_PLAN = {
    "steps": [
        {"id": "step1", "component": "customer", "input": {"id": "{{customerId}}"}},
        {"id": "step2", "component": "catalog", "input": {"q": "{{productDescription}}"}},
        {"id": "step3", "component": "seller", "input": {}},
        {
            "id": "step4",
            "component": "assistant",
            "input": {"customer": "{{step1.output}}", "product": "{{step2.output}}"},
            "dependencies": ["step1", "step2", "step3"],
        },
    ],
}


def new_run(plan: dict = SEED_PLAN) -> Run:
    run = Run(
        id="o_1",
        project_id="p_1",
        action={"type": "query", "content": "help"},
        data=[{"field": "customerId", "value": "c1"}],
        plan=plan,
        status=OrchestrationStatus.PENDING,
        created_at=T0,
    )
    run.steps = build_steps(plan, {s["component"]: "s_" + s["component"] for s in plan["steps"]})
    return run


def started() -> Run:
    run = new_run()
    for step in transitions.accepted(run).ready:
        step.status = StepStatus.RUNNING  # what the dispatcher does on sending it
        step.attempts = 1
        step.idempotency_key = "k_" + step.id
    return run


def test_an_accepted_run_readies_exactly_the_steps_without_dependencies():
    run = new_run()
    answer = transitions.accepted(run)
    assert run.status == OrchestrationStatus.RUNNING and run.start_time == T0
    assert [s.id for s in answer.ready] == ["step1", "step2", "step3"]
    assert answer.changes == [] and answer.ending is None


def test_the_join_is_ready_only_when_its_last_dependency_completes():
    run = started()
    first = transitions.completed(run, run.steps["step1"], {"task": {"name": "Ann"}}, T0)
    second = transitions.completed(run, run.steps["step2"], {"task": {"sku": 1}}, T0)
    assert first.ready == [] and second.ready == []
    third = transitions.completed(run, run.steps["step3"], {"task": {}}, T0)
    assert [s.id for s in third.ready] == ["step4"]
    assert run.steps["step1"].output == {"name": "Ann"}  # the ``task`` envelope is unwrapped
    [change] = third.changes
    assert (change.kind, change.step_id) == ("step_completed", "step3")
    assert change.steps == [run.steps["step3"]] and change.orchestration is None


def test_the_last_completion_ends_the_run_completed_with_the_sinks_output():
    run = started()
    for step_id in ("step1", "step2", "step3"):
        transitions.completed(run, run.steps[step_id], {"task": step_id}, T0)
    run.steps["step4"].status = StepStatus.RUNNING
    answer = transitions.completed(run, run.steps["step4"], {"task": {"answer": 42}}, T0)
    assert answer.ending == transitions.Ending(OrchestrationStatus.COMPLETED)
    change, stopped = transitions.ended(run, answer.ending, T0 + timedelta(seconds=1))
    assert run.result == {"answer": 42} and stopped == []
    assert change.kind == "orchestration_completed" and change.status == "COMPLETED"
    assert run.status == OrchestrationStatus.RUNNING  # visible only once committed (the shell)


def test_a_compensation_is_kept_only_when_it_carries_data():
    run = started()
    with_data = {"task": 1, "compensation": {"data": {"hold": "h1"}, "ttl": 5000}}
    transitions.completed(run, run.steps["step1"], with_data, T0)
    transitions.completed(run, run.steps["step2"], {"task": 1, "compensation": {"ttl": 1}}, T0)
    assert run.steps["step1"].compensation == {"data": {"hold": "h1"}, "ttl": 5000}
    assert run.steps["step2"].compensation is None


def test_a_service_error_is_retried_under_a_new_key_a_timeout_under_the_same():
    run = started()
    step = run.steps["step1"]
    answer = transitions.attempt_failed(run, step, "timeout", "no answer", POLICY, T0)
    assert step.status == StepStatus.RETRYING and step.idempotency_key == "k_step1"
    assert answer.retry is not None and answer.retry[0] is step and 0.5 <= answer.retry[1] <= 1
    step.status, step.attempts = StepStatus.RUNNING, 2
    answer = transitions.attempt_failed(run, step, "service_error", "boom", POLICY, T0)
    assert step.idempotency_key != "k_step1" and step.generation == 1
    assert answer.changes[0].payload["kind"] == "service_error"
    assert answer.ending is None


def test_a_lost_connection_is_retried_at_once():
    run = started()
    step = run.steps["step2"]
    answer = transitions.attempt_failed(run, step, "connection_lost", "lost", POLICY, T0)
    assert answer.retry == (step, 0.0)


def test_the_last_attempt_fails_the_step_and_the_run_with_compensation():
    run = started()
    step = run.steps["step2"]
    step.attempts = POLICY.max_attempts
    answer = transitions.attempt_failed(run, step, "service_error", "boom", POLICY, T0)
    assert step.status == StepStatus.FAILED and answer.retry is None
    assert answer.ending is not None and answer.ending.status == OrchestrationStatus.FAILED
    assert answer.ending.error == "step2 (catalog) failed after 3 attempts: boom"
    assert answer.ending.compensation == ("failed", {"stepId": "step2", "error": "boom"})


def test_ending_badly_cancels_running_steps_and_skips_waiting_ones():
    run = started()
    transitions.completed(run, run.steps["step1"], {"task": 1}, T0)
    ending = transitions.failed(run, run.steps["step2"], "bad", T0).ending
    change, stopped = transitions.ended(run, ending, T0)
    statuses = {s.id: s.status for s in run.steps.values()}
    assert statuses == {
        "step1": StepStatus.COMPLETED,
        "step2": StepStatus.FAILED,
        "step3": StepStatus.CANCELLED,
        "step4": StepStatus.SKIPPED,
    }
    assert stopped == [run.steps["step3"]]
    assert [s.id for s in change.steps] == ["step3", "step4"]
    assert change.status == "FAILED" and run.finishing and run.result is None


def test_a_completion_after_the_end_is_recorded_as_late_and_readies_nothing():
    run = started()
    ending = transitions.failed(run, run.steps["step2"], "bad", T0).ending
    transitions.ended(run, ending, T0)
    answer = transitions.completed(run, run.steps["step1"], {"task": 1}, T0)
    assert answer.late and answer.ready == [] and answer.ending is None


def test_an_abort_ends_the_run_aborted_with_the_payload_as_context():
    run = started()
    answer = transitions.aborted(run, run.steps["step3"], {"task": {"why": "fraud"}}, T0)
    assert run.steps["step3"].status == StepStatus.ABORTED
    assert answer.ending.status == OrchestrationStatus.ABORTED
    assert answer.ending.compensation == ("aborted", {"why": "fraud"})


def test_pausing_is_recorded_once_per_change():
    run = started()
    run.steps["step1"].paused = True
    assert [c.kind for c in transitions.pause_changed(run, T0).changes] == ["orchestration_paused"]
    assert transitions.pause_changed(run, T0).changes == []  # still paused: nothing new
    run.steps["step1"].paused = False
    assert run.status == OrchestrationStatus.PAUSED
    assert [c.kind for c in transitions.pause_changed(run, T0).changes] == ["orchestration_running"]


def test_recovery_keeps_completed_steps_and_re_readies_the_rest():
    run = new_run()
    run.steps["step1"].status = StepStatus.COMPLETED
    run.steps["step2"].status = StepStatus.RUNNING
    run.steps["step2"].attempts = 1
    answer = transitions.recovered(run, {("o_1", "step2"): 2})
    assert [s.id for s in answer.ready] == ["step2", "step3"]
    assert run.steps["step2"].status == StepStatus.PENDING
    assert run.steps["step2"].attempts == 2  # a dispatch the step row had not seen yet counts
    assert run.steps["step4"].remaining == 2 and answer.ending is None


def test_recovery_of_a_run_whose_steps_all_completed_ends_it():
    run = new_run()
    for step in run.steps.values():
        step.status = StepStatus.COMPLETED
    answer = transitions.recovered(run, {})
    assert answer.ready == [] and answer.ending.status == OrchestrationStatus.COMPLETED


def test_recovery_fails_a_step_whose_attempts_were_spent_across_restarts():
    run = new_run()
    run.steps["step1"].status = StepStatus.COMPLETED
    run.steps["step2"].status = StepStatus.RUNNING
    run.steps["step3"].attempts = 1
    answer = transitions.recovered(run, {("o_1", "step2"): 3}, lambda step: 3, T1)
    assert run.steps["step2"].status == StepStatus.FAILED
    assert answer.ready == []  # nothing else starts: the run re-plans or ends
    assert answer.ending.status == OrchestrationStatus.FAILED and answer.ending.replannable
    assert "failed after 3 attempts: its attempts (maxAttempts 3) were spent across " in (
        answer.ending.error
    )
    (change,) = answer.changes
    assert change.kind == "step_failed" and change.payload["attempts"] == 3 and change.at == T1


def test_recovery_re_readies_a_step_with_attempts_left_and_never_fails_a_gated_one():
    run = new_run()
    run.steps["step1"].status = StepStatus.RUNNING
    run.steps["step2"].approval = "required"  # it waits for its person before any dispatch
    dispatches = {("o_1", "step1"): 2, ("o_1", "step2"): 3}
    answer = transitions.recovered(run, dispatches, lambda step: 3, T1)
    assert answer.ending is None
    assert [s.id for s in answer.ready] == ["step1", "step2", "step3"]
    assert run.steps["step1"].attempts == 2


def test_an_unrecoverable_run_ends_failed_with_the_reason_and_is_undone():
    run = new_run()
    run.steps["step1"].status = StepStatus.COMPLETED
    run.steps["step2"].status = StepStatus.AWAITING_APPROVAL
    answer = transitions.unrecoverable(run, "KeyError: 'ghost'", T1)
    error = "could not be resumed after a restart: KeyError: 'ghost'"
    assert [c.kind for c in answer.changes] == ["recovery_failed"]
    assert answer.changes[0].payload == {"error": error}
    ending = answer.ending
    assert ending.status == OrchestrationStatus.FAILED and ending.error == error
    assert ending.compensation == ("failed", {"error": error})
    assert not ending.replannable  # its plan is what could not be read
    change, stopped = transitions.ended(run, ending, T1)
    assert run.steps["step2"].status == StepStatus.SKIPPED and stopped == []
    assert change.status == OrchestrationStatus.FAILED


def test_the_idempotency_key_is_stable_and_changes_with_the_generation():
    body = transitions.canonical({"b": 1, "a": 2})
    assert body == transitions.canonical({"a": 2, "b": 1})
    first = transitions.idempotency_key("o_1", "step1", body)
    assert first == transitions.idempotency_key("o_1", "step1", body)
    assert first != transitions.idempotency_key("o_1", "step1", body, generation=1)
    assert len(first) == 40


def test_a_run_without_a_plan_ends_not_actionable_as_it_is_recorded():
    run = new_run({"steps": []})
    change = transitions.not_actionable(run, "no service can do that")
    assert run.status == OrchestrationStatus.NOT_ACTIONABLE and run.end_time == T0
    assert change.kind == "orchestration_not_actionable" and change.new
    assert change.orchestration is run and change.payload == {"reason": "no service can do that"}


def test_cancelling_undoes_completed_steps_unless_told_not_to():
    assert transitions.cancelled("wrong customer", True).ending == transitions.Ending(
        OrchestrationStatus.CANCELLED,
        "cancelled by the caller: wrong customer",
        ("cancelled", {"reason": "wrong customer"}),
    )
    assert transitions.cancelled(None, False).ending.compensation is None
