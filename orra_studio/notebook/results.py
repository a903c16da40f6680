"""An orchestration as a notebook shows it: an HTML summary, DataFrames of its steps."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from ..palette import colour_of

__all__ = ["OrchestrationResult", "plan_html"]

#: longest JSON shown in one HTML cell before it is cut
DISPLAY_LIMIT = 300


def shown_text(value: Any) -> str:
    """A value as one line of text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _badge(status: str) -> str:
    colour = colour_of(status)
    return (
        f'<span style="background:{colour};color:white;border-radius:4px;padding:1px 6px">'
        f"{html.escape(status)}</span>"
    )


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > DISPLAY_LIMIT:
        text = text[: DISPLAY_LIMIT - 1] + "…"
    return f"<td><code>{html.escape(text)}</code></td>"


def plan_html(plan: dict[str, Any]) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(s['id'])}</td><td>{html.escape(s['component'])}</td>"
        f"<td>{html.escape(s.get('action') or '')}</td>{_cell(s.get('input') or {})}"
        f"<td>{html.escape(', '.join(s.get('dependencies') or []) or '—')}</td></tr>"
        for s in plan.get("steps", [])
    )
    groups = " → ".join("[" + ", ".join(g) + "]" for g in plan.get("parallelExecutionGroups", []))
    return (
        "<table><thead><tr><th>step</th><th>component</th><th>action</th><th>input</th>"
        f"<th>depends on</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p>parallel groups: {html.escape(groups)}</p>"
    )


def _ms(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1000


class OrchestrationResult:
    """What ``%orra run`` and ``%orra inspect`` return: ``.status``, ``.result``,
    ``.to_pandas()`` (one row per step), ``.timings()``, ``.json()``."""

    def __init__(self, body: dict[str, Any], plan: dict[str, Any] | None = None) -> None:
        self.body = body
        self.plan = plan

    @property
    def execution_id(self) -> str:
        return self.body["executionId"]

    @property
    def status(self) -> str:
        return self.body["status"]

    @property
    def result(self) -> Any:
        return self.body.get("result")

    @property
    def error(self) -> str | None:
        return self.body.get("error")

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.body.get("stepResults", [])

    @property
    def compensations(self) -> list[dict[str, Any]]:
        """What was undone after a failure, abort or cancel (newest completion first)."""
        return self.body.get("compensations", [])

    def output(self, step_id: str) -> Any:
        return next(s.get("output") for s in self.steps if s["id"] == step_id)

    def json(self) -> dict[str, Any]:
        return self.body

    def to_pandas(self):  # -> pandas.DataFrame
        """One row per step: status, attempts, times, duration, input, output, error."""
        import pandas as pd

        rows = [
            {
                "step": s["id"],
                "component": s["component"],
                "status": s["status"],
                "attempts": s.get("attempts"),
                "start": pd.Timestamp(s["startTime"]) if s.get("startTime") else pd.NaT,
                "end": pd.Timestamp(s["endTime"]) if s.get("endTime") else pd.NaT,
                "duration_ms": _ms(s.get("startTime"), s.get("endTime")),
                "input": s.get("input"),
                "output": s.get("output"),
                "error": s.get("error"),
            }
            for s in self.steps
        ]
        return pd.DataFrame(rows).set_index("step") if rows else pd.DataFrame()

    def timings(self):  # -> pandas.DataFrame
        """When each step ran, relative to the orchestration's start (for a Gantt chart)."""
        frame = self.to_pandas()
        if frame.empty:
            return frame
        start = frame["start"].min()
        return frame.assign(offset_ms=(frame["start"] - start).dt.total_seconds() * 1000)[
            ["component", "status", "offset_ms", "duration_ms", "attempts"]
        ]

    def __repr__(self) -> str:
        return f"<OrchestrationResult {self.execution_id} {self.status}>"

    def _repr_html_(self) -> str:
        parts = [f"<h4>Orchestration <code>{self.execution_id}</code> {_badge(self.status)}</h4>"]
        total = _ms(self.body.get("startTime"), self.body.get("endTime"))
        if total is not None:
            parts.append(f"<p>{len(self.steps)} step(s) in {total:.0f} ms</p>")
        if self.error:
            parts.append(f"<p style='color:#cf222e'>{html.escape(self.error)}</p>")
        if self.plan:
            parts.append(plan_html(self.plan))
        rows = "".join(
            f"<tr><td>{html.escape(s['id'])}</td><td>{html.escape(s['component'])}</td>"
            f"<td>{_badge(s['status'])}</td><td>{s.get('attempts', '')}</td>"
            f"{_cell(s.get('output') if s.get('error') is None else s['error'])}</tr>"
            for s in self.steps
        )
        parts.append(
            "<table><thead><tr><th>step</th><th>component</th><th>status</th>"
            f"<th>attempts</th><th>output / error</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        if self.compensations:
            undone = "".join(
                f"<tr><td>{html.escape(c['stepId'])}</td><td>{html.escape(c['component'])}</td>"
                f"<td>{html.escape(c['status'])}</td><td>{html.escape(c.get('reason') or '')}</td>"
                f"<td>{c.get('attempts', '')}</td>{_cell(c.get('error') or c.get('result'))}</tr>"
                for c in self.compensations
            )
            parts.append(
                "<b>compensations</b><table><thead><tr><th>step</th><th>component</th>"
                "<th>status</th><th>reason</th><th>attempts</th><th>result / error</th></tr>"
                f"</thead><tbody>{undone}</tbody></table>"
            )
        if self.result is not None:
            parts.append(f"<b>result</b><table><tr>{_cell(self.result)}</tr></table>")
        return "".join(parts)
