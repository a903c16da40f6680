"""The plan graph and the step timeline, drawn as SVG by pure functions.

SVG rather than a canvas plot: it needs no JavaScript library, loads nothing, scales, and every
node and bar is an element a browser test (or a screen reader) can find by its ``data-*``
attributes. All text that comes from data is escaped, so a step id or a component name is shown
literally, never interpreted.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import ATTEMPT_ENDINGS, STEP_STATUS_OF, DrawnState, EventKind, StepStatus

from ..palette import colour_of

__all__ = ["Attempt", "Wait", "attempts_from_logs", "plan_svg", "timeline_svg", "waits_from_logs"]

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 46, 70, 18, 12

#: events that end an attempt of a step, and what they make of it
_ENDS = {event: STEP_STATUS_OF[event] for event in ATTEMPT_ENDINGS}


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _layers(plan: dict[str, Any]) -> list[list[str]]:
    """The plan's parallel groups, or layers computed from the dependencies."""
    groups = plan.get("parallelExecutionGroups")
    if groups:
        return [list(g) for g in groups]
    steps = {s["id"]: s for s in plan.get("steps", [])}
    depth: dict[str, int] = {}

    def level(step_id: str, seen: frozenset[str] = frozenset()) -> int:
        if step_id in depth:
            return depth[step_id]
        deps = [d for d in steps[step_id].get("dependencies") or [] if d in steps and d not in seen]
        depth[step_id] = 1 + max((level(d, seen | {step_id}) for d in deps), default=-1)
        return depth[step_id]

    for step_id in steps:
        level(step_id)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step_id, d in depth.items():
        layers[d].append(step_id)
    return layers


#: fills that tell a plan's components apart, in the order they first appear in it
COMPONENT_FILLS = ("#ddf4ff", "#fbefff", "#dafbe1", "#fff8c5", "#ffebe9", "#e7f3ff", "#f6f8fa")


