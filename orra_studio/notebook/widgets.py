"""ipywidgets for the notebook: a plan preview you can edit and run, and live run progress.

State lives in traitlets and plain attributes (``plan``, ``status``, ``result``) so tests and
code can drive a widget headless: set an editor's ``value``, call ``run_button.click()``.
"""

from __future__ import annotations

import copy
import html
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

from orra_sdk.vocabulary import (
    ATTEMPT_ENDINGS,
    TERMINAL,
    DrawnState,
    OrchestrationStatus,
    StepStatus,
    SubmissionStatus,
)

from .. import live
from ..client import Client
from ..errors import ApiError, OrraError
from ..live import LiveRun
from ..studio import drawings
from .approval_cards import ApprovalCard, ApprovalsPanel
from .results import OrchestrationResult, plan_html, shown_text
from .static_copy import StaticCopy, hider

__all__ = [
    "ApprovalCard",
    "ApprovalsPanel",
    "PlanPreview",
    "RunProgress",
    "follow",
    "follow_in_background",
    "plan_svg",
]


# one drawing of a plan for the notebook and the web studio
plan_svg = drawings.plan_svg


def _parsed(text: str, original: Any) -> Any:
    """Text back into the input's type: strings stay text, everything else is JSON."""
    if isinstance(original, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _bar_style(status: str) -> str:
    """Green when done well, red when ended otherwise, blue while it runs."""
    if status == OrchestrationStatus.COMPLETED:
        return "success"
    return "danger" if status in TERMINAL else "info"


class RunProgress(StaticCopy, w.VBox):
    """A bar of finished steps, the plan graph coloured by step status (the web studio's run
    view draws the same graph with the same code) and one row per step.

    It is fed the server-sent events (``apply``), so it needs no Panel and works wherever
    ipywidgets do; ``%orra studio ID`` shows the studio's whole run view instead."""

    status = traitlets.Unicode(StepStatus.PENDING)

    def __init__(
        self, accepted: dict[str, Any], client: Client | None = None, **kwargs: Any
    ) -> None:
        #: the run as its events tell it (the model the CLI and the studio read too)
        self.progress = LiveRun.of(accepted)
        self.client = client
        self.bar = w.IntProgress(value=0, min=0, max=max(1, len(self.progress.steps)))
        self.graph = w.HTML()
        self.table = w.HTML()
        #: step id → its Approve/Reject card, while it waits (needs ``client``)
        self.approvals: dict[str, ApprovalCard] = {}
        self.approval_box = w.VBox()
        parts = [self.bar, self.graph, self.table, self.approval_box, hider()]
        super().__init__(parts, **kwargs)
        self.status = self.progress.status
        self._draw()

    #: print a line per finished step (where no frontend draws widgets)
    progress_lines = False

    @property
    def plan(self) -> dict[str, Any] | None:
        return self.progress.plan

    def apply(self, event: dict[str, Any]) -> None:
        """Fold ``event`` in (once: one seen already changes nothing) and draw."""
        self.progress.apply(event)
        self.bar.max = max(1, len(self.progress.steps))
        self._offer_approvals()
        self.status = self.progress.status
        self._draw()
        step = self.progress.steps.get(event.get("stepId") or "")
        if self.progress_lines and step is not None and event.get("type") in ATTEMPT_ENDINGS:
            print(f"{step.id} {step.component}: {step.status} (attempt {step.attempts})")

    def finish(self, body: dict[str, Any]) -> None:
        self.reason = body.get("error")
        self.progress.finish(body)
        self.status = body["status"]
        self._draw()
        self.refresh_static()

    #: why it ended without running (NOT_ACTIONABLE) or failed, once known
    reason: str | None = None
    #: the outcome, once a background follow has seen the end
    result: OrchestrationResult | None = None

    def _offer_approvals(self) -> None:
        """A card with Approve/Reject for each step that waits; gone once it is decided."""
        if self.client is None:
            return
        waiting = {s.id: s for s in self.progress.waiting}
        for step_id, step in waiting.items():
            if step_id not in self.approvals:
                self.approvals[step_id] = ApprovalCard(
                    self.client,
                    self.progress.execution_id,
                    step_id,
                    step.component,
                    step.waiting_input,
                )
        for step_id in [i for i in self.approvals if i not in waiting]:
            del self.approvals[step_id]
        self.approval_box.children = tuple(self.approvals.values())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget where a frontend draws widgets, else the last drawn table."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        status = html.escape(self.progress.status)
        head = f"<p><b>{html.escape(self.progress.execution_id)}</b>: {status}</p>"
        return head + self.graph.value + self.table.value

    def _draw(self) -> None:
        self.bar.value = self.progress.done
        self.bar.description = self.progress.status
        self.bar.bar_style = _bar_style(self.progress.status)
        statuses = {s.id: str(s.status) for s in self.progress.steps.values()}
        self.graph.value = plan_svg(self.plan, statuses) if self.progress.steps else ""
        if not self.progress.steps:  # nothing was planned: say why instead of an empty table
            self.bar.layout.display = "none"
            self.table.value = (
                f"<b>{html.escape(self.progress.status)}</b>: "
                f"{html.escape(self.reason or self.progress.message or 'no plan')}"
            )
            return
        rows = "".join(
            f"<tr><td>{s.id}</td><td>{html.escape(s.component)}</td><td>{s.status}</td>"
            f"<td>{s.attempts}</td>"
            f"<td>{html.escape(shown_text(s.last_update or s.error or ''))}</td></tr>"
            for s in self.progress.steps.values()
        )
        self.table.value = (
            "<table><tr><th>step</th><th>component</th><th>status</th><th>attempts</th>"
            f"<th>latest</th></tr>{rows}</table>"
        )


def follow(
    client: Client,
    accepted: dict[str, Any],
    view: RunProgress,
    timeout: float,
    *,
    stop_when_waiting: bool = False,
) -> OrchestrationResult | None:
    """Feed ``view`` from the event stream until the orchestration ends.

    With ``stop_when_waiting``, return None as soon as a step waits for approval: a notebook
    cell must end for the widget's Approve/Reject buttons to be heard (the kernel handles
    clicks between cells). :func:`follow_in_background` then keeps the widget live.
    """
    execution_id = accepted["executionId"]
    deadline = time.monotonic() + timeout
    if accepted["status"] not in TERMINAL:
        for event in live.follow(client, view.progress, timeout=timeout, deadline=deadline):
            view.apply(event)  # folded already: this draws it
            if stop_when_waiting and view.approvals:
                return None
    body = client.wait_until(execution_id, deadline, timeout)
    view.finish(body)
    return OrchestrationResult(body, accepted.get("plan"))


def follow_in_background(
    client: Client, accepted: dict[str, Any], view: RunProgress, timeout: float
) -> threading.Thread:
    """Keep ``view`` live from a thread (its stream resumed after the last event it shows)
    until the end;
    ``view.result`` is then the :class:`OrchestrationResult`."""

    def run() -> None:
        try:
            view.result = follow(client, accepted, view, timeout)
        except OrraError as exc:  # the control plane went away: say so in the widget
            view.table.value += f"<p>{html.escape(str(exc))}</p>"

    thread = threading.Thread(target=run, name=f"orra-follow-{accepted['executionId']}")
    thread.daemon = True
    thread.start()
    return thread


class PlanPreview(StaticCopy, w.VBox):
    """A dry run's plan: view it as a table or a graph, edit step inputs, leave steps out, run.

    After ``run_button.click()``: ``.result`` is the :class:`OrchestrationResult` and
    ``.status`` its status (or ``INVALID`` with ``.message`` when the server refused the plan).
    """

    status = traitlets.Unicode(SubmissionStatus.PREVIEW)
    message = traitlets.Unicode("")

    def __init__(
        self,
        client: Client,
        action: str | dict[str, Any],
        data: dict[str, Any],
        preview: dict[str, Any],
        *,
        timeout: float = 300.0,
        on_result: Callable[[OrchestrationResult], Any] | None = None,
    ) -> None:
        self.client, self.action, self.data, self.preview = client, action, data, preview
        self.timeout = timeout
        self.on_result = on_result
        self.original: dict[str, Any] = copy.deepcopy(preview.get("plan") or {"steps": []})
        self.result: OrchestrationResult | None = None
        #: step id → input field → text editor
        self.inputs: dict[str, dict[str, w.Text]] = {}
        #: step id → keep this step?
        self.include: dict[str, w.Checkbox] = {}
        #: step id → wait for a person's approval before it runs?
        self.gates: dict[str, w.Checkbox] = {}
        self.view = w.ToggleButtons(options=["table", "graph"], value="table")
        self.diagram = w.HTML()
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.notice = w.HTML()
        self.output = w.Output()
        self.progress_box = w.VBox()
        editors = [self._step_editor(step) for step in self.original["steps"]]
        super().__init__(
            [
                self.view,
                self.diagram,
                w.HTML("<b>Inputs</b> (text; JSON for other types)"),
                *editors,
                self._validation_html(),
                w.HBox([self.run_button, self.notice]),
                self.progress_box,
                self.output,
                hider(),
            ]
        )
        self.view.observe(lambda _: self._draw(), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.run_button.disabled = not self.original["steps"]
        self._draw()

    def _step_editor(self, step: dict[str, Any]) -> w.Widget:
        keep = w.Checkbox(
            value=True, description=f"{step['id']} · {step['component']}", indent=False
        )
        self.include[step["id"]] = keep
        gate = w.Checkbox(
            value=bool(step.get("requiresApproval")), description="wait for approval", indent=False
        )
        self.gates[step["id"]] = gate
        fields = {}
        for name, value in (step.get("input") or {}).items():
            fields[name] = w.Text(
                value=shown_text(value), description=name, continuous_update=False
            )
        self.inputs[step["id"]] = fields
        return w.VBox([w.HBox([keep, gate]), *fields.values()], layout=w.Layout(margin="0 0 6px 0"))

    def _validation_html(self) -> w.HTML:
        validation = self.preview.get("validation") or {}
        lines = [
            f"✕ {e['rule']}: {html.escape(e['message'])}" for e in validation.get("errors", [])
        ]
        lines += [f"! {html.escape(x)}" for x in validation.get("warnings", [])]
        if not self.original["steps"]:
            lines.append(html.escape(self.preview.get("message") or "no plan"))
        return w.HTML("<br>".join(lines))

    def _draw(self) -> None:
        plan = self.plan
        self.diagram.value = plan_svg(plan) if self.view.value == "graph" else plan_html(plan)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget where a frontend draws widgets; a static table everywhere else
        (a saved notebook, GitHub, nbconvert), instead of ``PlanPreview(children=(…``."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        return f"<p><b>Plan preview</b> ({html.escape(self.status)})</p>{plan_html(self.plan)}"

    @property
    def plan(self) -> dict[str, Any]:
        """The plan as edited: unchecked steps left out, inputs as typed."""
        steps = []
        for step in self.original["steps"]:
            if not self.include[step["id"]].value:
                continue
            edited = copy.deepcopy(step)
            for name, editor in self.inputs[step["id"]].items():
                edited["input"][name] = _parsed(editor.value, step["input"][name])
            if self.gates[step["id"]].value:
                edited["requiresApproval"] = True
            else:
                edited.pop("requiresApproval", None)
            steps.append(edited)
        return {**self.original, "steps": steps}

    def run(self) -> OrchestrationResult | None:
        """Run the edited plan, showing progress; what the Run button does."""
        self.run_button.disabled = True
        self.notice.value = ""
        try:
            accepted = self.client.submit(self.action, self.data, plan=self.plan)
            progress = RunProgress(accepted, client=self.client)
            self.progress_box.children = (progress,)
            self.status = progress.status
            progress.observe(lambda change: setattr(self, "status", change["new"]), "status")
            self.result = follow(
                self.client, accepted, progress, self.timeout, stop_when_waiting=True
            )
            if self.result is None:  # a step waits for a person: its buttons are below
                follow_in_background(self.client, accepted, progress, self.timeout)
                return None
            self.status = self.result.status
        except ApiError as exc:
            self.status, self.message = DrawnState.INVALID, exc.message
            details = exc.details if isinstance(exc.details, list) else []
            notes = [d.get("message", str(d)) for d in details if isinstance(d, dict)]
            self.notice.value = html.escape("; ".join(notes) or exc.message)
            return None
        except OrraError as exc:
            self.status, self.message = DrawnState.ERROR, str(exc)
            self.notice.value = html.escape(str(exc))
            return None
        finally:
            self.run_button.disabled = False
            self.refresh_static()
        if self.on_result is not None:
            self.on_result(self.result)
        return self.result
