"""What the run page says in words: the Summary tab (status, action, timing, why it waits or
ended, the result) and a step's drawer (its input, output, attempts, service and events).

Built as HTML here from escaped values (:mod:`.look`), so data is shown literally.
"""

from __future__ import annotations

import html
import json
from typing import Any

from orra_sdk.vocabulary import EventKind, OrchestrationStatus, StepStatus

from .look import duration, mono, pill, when

__all__ = ["reason_of", "step_drawer", "summary"]

_PRE = (
    'style="white-space:pre-wrap;word-break:break-word;margin:0;'
    'font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px"'
)


def _pretty(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return f"<pre {_PRE}>{html.escape(text)}</pre>"


def _rows(fields: list[tuple[str, str]]) -> str:
    """A two-column card: each label and its (already escaped) HTML."""
    cells = "".join(
        f'<tr><th style="text-align:left;padding:4px 16px 4px 0;color:#57606a;'
        f'font-weight:500;vertical-align:top;white-space:nowrap">{html.escape(label)}</th>'
        f'<td style="padding:4px 0">{value}</td></tr>'
        for label, value in fields
        if value
    )
    return f'<table class="orra-card">{cells}</table>'


def reason_of(body: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """Why it waits or how it ended otherwise than COMPLETED, naming the service."""
    status = body["status"]
    if status == OrchestrationStatus.PAUSED:
        paused = [x for x in lines if x.get("event") == EventKind.ORCHESTRATION_PAUSED]
        return paused[-1]["message"] if paused else "paused: a needed service is offline"
    if status == OrchestrationStatus.AWAITING_APPROVAL:
        waiting = [
            f"{s['id']} ({s['component']})"
            for s in body.get("stepResults", [])
            if s["status"] == StepStatus.AWAITING_APPROVAL
        ]
        return f"{', '.join(waiting)} waits for a person: approve or reject it below"
    return body.get("error") or ""


def summary(body: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """The Summary tab (the action is in the page's header, right above it)."""
    steps = body.get("stepResults", [])
    done = sum(1 for s in steps if s["status"] == StepStatus.COMPLETED)
    started = body.get("startTime") or body.get("createdAt")
    fields = [
        ("status", pill(body["status"])),
        ("id", mono(body["executionId"])),
        ("started", when(started)),
        ("ended", when(body.get("endTime"))),
        ("duration", html.escape(duration(started, body.get("endTime")))),
        ("steps", f"{done} of {len(steps)} completed" if steps else "none planned"),
        ("why", html.escape(reason_of(body, lines))),
    ]
    if body.get("result") is not None:
        fields.append(("result", _pretty(body["result"])))
    return _rows(fields)


def step_drawer(
    body: dict[str, Any], step_id: str, lines: list[dict[str, Any]], instance: Any = None
) -> str:
    """One step in full: what it was given and gave back, its attempts and its events."""
    step = next((s for s in body.get("stepResults", []) if s["id"] == step_id), None)
    if step is None:
        return ""
    events = "".join(
        f"<li>{html.escape((x.get('time') or '')[11:23])} {html.escape(x['message'])}</li>"
        for x in lines
        if x.get("stepId") == step_id
    )
    fields = [
        ("step", mono(step_id)),
        ("service", html.escape(step["component"])),
        ("status", pill(step["status"])),
        ("attempts", str(step.get("attempts", 0))),
        ("instance", html.escape("" if instance is None else str(instance))),
        ("took", html.escape(duration(step.get("startTime"), step.get("endTime")))),
        ("input", _pretty(step.get("input")) if step.get("input") is not None else ""),
        ("output", _pretty(step.get("output")) if step.get("output") is not None else ""),
        ("error", html.escape(step.get("error") or "")),
        ("events", f'<ul style="margin:0;padding-left:18px">{events}</ul>' if events else ""),
    ]
    return f"<h4 style='margin:4px 0 8px'>Step {html.escape(step_id)}</h4>" + _rows(fields)
