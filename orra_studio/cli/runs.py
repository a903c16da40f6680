"""``orra plan | run | verify run | ps | inspect | logs``: orchestrations from a terminal."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live

from orra_sdk.vocabulary import TERMINAL, EventKind, OrchestrationStatus, StepStatus

from ..client import Client
from ..errors import OrchestrationTimeout
from ..live import LiveRun, follow
from ..render import (
    action_text,
    card,
    clock,
    logs_table,
    orchestrations_table,
    plan_table,
    progress_table,
    records_table,
    result_panel,
    shortened,
    shown_text,
    steps_table,
    took,
)
from ..types import Logs
from .asked import Asked, asks
from .common import (
    EXIT_INTERRUPTED,
    EXIT_NOT_COMPLETED,
    EXIT_TIMEOUT,
    EXIT_WAITING,
    JsonFlag,
    Output,
    OutputOpt,
    ProjectOpt,
    client_for,
    command,
    emit,
    err,
    out,
    shows,
)

__all__ = ["inspect", "logs", "plan", "ps", "run", "verify"]

verify = typer.Typer(help="Check a set-up end to end (the original orra CLI's commands).")

TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        "-t",
        min=0.1,
        max=86_400,
        help="seconds to wait for the end (use --no-wait not to wait)",
    ),
]
ApproveOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--approve",
        metavar="STEP",
        help="this step waits for a person's approval before it runs (repeat; 'revertible' "
        "for every step of a revertible service)",
    ),
]
ApprovalTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--approval-timeout",
        min=0.1,
        max=30 * 86_400,
        help="seconds a step may wait for approval before it is rejected",
    ),
]


@asks
def plan(
    asked: Asked,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="plan afresh, not from the plan cache")
    ] = False,
) -> None:
    """Preview the plan for an action (a dry run: nothing runs); with --plan, check an edited
    plan. Exit 3 if the plan is not valid."""
    with client_for(asked.project) as client:
        preview = client.plan(asked.action, asked.data, plan=asked.plan, no_cache=no_cache)
    asked.emit(preview, _preview)
    if not (preview.get("validation") or {}).get("valid", preview.get("plan") is not None):
        raise typer.Exit(EXIT_NOT_COMPLETED)


def _preview(preview: dict[str, Any]) -> Group:
    parts: list[Any] = []
    if preview.get("plan"):
        parts.append(plan_table(preview["plan"]))
    validation = preview.get("validation") or {}
    for problem in validation.get("errors", []):
        line = f"✕ {problem['step'] or ''} {problem['rule']}: {problem['message']}"
        parts.append(shown_text(line, style="red"))
    for warning in validation.get("warnings", []):
        parts.append(shown_text(f"! {warning}", style="yellow"))
    if not preview.get("plan"):
        parts.append(shown_text(preview.get("message") or "no plan", style="red"))
    return Group(*parts)


def _run(asked: Asked, wait: bool, timeout: float, options: dict[str, Any] | None = None) -> None:
    with client_for(asked.project) as client:
        accepted = client.submit(asked.action, asked.data, plan=asked.plan, options=options or None)
        if not wait:
            asked.emit(accepted, lambda a: f"{a['status']}: {a['executionId']}")
            return
        try:
            show = err.is_terminal or asked.output is Output.table
            body = _follow(client, accepted, timeout, show=show)
        except OrchestrationTimeout as exc:
            err.print(shown_text(str(exc), style="yellow"))
            raise typer.Exit(EXIT_TIMEOUT) from None
        except KeyboardInterrupt:  # Ctrl-C stops the waiting, not the orchestration
            execution_id = accepted["executionId"]
            err.print(
                shown_text(
                    f"\nstopped waiting; {execution_id} goes on in the control plane. "
                    f"See where it is with:\n  orra inspect {execution_id}\n"
                    f"  orra logs {execution_id}",
                    style="yellow",
                )
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    waiting = _waiting_steps(body)
    if waiting:  # a person decides next: say how, rather than wait out the timeout
        asked.emit(body, lambda b: _how_to_decide(b, waiting))
        raise typer.Exit(EXIT_WAITING)
    asked.emit(body, outcome)
    if body["status"] != OrchestrationStatus.COMPLETED:
        raise typer.Exit(EXIT_NOT_COMPLETED)


def _run_options(approve: list[str] | None, approval_timeout: float | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if approve:
        options["approve"] = "revertible" if approve == ["revertible"] else approve
    if approval_timeout is not None:
        options["approvalTimeoutSeconds"] = approval_timeout
    return options


def _waiting_steps(body: dict[str, Any]) -> list[dict[str, Any]]:
    steps = body.get("stepResults") or []
    return [s for s in steps if s["status"] == StepStatus.AWAITING_APPROVAL]


def _how_to_decide(body: dict[str, Any], waiting: list[dict[str, Any]]) -> Any:
    execution_id = body["executionId"]
    lines = [shown_text(f"{execution_id} waits for a person's approval:", style="yellow")]
    for step in waiting:
        shown = shortened(step.get("input"), 160)  # the whole input: orra approvals ls --json
        lines.append(
            shown_text(
                f"  {step['id']} ({step['component']}) would run with {shown}\n"
                f"    orra approve {execution_id} {step['id']}    or    "
                f"orra reject {execution_id} {step['id']} --reason …"
            )
        )
    return Group(*lines)


def outcome(body: dict[str, Any]) -> Any:
    """The steps and the result; for a run that planned nothing, just why."""
    if not body.get("stepResults"):
        return shown_text(f"{body['status']}: {body.get('error') or 'no plan'}", style="red")
    return Group(steps_table(body), result_panel(body))


def _follow(client: Client, accepted: dict[str, Any], timeout: float, show: bool) -> Any:
    """Draw each step's progress on stderr from the event stream while it runs."""
    execution_id = accepted["executionId"]
    if accepted["status"] in TERMINAL:
        return client.orchestration(execution_id)
    run = LiveRun.of(accepted)
    deadline = time.monotonic() + timeout
    with Live(progress_table(run), console=err, transient=True, auto_refresh=False) as live:
        for _event in follow(client, run, timeout=timeout, deadline=deadline):
            if show:
                live.update(progress_table(run), refresh=True)
            if run.waiting:
                return client.orchestration(execution_id)  # a person decides next
    try:
        return client.wait_until(execution_id, deadline, timeout)
    except OrchestrationTimeout as late:  # say why it waits (a paused run names its services)
        if late.status != OrchestrationStatus.PAUSED or not run.reason:
            raise
        raise OrchestrationTimeout(execution_id, late.status, timeout, run.reason) from None