def plan_svg(
    plan: dict[str, Any] | None,
    statuses: dict[str, str] | None = None,
    *,
    by_component: bool = False,
) -> str:
    """The plan as layers left to right (a layer runs in parallel), edges for dependencies;
    each node's border (and, unless ``by_component``, its fill) shows its step's status, grey
    before the run; with ``by_component`` the fill tells the components apart."""
    if not plan or not plan.get("steps"):
        return '<svg class="orra-plan" width="10" height="10"></svg>'
    statuses = statuses or {}
    steps = {s["id"]: s for s in plan["steps"]}
    layers = _layers(plan)
    position: dict[str, tuple[int, int]] = {}
    for column, layer in enumerate(layers):
        for row, step_id in enumerate(layer):
            position[step_id] = (PAD + column * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + len(layers) * NODE_W + (len(layers) - 1) * GAP_X
    height = PAD * 2 + max(len(layer) for layer in layers) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="orra-plan" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="plan graph">',
        '<defs><marker id="orra-arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#8c959f"/></marker></defs>',
    ]
    for step_id, step in steps.items():
        for dep in step.get("dependencies") or []:
            if dep in position and step_id in position:
                (x1, y1), (x2, y2) = position[dep], position[step_id]
                parts.append(
                    f'<line class="orra-edge" data-from="{_text(dep)}" data-to="{_text(step_id)}" '
                    f'x1="{x1 + NODE_W}" y1="{y1 + NODE_H // 2}" x2="{x2 - 2}" '
                    f'y2="{y2 + NODE_H // 2}" stroke="#8c959f" stroke-width="1.5" '
                    'marker-end="url(#orra-arrow)"/>'
                )
    order = dict.fromkeys(str(s.get("component", "")) for s in steps.values())
    fills = {c: COMPONENT_FILLS[i % len(COMPONENT_FILLS)] for i, c in enumerate(order)}
    for step_id, (x, y) in position.items():
        step = steps.get(step_id, {"component": "?"})
        status = statuses.get(step_id, StepStatus.PENDING)
        colour = colour_of(status)
        component = str(step.get("component", ""))
        fill = (
            f'fill="{fills.get(component, COMPONENT_FILLS[-1])}"'
            if by_component
            else f'fill="{colour}" fill-opacity="0.14"'
        )
        parts.append(
            f'<g class="orra-node" data-step="{_text(step_id)}" data-status="{_text(status)}" '
            f'data-component="{_text(component)}">'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
            f'{fill} stroke="{colour}" stroke-width="2"/>'
            f'<text x="{x + 8}" y="{y + 18}" font-size="12" font-weight="bold" fill="#1f2328">'
            f"{_text(step_id)} · {_text(status)}</text>"
            f'<text x="{x + 8}" y="{y + 36}" font-size="12" fill="#1f2328">'
            f"{_text(_clip(step.get('component', ''), 26))}</text>"
            f"<title>{_text(step_id)}: {_text(step.get('component', ''))} ({_text(status)})</title>"
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One dispatch of a step and how it ended (``RUNNING`` while it has not)."""

    step_id: str
    number: int
    start: datetime
    end: datetime | None
    outcome: str
    instance: int | None = None


@dataclass(frozen=True)
class Wait:
    """A time the run waited: a step for a person (``approval``), or the whole run for an
    instance of a service (``paused``; no step)."""

    kind: str
    start: datetime
    end: datetime | None
    step_id: str | None = None
    why: str = ""


#: what ends a step's wait for a person
_DECIDED = {EventKind.STEP_APPROVED, EventKind.STEP_REJECTED, EventKind.STEP_DISPATCHED}


def waits_from_logs(lines: list[dict[str, Any]]) -> list[Wait]:
    """Every wait of the run, from its log lines: approvals by step, pauses of the run."""
    asked: dict[str, datetime] = {}
    paused: tuple[datetime, str] | None = None
    waits: list[Wait] = []
    for line in lines:
        event, moment, step_id = line.get("event"), _time(line.get("time")), line.get("stepId")
        if moment is None:
            continue
        if event == EventKind.APPROVAL_REQUESTED and step_id:
            asked[step_id] = moment
        elif event in _DECIDED and step_id in asked:
            waits.append(Wait("approval", asked.pop(step_id), moment, step_id))
        elif event == EventKind.ORCHESTRATION_PAUSED:
            paused = paused or (moment, line.get("message") or "paused")
        elif paused is not None and str(event).startswith("orchestration_"):
            waits.append(Wait("paused", paused[0], moment, why=paused[1]))
            paused = None
    waits += [Wait("approval", start, None, step_id) for step_id, start in asked.items()]
    if paused is not None:
        waits.append(Wait("paused", paused[0], None, why=paused[1]))
    return waits


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def attempts_from_logs(lines: list[dict[str, Any]]) -> list[Attempt]:
    """Every attempt of every step, from an orchestration's log lines (``GET …/logs``)."""
    open_: dict[str, dict[str, Any]] = {}
    attempts: list[Attempt] = []
    for line in lines:
        step_id, event, moment = line.get("stepId"), line.get("event"), _time(line.get("time"))
        if not step_id or moment is None:
            continue
        payload = line.get("payload") if isinstance(line.get("payload"), dict) else {}
        if event == EventKind.STEP_DISPATCHED:
            open_[step_id] = {"start": moment, **payload}
        elif event in _ENDS and step_id in open_:
            outcome = _ENDS[event]
            if event == EventKind.STEP_RETRYING and payload.get("kind") == "timeout":
                outcome = DrawnState.TIMEOUT
            attempts.append(_attempt(step_id, open_.pop(step_id), moment, outcome))
    for step_id, started in open_.items():
        attempts.append(_attempt(step_id, started, None, StepStatus.RUNNING))
    return attempts


def _attempt(step_id: str, started: dict[str, Any], end: datetime | None, outcome: str) -> Attempt:
    return Attempt(
        step_id=step_id,
        number=int(started.get("attempt") or 1),
        start=started["start"],
        end=end,
        outcome=outcome,
        instance=started.get("instance"),
    )


def timeline_svg(
    attempts: list[Attempt], now: datetime | None = None, waits: list[Wait] | None = None
) -> str:
    """A Gantt chart: a row per step, a bar per attempt from dispatch to its end (a running
    one to ``now``), coloured by how it ended; a retried attempt's bar is followed by the next.
    Waits show too: a step's wait for a person as an outlined bar on its row, a pause of the
    run as a band across the chart."""
    waits = waits or []
    if not attempts and not waits:
        return '<svg class="orra-timeline" width="10" height="10"></svg>'
    steps = {a.step_id for a in attempts} | {w.step_id for w in waits if w.step_id}
    rows = sorted(steps, key=_step_order)
    moments = [a.start for a in attempts] + [w.start for w in waits]
    start = min(moments)
    ends = [a.end or now or a.start for a in attempts] + [w.end or now or w.start for w in waits]
    end = max(ends)
    span = max((end - start).total_seconds(), 0.001)
    label_w, bar_h, gap, chart_w = 80, 18, 8, 640
    height = PAD * 2 + len(rows) * (bar_h + gap) + 16
    parts = [
        f'<svg class="orra-timeline" xmlns="http://www.w3.org/2000/svg" '
        f'width="{label_w + chart_w + PAD * 2}" height="{height}" role="img" '
        'aria-label="step timeline">'
    ]
    for row, step_id in enumerate(rows):
        y = PAD + row * (bar_h + gap)
        parts.append(
            f'<text x="{PAD}" y="{y + 13}" font-size="12" fill="#1f2328">{_text(step_id)}</text>'
        )
    for wait in waits:
        finish = wait.end or now or wait.start
        x = label_w + PAD + (wait.start - start).total_seconds() / span * chart_w
        w = max(2.0, (finish - wait.start).total_seconds() / span * chart_w)
        took = (finish - wait.start).total_seconds()
        if wait.step_id is None:  # the run paused: a band across every row
            y, h, style = PAD - 2, len(rows) * (bar_h + gap), 'fill="#8250df" fill-opacity="0.12"'
        else:
            y, h = PAD + rows.index(wait.step_id) * (bar_h + gap), bar_h
            style = 'fill="none" stroke="#9a6700" stroke-width="1.5" stroke-dasharray="4 2"'
        what = _text(wait.why or f"{wait.step_id} waited for a person")
        parts.append(
            f'<rect class="orra-wait" data-kind="{wait.kind}" '
            f'data-step="{_text(wait.step_id or "")}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{h}" rx="3" {style}><title>{what} ({took:.1f} s)</title></rect>'
        )
    for attempt in attempts:
        y = PAD + rows.index(attempt.step_id) * (bar_h + gap)
        finish = attempt.end or now or attempt.start
        x = label_w + PAD + (attempt.start - start).total_seconds() / span * chart_w
        w = max(2.0, (finish - attempt.start).total_seconds() / span * chart_w)
        took = (finish - attempt.start).total_seconds() * 1000
        colour = colour_of(
            StepStatus.RUNNING if attempt.outcome == DrawnState.TIMEOUT else attempt.outcome
        )
        parts.append(
            f'<rect class="orra-attempt" data-step="{_text(attempt.step_id)}" '
            f'data-attempt="{attempt.number}" data-outcome="{_text(attempt.outcome)}" '
            f'x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{colour}">'
            f"<title>{_text(attempt.step_id)} attempt {attempt.number}: "
            f"{_text(attempt.outcome)} after {took:.0f} ms</title></rect>"
        )
    bottom = PAD + len(rows) * (bar_h + gap)
    for at in axis_marks(span):  # a time axis: a mark every 1, 2 or 5 units, grid lines up
        x = label_w + PAD + at / span * chart_w
        anchor = "end" if at > span * 0.97 else "middle" if at > 0 else "start"
        parts.append(
            f'<line class="orra-tick" x1="{x:.1f}" y1="{PAD - 4}" x2="{x:.1f}" y2="{bottom}" '
            'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{height - 4}" font-size="11" fill="#6e7781" '
            f'text-anchor="{anchor}">{mark_text(at, span)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _unit(span: float) -> tuple[float, str]:
    """The unit an axis of ``span`` seconds is labelled in."""
    if span < 2:
        return 0.001, "ms"
    if span < 120:
        return 1.0, "s"
    if span < 7200:
        return 60.0, "min"
    return 3600.0, "h"


def axis_marks(span: float, most: int = 8) -> list[float]:
    """Seconds from the start at which to mark a ``span``-second axis: every 1, 2 or 5 × a
    power of ten of its unit, the smallest step giving at most ``most`` marks (with the
    start)."""
    if span <= 0:
        return [0.0]
    unit, _ = _unit(span)
    length = span / unit
    step = 10 ** math.floor(math.log10(length / most))
    for factor in (1, 2, 5, 10):
        if length / (step * factor) <= most:
            step *= factor
            break
    return [i * step * unit for i in range(int(length / step + 1e-9) + 1)]


def mark_text(seconds: float, span: float) -> str:
    """A mark's label in the axis's unit: "250 ms", "1.5 s", "20 min"."""
    unit, name = _unit(span)
    return f"{round(seconds / unit, 6):g} {name}"


def _step_order(step_id: str) -> tuple[int, str]:
    digits = "".join(c for c in step_id if "0" <= c <= "9")[:9]  # ASCII only: '²'.isdigit()
    return (int(digits) if digits else 1 << 30, step_id)
