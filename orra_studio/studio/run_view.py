"""One orchestration, live: its plan graph coloured by step status, a timeline with every
attempt as its own bar, the steps, the log, how the plan was made (and each revision of it),
Approve/Reject for a step that waits for a person, Cancel and re-runs.

It follows the run's server-sent events (:class:`~orra_studio.studio.live_feed.LiveFeed`, off
the page's event loop) and reads the page's data again after each one, so a step's node turns
green as soon as its completion is committed, and nothing is asked while nothing happens.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import panel as pn

from orra_sdk.vocabulary import (
    ENDING_EVENTS,
    TERMINAL,
    CompensationFailureStatus,
    CompensationStatus,
    StepStatus,
)

from ..approval import ApprovalRequest
from ..client import Client
from ..errors import NotFound, OrraError
from .cards import approval_card, deadlines_of, failure_card
from .compose import open_run_view
from .context import StudioContext
from .drawings import attempts_from_logs, plan_svg, timeline_svg, waits_from_logs
from .live_feed import LiveFeed
from .look import mono, pill
from .notices import Literal, Notice, read_only_table
from .run_summary import step_drawer, summary
from .run_tables import compensation_rows, delivery_rows, instances_of, log_rows, step_rows

__all__ = ["run_page"]


def _waiting(body: dict[str, Any]) -> tuple[str, ...]:
    """The steps that wait for a person's approval."""
    steps = body.get("stepResults", [])
    return tuple(s["id"] for s in steps if s["status"] == StepStatus.AWAITING_APPROVAL)


