"""One orchestration, live: its plan graph coloured by step status, a timeline with every
attempt as its own bar, the steps, the log, how the plan was made (and each revision of it),
Approve/Reject for a step that waits for a person, Cancel and re-runs.

It polls the control plane twice a second until the orchestration has ended (then stops), so a
step's node turns green within about half a second of its completion being committed.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import panel as pn

from orra_sdk.vocabulary import (
    TERMINAL,
    CompensationFailureStatus,
    CompensationStatus,
    EventKind,
    StepStatus,
)

from ..client import Client
from ..errors import NotFound, OrraError
from ..palette import colour_of
from .compose import open_run_view
from .context import StudioContext
from .drawings import attempts_from_logs, plan_svg, timeline_svg
from .notices import Literal, Notice, set_text

__all__ = ["run_page", "step_rows"]

POLL_MS = 500
#: longest JSON shown in one cell before it is cut
CELL_LIMIT = 400


def _json(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def step_rows(body: dict[str, Any], instances: dict[str, Any] | None = None) -> pd.DataFrame:
    """The steps; ``instances``: the instance number each step was last sent to."""
    instances = instances or {}
    return pd.DataFrame(
        [
            {
                "step": s["id"],
                "component": s["component"],
                "status": str(s["status"]),
                "attempts": s["attempts"],
                "instance": "" if instances.get(s["id"]) is None else str(instances[s["id"]]),
                "input": _json(s.get("input")),
                "output": _json(s.get("output")),
                "error": s.get("error") or "",
            }
            for s in body.get("stepResults", [])
        ],
        columns=["step", "component", "status", "attempts", "instance", "input", "output", "error"],
    )


def _instances(lines: list[dict[str, Any]]) -> dict[str, Any]:
    sent = {}
    for line in lines:
        if line.get("event") == EventKind.STEP_DISPATCHED and isinstance(line.get("payload"), dict):
            sent[line.get("stepId")] = line["payload"].get("instance")
    return sent


def _delivery_rows(deliveries: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["kind", "url", "status", "attempts", "lastStatus", "lastError", "deliveredAt"]
    return pd.DataFrame([{c: d.get(c) or "" for c in columns} for d in deliveries], columns=columns)


def _compensation_rows(body: dict[str, Any]) -> pd.DataFrame:
    columns = ["stepId", "component", "status", "reason", "attempts", "error"]
    rows = body.get("compensations") or []
    return pd.DataFrame([{c: r.get(c) or "" for c in columns} for r in rows], columns=columns)


def _log_rows(lines: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "time": (line.get("time") or "")[11:23],
                "level": line["level"],
                "step": line.get("stepId") or "",
                "event": line["event"],
                "message": line["message"],
            }
            for line in lines
        ],
        columns=["time", "level", "step", "event", "message"],
    )


def _badge(status: str) -> str:
    return (
        f'<span class="orra-status" data-status="{html.escape(status)}" '
        f'style="background:{colour_of(status)};color:white;border-radius:6px;padding:2px 10px;'
        f'font-weight:600">{html.escape(status)}</span>'
    )


def run_page(
    context: StudioContext, client: Client, execution_id: str | None = None
) -> pn.viewable.Viewable:
    """The run view of ``execution_id`` (in the web studio: the page's ``?id=``)."""
    if execution_id is None:
        args = pn.state.session_args or {}
        execution_id = (args.get("id") or [b""])[0].decode(errors="replace").strip()
    problem = Notice()
    if not execution_id:
        problem.show("No orchestration chosen: open one from Executions.", "info")
        return pn.Column(problem)

    status = pn.pane.HTML("", css_classes=["orra-run-status"])
    title = Literal(execution_id, styles={"font-size": "18px", "font-weight": "600"})
    action = Literal("", sizing_mode="stretch_width")
    graph = pn.pane.HTML("", css_classes=["orra-graph"], sizing_mode="stretch_width")
    timeline = pn.pane.HTML("", css_classes=["orra-timeline-pane"], sizing_mode="stretch_width")
    steps = pn.widgets.Tabulator(
        step_rows({}), show_index=False, disabled=True, sizing_mode="stretch_width"
    )
    log = pn.widgets.Tabulator(
        _log_rows([]), show_index=False, disabled=True, sizing_mode="stretch_width", height=300
    )
    result = Literal("", sizing_mode="stretch_width")
    deliveries = pn.widgets.Tabulator(
        _delivery_rows([]), show_index=False, disabled=True, sizing_mode="stretch_width"
    )
    compensations = pn.widgets.Tabulator(
        _compensation_rows({}),
        show_index=False,
        disabled=True,
        sizing_mode="stretch_width",
        css_classes=["orra-compensations"],
    )
    failures = pn.Column(sizing_mode="stretch_width", css_classes=["orra-failures"])
    approvals = pn.Column(sizing_mode="stretch_width", css_classes=["orra-approvals"])
    revisions = Literal("", sizing_mode="stretch_width", css_classes=["orra-revisions"])
    parent = pn.pane.HTML("", css_classes=["orra-parent"])
    provenance = Literal("", sizing_mode="stretch_width")
    reason = pn.widgets.TextInput(placeholder="why (recorded with the cancellation)", width=280)
    cancel = pn.widgets.Button(name="Cancel", button_type="danger", width=100, disabled=True)
    rerun = pn.widgets.Button(name="Re-run with the same input", width=220)
    from_step = pn.widgets.Select(name="", options=[], width=110, css_classes=["orra-from-step"])
    rerun_from = pn.widgets.Button(name="Re-run from this step", width=180)
    edit = pn.pane.HTML(
        f'<a class="orra-edit" href="./compose?from={html.escape(execution_id, quote=True)}">'
        "Edit and re-run</a>"
    )
    state: dict[str, Any] = {
        "callback": None,
        "ended": False,
        "plan": None,
        "revisions": 0,
        "waiting": (),
    }

    def refresh() -> None:
        try:
            body = client.orchestration(execution_id)
            lines = client.logs(execution_id)["logs"]
        except NotFound:
            problem.show(f"No orchestration '{execution_id}' in this project.", "error")
            _stop()
            return
        except OrraError as exc:
            problem.show(f"The control plane did not answer: {exc}", "error")
            return
        problem.hide()
        revised = body.get("revisions") or []
        if state["plan"] is None or len(revised) != state["revisions"]:
            made = client.plan_of(execution_id)  # again after a revision: the current plan
            state["plan"], state["revisions"] = made.get("plan"), len(revised)
            provenance.object = _provenance(made)
            revisions.object = "\n".join(_revision_line(r) for r in revised) or "none"
            from_step.options = [s["id"] for s in (state["plan"] or {}).get("steps", [])]
            if from_step.value not in from_step.options and from_step.options:
                from_step.value = from_step.options[-1]  # shown, not blank: the last step
        if body.get("parentId") and not parent.object:
            target = html.escape(str(body["parentId"]), quote=True)
            parent.object = f're-run of <a href="./run?id={target}">{target}</a>'
        waiting = tuple(
            s["id"]
            for s in body.get("stepResults", [])
            if s["status"] == StepStatus.AWAITING_APPROVAL
        )
        if waiting != state["waiting"]:  # rebuilt only when it changes: edits survive polls
            state["waiting"] = waiting
            by_id = {s["id"]: s for s in body.get("stepResults", [])}
            deadlines = _deadlines(client, execution_id) if waiting else {}
            approvals.objects = [
                _approval_card(client, execution_id, by_id[i], deadlines.get(i), refresh)
                for i in waiting
            ]
        undoing = any(
            c.get("status") in (CompensationStatus.PENDING, CompensationStatus.RUNNING)
            for c in body.get("compensations") or []
        )
        finished = body["status"] in TERMINAL
        settled = finished and not undoing  # nothing more will change
        status.object = _badge(str(body["status"]))
        act = body.get("action") or {}
        action.object = f"{act.get('type', '')}: {act.get('content', '')}"
        statuses = {s["id"]: str(s["status"]) for s in body.get("stepResults", [])}
        graph.object = plan_svg(state["plan"], statuses)
        attempts = attempts_from_logs(lines)
        timeline.object = timeline_svg(attempts, now=None if finished else datetime.now(UTC))
        steps.value = step_rows(body, _instances(lines))
        log.value = _log_rows(lines)
        compensations.value = _compensation_rows(body)
        if body.get("error"):
            result.object = f"error: {body['error']}"
        elif body.get("result") is not None:
            result.object = json.dumps(body["result"], indent=2, ensure_ascii=False)
        cancel.disabled = finished
        if settled and _ended(body):
            _stop()

    def _ended(body: dict[str, Any]) -> bool:
        """Once it has ended: where its outcome was delivered, and undos that need a person.
        False while a failed undo's record is not readable yet (the run's state is shown the
        moment it changes, the record once committed): the polling goes on until it is."""
        try:
            deliveries.value = _delivery_rows(client.deliveries(execution_id))
            every = client.compensation_failures(None, execution_id)
        except OrraError as exc:
            problem.show(str(exc), "error")
            return False
        pending = [f for f in every if f["status"] == CompensationFailureStatus.PENDING]
        failures.objects = [_failure_card(client, f) for f in pending]
        failed_undos = [
            c
            for c in body.get("compensations") or []
            if c.get("status") == CompensationStatus.FAILED
        ]
        return len(every) >= len(failed_undos)

    def _stop() -> None:
        state["ended"] = True
        if state["callback"] is not None:
            state["callback"].stop()
            state["callback"] = None

    def do_cancel(_event: Any) -> None:
        try:
            client.cancel(execution_id, reason.value_input or None)
        except OrraError as exc:
            problem.show(str(exc), "error")
            return
        refresh()

    def do_rerun(step: str | None) -> None:
        try:
            accepted = client.rerun(execution_id, from_step=step)
        except OrraError as exc:
            problem.show(str(exc), "error")
            return
        open_run_view(accepted["executionId"])

    cancel.on_click(do_cancel)
    rerun.on_click(lambda _e: do_rerun(None))
    rerun_from.on_click(lambda _e: do_rerun(from_step.value))

    def start_polling() -> None:
        """Poll once the browser is connected: a change made between the first render and
        the connection could be lost under load (a failure card never drawn), so the page
        is refreshed again first, then every ``POLL_MS`` until nothing more will change."""
        if state["ended"]:
            return  # everything was in the first render
        refresh()
        if not state["ended"]:
            state["callback"] = pn.state.add_periodic_callback(refresh, period=POLL_MS)

    refresh()  # the first render; when the orchestration has settled, nothing more to poll
    pn.state.onload(start_polling)
    return pn.Column(
        pn.Row(title, status, parent),
        action,
        problem,
        pn.Row(reason, cancel),
        pn.Row(rerun, from_step, rerun_from, edit),
        approvals,
        *_sections(
            ("Plan", graph),
            ("Plan revisions", revisions),
            ("Timeline (a bar per attempt)", timeline),
            ("Steps", steps),
            ("Result", result),
            ("Compensations", compensations),
            ("Compensations that need a person", failures),
            ("Webhook deliveries", deliveries),
            ("Log", log),
            ("How the plan was made", provenance),
        ),
        sizing_mode="stretch_width",
    )


def _sections(*parts: tuple[str, Any]) -> list[Any]:
    """A heading before each part."""
    return [item for title, part in parts for item in (pn.pane.Markdown(f"#### {title}"), part)]


def _failure_card(client: Client, failure: dict[str, Any]) -> pn.viewable.Viewable:
    """A compensation that failed for good: what failed, and Resolve / Ignore with a reason."""
    said = Notice()
    said.show(
        f"{failure['stepId']} ({failure['component']}): {failure.get('failure') or ''} "
        f"after {failure['attempts']} attempt(s)",
        "error",
    )
    reason = pn.widgets.TextInput(placeholder="what was done, for the record", width=300)
    resolve = pn.widgets.Button(name="Resolve", button_type="primary", width=100)
    ignore = pn.widgets.Button(name="Ignore", width=100)

    def settle(verb: str) -> None:
        why = (reason.value_input or "").strip()
        if not why:
            said.show("Say what was done (or why nothing needs doing) first.", "error")
            return
        settle_call = (
            client.resolve_compensation_failure
            if verb == "resolve"
            else client.ignore_compensation_failure
        )
        try:
            done = settle_call(failure["id"], why)
        except OrraError as exc:
            said.show(str(exc), "error")
            return
        said.show(f"{failure['stepId']}: {done['status']} ({why})", "success")
        resolve.disabled = ignore.disabled = True

    resolve.on_click(lambda _e: settle("resolve"))
    ignore.on_click(lambda _e: settle("ignore"))
    return pn.Column(said, pn.Row(reason, resolve, ignore), css_classes=["orra-failure"])


#: pages of GET /approvals read to find one run's deadlines (10,000 waiting steps)
_APPROVAL_PAGES = 20


def _deadlines(client: Client, execution_id: str) -> dict[str, str | None]:
    """When each waiting step of this run is rejected without a decision (None: never)."""
    found: dict[str, str | None] = {}
    cursor = None
    try:
        for _ in range(_APPROVAL_PAGES):  # the run's steps may be on any page
            page = client.approval_page(500, cursor=cursor)
            for a in page["approvals"]:
                if a["executionId"] == execution_id:
                    found[a["stepId"]] = a.get("expiresAt")
            cursor = page.get("nextCursor")
            if not cursor:
                break
    except OrraError:
        pass  # the card still shows; only its deadline is missing
    return found


def _approval_card(
    client: Client,
    execution_id: str,
    step: dict[str, Any],
    expires_at: str | None,
    changed: Any,
) -> pn.viewable.Viewable:
    """A step that waits for a person: its input (editable JSON), Approve, Reject with why."""
    said = Notice()
    deadline = f" (rejected without a decision at {expires_at})" if expires_at else ""
    said.show(f"{step['id']} ({step['component']}) waits for your approval{deadline}", "warning")
    shown = step.get("input")
    editor = pn.widgets.TextAreaInput(
        name="Input it will run with (JSON)", height=90, sizing_mode="stretch_width"
    )
    set_text(editor, json.dumps(shown, indent=1, ensure_ascii=False))
    reason = pn.widgets.TextInput(placeholder="why (to reject)", width=300)
    approve = pn.widgets.Button(name="Approve", button_type="success", width=100)
    reject = pn.widgets.Button(name="Reject", button_type="danger", width=100)

    def decide(verb: str) -> None:
        try:
            if verb == "approve":
                edited = json.loads(editor.value_input or "null")
                changed_input = edited if edited != shown else None
                client.approve(execution_id, step["id"], input=changed_input, approver="studio")
            else:
                why = (reason.value_input or "").strip()
                if not why:
                    said.show("Say why first: the reason is recorded.", "error")
                    return
                client.reject(execution_id, step["id"], why, approver="studio")
        except ValueError as exc:
            said.show(f"The input is not JSON: {exc}", "error")
            return
        except OrraError as exc:
            said.show(str(exc), "error")
            return
        said.show(f"{step['id']}: {verb}d", "success")
        approve.disabled = reject.disabled = True
        changed()

    approve.on_click(lambda _e: decide("approve"))
    reject.on_click(lambda _e: decide("reject"))
    return pn.Column(said, editor, pn.Row(approve, reject, reason), css_classes=["orra-approval"])


def _revision_line(revision: dict[str, Any]) -> str:
    replaced = ", ".join(revision.get("replaced") or [])
    added = ", ".join(revision.get("added") or [])
    excluded = ", ".join(revision.get("excluded") or [])
    return (
        f"revision {revision.get('revision')}: {replaced} → {added} (without {excluded}; "
        f"by {revision.get('source') or 'the planner'}) because {revision.get('reason')}"
    )


def _provenance(made: dict[str, Any]) -> str:
    parts = [f"source: {made.get('source') or 'unknown'}"]
    if made.get("model"):
        parts.append(f"model: {made['model']}")
    parts.append(f"cache: {made.get('cache') or 'none'}")
    parts.append(f"repair rounds: {made.get('repairRounds', 0)}")
    reasoning = (made.get("provenance") or {}).get("reasoning")
    if reasoning:
        parts.append(f"reasoning: {reasoning}")
    return "\n".join(parts)