@asks
def run(
    asked: Asked,
    wait: Annotated[bool, typer.Option(help="wait for the result, showing progress")] = True,
    timeout: TimeoutOpt = 300.0,
    approve: ApproveOpt = None,
    approval_timeout: ApprovalTimeoutOpt = None,
) -> None:
    """Orchestrate an action and (by default) wait for its result. Exit 3 if it did not
    complete, 4 if --timeout passed first, 5 if a step waits for a person's approval."""
    _run(asked, wait, timeout, _run_options(approve, approval_timeout))


@verify.command("run")
@asks
def verify_run(asked: Asked, timeout: TimeoutOpt = 300.0) -> None:
    """Orchestrate an action with data parameters and wait for it (as ``orra run``)."""
    _run(asked, True, timeout)


@command
def ps(
    project: ProjectOpt = None,
    status: Annotated[str | None, typer.Option(help="only this status, e.g. FAILED")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="at most this many, newest first")
    ] = 50,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="refresh until every one listed has ended")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="seconds between refreshes with -w")
    ] = 1.0,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """List the project's orchestrations."""
    with client_for(project) as client:
        rows = client.orchestrations(status=status, limit=limit)
        if watch and output is Output.table and not as_json:
            with Live(orchestrations_table(rows), console=out, auto_refresh=False) as live:
                while any(r["status"] not in TERMINAL for r in rows):
                    time.sleep(interval)
                    rows = client.orchestrations(status=status, limit=limit)
                    live.update(orchestrations_table(rows), refresh=True)
            return
    emit(rows, output, as_json, orchestrations_table)


@command
def inspect(
    execution_id: Annotated[str, typer.Argument(help="the orchestration's id")],
    detailed: Annotated[
        bool, typer.Option("--detailed", "-d", help="inputs, outputs and compensation history")
    ] = False,
    updates: Annotated[
        bool, typer.Option("--updates", help="interim updates of each step")
    ] = False,
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """An orchestration: status, plan provenance, step timeline, result or abort reason."""
    with client_for(project) as client:
        body = client.orchestration(execution_id)
        made = client.plan_of(execution_id)
        aborted = body["status"] == OrchestrationStatus.ABORTED
        logs = client.logs(execution_id)["logs"] if updates or aborted else []
    body["planProvenance"] = {k: made.get(k) for k in ("source", "model", "repairRounds", "cache")}
    if aborted:  # what the aborting service said: only its event carries it
        reasons = [line["payload"] for line in logs if line["event"] == EventKind.STEP_ABORTED]
        body["abortReason"] = reasons[0] if reasons else None
    if updates:
        body["updates"] = [
            {"stepId": line["stepId"], "time": line["time"], "update": line["payload"]}
            for line in logs
            if line["event"] == EventKind.STEP_INTERIM_RESULT
        ]
    emit(body, output, as_json, lambda b: _inspection(b, detailed))


def _inspection(body: dict[str, Any], detailed: bool) -> Group:
    summary = {
        "id": body["executionId"],
        "status": body["status"],
        "action": action_text(body.get("action")),
        "started": body.get("startTime"),
        "ended": body.get("endTime"),
        "planned by": ", ".join(f"{k}={v}" for k, v in body["planProvenance"].items() if v),
        "abort reason": body.get("abortReason"),
        "error" if body["status"] != OrchestrationStatus.COMPLETED else "result": body.get("error")
        or body.get("result"),
    }
    parts: list[Any] = [card(summary, title="Orchestration"), _timeline(body)]
    if detailed:
        for step in body["stepResults"]:
            detail = {"input": step.get("input"), "output": step.get("output")}
            detail["error"] = step.get("error")
            parts.append(card(detail, title=f"{step['id']} · {step['component']}"))
        if body.get("compensations"):
            columns = ["stepId", "component", "status", "reason", "attempts", "error"]
            parts.append(records_table(body["compensations"], columns, "Compensations"))
    if "updates" in body:
        parts.append(records_table(body["updates"], ["stepId", "time", "update"], "Updates"))
    return Group(*parts)


def _timeline(body: dict[str, Any]):
    """The steps with their times on the clock of the day the run started."""
    day = (body.get("startTime") or "")[:10]
    rows = [
        {
            **step,
            "tries": step.get("attempts"),
            "started": clock(step.get("startTime"), day),
            "took": took(step.get("startTime"), step.get("endTime")),
        }
        for step in body["stepResults"]
    ]
    whole = ("status", "tries", "started", "took")  # fits 80 columns; the component folds
    return records_table(rows, ["id", "component", *whole], "Steps", whole)


@shows(logs_table, lines=lambda body: body["logs"])
def logs(
    client: Client, execution_id: Annotated[str, typer.Argument(help="the orchestration's id")]
) -> Logs:
    """Fetch the logs for an orchestration."""
    return client.logs(execution_id)