def _settled(body: dict[str, Any]) -> bool:
    """It has ended and no undo is under way: only records written beside it may still come."""
    under_way = (CompensationStatus.PENDING, CompensationStatus.RUNNING)
    undoing = any(c.get("status") in under_way for c in body.get("compensations") or [])
    return body["status"] in TERMINAL and not undoing


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
    title = pn.pane.HTML(mono(execution_id), styles={"font-size": "18px", "font-weight": "600"})
    action = Literal("", sizing_mode="stretch_width")
    graph = pn.pane.HTML("", css_classes=["orra-graph"], sizing_mode="stretch_width")
    timeline = pn.pane.HTML("", css_classes=["orra-timeline-pane"], sizing_mode="stretch_width")
    # the input and output are in the drawer, whole, once a step is clicked
    steps = read_only_table(step_rows({}), "orra-steps", hidden_columns=["input", "output"])
    log = read_only_table(log_rows([]), "orra-log", height=300)
    summary_card = pn.pane.HTML("", css_classes=["orra-summary"], sizing_mode="stretch_width")
    drawer = pn.pane.HTML(
        "<p>Click a step to see its input, output, attempts and events.</p>",
        css_classes=["orra-step-drawer"],
        width=420,
    )
    event_view = pn.widgets.RadioButtonGroup(options=["compact", "JSON"], value="compact")
    events_json = Literal("", sizing_mode="stretch_width", css_classes=["orra-events-json"])
    deliveries = read_only_table(delivery_rows([]), "orra-deliveries")
    compensations = read_only_table(compensation_rows({}), "orra-compensations")
    failures = pn.Column(sizing_mode="stretch_width", css_classes=["orra-failures"])
    for empty_until_drawn in (deliveries, compensations, failures):
        empty_until_drawn.visible = False
    approvals = pn.Column(sizing_mode="stretch_width", css_classes=["orra-approvals"])
    revisions = Literal("", sizing_mode="stretch_width", css_classes=["orra-revisions"])
    parent = pn.pane.HTML("", css_classes=["orra-parent"])
    provenance = Literal("", sizing_mode="stretch_width")
    reason = pn.widgets.TextInput(placeholder="why (recorded with the cancellation)", width=280)
    cancel = pn.widgets.Button(name="Cancel", button_type="danger", width=100)
    rerun = pn.widgets.Button(name="Re-run with the same input", width=220)
    from_step = pn.widgets.Select(name="", options=[], width=110, css_classes=["orra-from-step"])
    rerun_from = pn.widgets.Button(name="Re-run from this step", width=180)
    edit = pn.pane.HTML(
        f'<a class="orra-edit" href="./compose?from={html.escape(execution_id, quote=True)}">'
        "Edit and re-run</a>"
    )
    cancel_row = pn.Row(reason, cancel, css_classes=["orra-cancel-row"])
    rerun_row = pn.Row(rerun, from_step, rerun_from, edit, css_classes=["orra-rerun-row"])
    state: dict[str, Any] = {"feed": None, "ended": False, "plan": None, "revisions": 0}
    state["waiting"], state["seq"] = (), 0  # seq: the last event the data read reflects

    def fetch() -> tuple[dict[str, Any], bool]:
        """What the page shows, read from the control plane (blocking: the live feed calls
        it in a worker thread), and whether nothing more will change."""
        try:
            lines = client.logs(execution_id)["logs"]  # first: the run read next is as new
            body = client.orchestration(execution_id)
            seen: dict[str, Any] = {"body": body, "lines": lines}
            state["seq"] = max([state["seq"], *(line["seq"] for line in lines)])
            if state["plan"] is None or len(body.get("revisions") or []) != state["revisions"]:
                seen["made"] = client.plan_of(execution_id)  # again after a revision
            if _waiting(body) and _waiting(body) != state["waiting"]:
                seen["deadlines"] = deadlines_of(client, execution_id)
            if _settled(body):  # where its outcome went, and undos that need a person
                seen["deliveries"] = client.deliveries(execution_id)
                seen["failures"] = client.compensation_failures(None, execution_id)
        except NotFound:
            return {"missing": True}, True
        except OrraError as exc:
            return {"problem": str(exc)}, False
        # a failed undo's record is written beside its event: settled once it is readable;
        # and once the log read before the run has its end too (else the timeline is behind)
        undos = body.get("compensations") or []
        failed_undos = [c for c in undos if c.get("status") == CompensationStatus.FAILED]
        logged_end = any(line.get("event") in ENDING_EVENTS for line in lines)
        settled = "failures" in seen and len(seen["failures"]) >= len(failed_undos)
        return seen, settled and logged_end

    def draw(seen: dict[str, Any]) -> None:
        if seen.get("missing"):
            problem.show(f"No orchestration '{execution_id}' in this project.", "error")
            _stop()
            return
        if "problem" in seen:
            problem.show(f"The control plane did not answer: {seen['problem']}", "error")
            return
        problem.hide()
        body, lines = seen["body"], seen["lines"]
        revised = body.get("revisions") or []
        if "made" in seen:
            made = seen["made"]
            state["plan"], state["revisions"] = made.get("plan"), len(revised)
            provenance.object = _provenance(made)
            revisions.object = "\n".join(_revision_line(r) for r in revised) or "none"
            from_step.options = [s["id"] for s in (state["plan"] or {}).get("steps", [])]
            if from_step.value not in from_step.options and from_step.options:
                from_step.value = from_step.options[-1]  # shown, not blank: the last step
        if body.get("parentId") and not parent.object:
            target = html.escape(str(body["parentId"]), quote=True)
            parent.object = f're-run of <a href="./run?id={target}">{target}</a>'
        waiting = _waiting(body)
        if waiting != state["waiting"]:  # rebuilt only when it changes: edits survive
            state["waiting"] = waiting
            by_id = {s["id"]: s for s in body.get("stepResults", [])}
            deadlines = seen.get("deadlines") or {}
            approvals.objects = [
                approval_card(client, _request(execution_id, by_id[i], deadlines), refresh)
                for i in waiting
            ]
        finished = body["status"] in TERMINAL
        status.object = pill(str(body["status"]))
        act = body.get("action") or {}
        action.object = f"{act.get('type', '')}: {act.get('content', '')}"
        summary_card.object = summary(body, lines)
        state["body"], state["lines"] = body, lines
        show_step()
        if event_view.value == "JSON":
            events_json.object = json.dumps(lines, indent=2, ensure_ascii=False)
        statuses = {s["id"]: str(s["status"]) for s in body.get("stepResults", [])}
        graph.object = plan_svg(state["plan"], statuses)
        attempts = attempts_from_logs(lines)
        timeline.object = timeline_svg(
            attempts, now=None if finished else datetime.now(UTC), waits=waits_from_logs(lines)
        )
        steps.value = step_rows(body, instances_of(lines))
        log.value = log_rows(lines)
        compensations.value = compensation_rows(body)
        cancel_row.visible = not finished  # the actions the state allows, and no others
        rerun_row.visible = finished
        compensations.visible = bool(body.get("compensations"))  # and no empty sections
        if "deliveries" in seen:
            deliveries.value = delivery_rows(seen["deliveries"])
            deliveries.visible = bool(seen["deliveries"])
            pending = [
                f for f in seen["failures"] if f["status"] == CompensationFailureStatus.PENDING
            ]
            failures.objects = [failure_card(client, f) for f in pending]
            failures.visible = bool(pending)

    def refresh() -> None:
        """Read and draw now (the first render, and after this page's own buttons)."""
        seen, settled = fetch()
        draw(seen)
        if settled:
            _stop()

    def _stop() -> None:
        state["ended"] = True
        if state["feed"] is not None:
            state["feed"].stop()
            state["feed"] = None

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

    def show_step(*_: Any) -> None:
        """The drawer: the step clicked last, in full (kept up to date while it runs)."""
        chosen = state.get("step")
        if chosen and state.get("body"):
            sent = instances_of(state["lines"]).get(chosen)
            drawer.object = step_drawer(state["body"], chosen, state["lines"], sent)

    def pick_step(event: Any) -> None:
        state["step"] = steps.value.iloc[event.row]["step"]
        show_step()

    def switch_events(*_: Any) -> None:
        compact = event_view.value == "compact"
        log.visible, events_json.visible = compact, not compact
        if not compact:
            events_json.object = json.dumps(state.get("lines", []), indent=2, ensure_ascii=False)

    steps.on_click(pick_step)
    event_view.param.watch(switch_events, "value")
    events_json.visible = False
    cancel.on_click(do_cancel)
    rerun.on_click(lambda _e: do_rerun(None))
    rerun_from.on_click(lambda _e: do_rerun(from_step.value))

    def follow() -> None:
        """Follow the run's events once the browser is connected (a change made between the
        first render and the connection is read first), until nothing more will change."""
        if not state["ended"]:
            at = lambda: state["seq"]  # noqa: E731 - read when the stream opens
            state["feed"] = LiveFeed(context, execution_id, fetch, draw, doc, after=at)
            state["feed"].start()

    doc = pn.state.curdoc
    refresh()  # the first render; when the orchestration has settled, nothing more to follow
    pn.state.onload(follow)
    if doc is not None and doc.session_context is not None:
        pn.state.on_session_destroyed(lambda _ctx: _stop())
    tabs = pn.Tabs(
        (
            "Summary",
            pn.Column(
                summary_card,
                *_sections(
                    ("Compensations that need a person", failures),
                    ("Compensations", compensations),
                    ("Webhook deliveries", deliveries),
                ),
                sizing_mode="stretch_width",
            ),
        ),
        (
            "Graph",
            pn.Column(
                graph,
                *_sections(("Plan revisions", revisions), ("How the plan was made", provenance)),
                sizing_mode="stretch_width",
            ),
        ),
        ("Timeline", timeline),
        ("Steps", pn.Row(steps, drawer, sizing_mode="stretch_width")),
        ("Events", pn.Column(event_view, log, events_json, sizing_mode="stretch_width")),
        dynamic=False,
        sizing_mode="stretch_width",
        css_classes=["orra-run-tabs"],
    )
    return pn.Column(
        pn.Row(title, status, parent),
        action,
        problem,
        cancel_row,
        rerun_row,
        approvals,
        tabs,
        sizing_mode="stretch_width",
    )


def _sections(*parts: tuple[str, Any]) -> list[Any]:
    """Each part under its heading, the two shown or hidden together (``part.visible``)."""
    sections = []
    for title, part in parts:
        section = pn.Column(pn.pane.Markdown(f"#### {title}"), part, sizing_mode="stretch_width")
        section.visible = part.visible
        part.param.watch(lambda event, box=section: setattr(box, "visible", event.new), "visible")
        sections.append(section)
    return sections


def _request(
    execution_id: str, step: dict[str, Any], deadlines: dict[str, str | None]
) -> ApprovalRequest:
    return ApprovalRequest(
        execution_id, step["id"], step["component"], step.get("input"), deadlines.get(step["id"])
    )


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
