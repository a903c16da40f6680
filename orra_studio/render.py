"""Rich renderings shared by the CLI commands (and later the notebook)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

__all__ = [
    "STATUS_ICON",
    "action_text",
    "card",
    "clock",
    "listing",
    "literal",
    "shortened",
    "shown_text",
    "visible",
    "logs_table",
    "orchestrations_table",
    "plan_table",
    "progress_table",
    "records_table",
    "result_panel",
    "services_table",
    "steps_table",
    "took",
]

_STATUS_STYLE = {
    OrchestrationStatus.COMPLETED: "green",
    OrchestrationStatus.FAILED: "red",
    OrchestrationStatus.RUNNING: "yellow",
    OrchestrationStatus.PAUSED: "magenta",
    OrchestrationStatus.ABORTED: "red",
    OrchestrationStatus.NOT_ACTIONABLE: "red",
    OrchestrationStatus.CANCELLED: "red",
    StepStatus.RETRYING: "magenta",
}

#: as the original orra CLI shows them
STATUS_ICON = {
    OrchestrationStatus.RUNNING: "◎",
    OrchestrationStatus.COMPLETED: "●",
    OrchestrationStatus.FAILED: "✕",
    OrchestrationStatus.ABORTED: "✕",
    OrchestrationStatus.CANCELLED: "✕",
    OrchestrationStatus.PENDING: "○",
    OrchestrationStatus.NOT_ACTIONABLE: "⊘",
    OrchestrationStatus.PAUSED: "⏸",
}


#: C0 controls but tab and newline, DEL and C1 controls: ESC starts terminal sequences
#: (clear the screen, retitle the window, write the clipboard with OSC 52), CSI (U+009B) is
#: ESC [ on some terminals, CR overwrites the line shown
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␛ for ESC, ␍ for CR
    return "␡" if code == 0x7F else f"\\x{code:02x}"


def visible(text: str) -> str:
    """``text`` with every control character a terminal would act on replaced by a visible
    stand-in: a service's error or a caller's action can put ANSI sequences in its text."""
    return _CONTROLS.sub(_shown, text)


def _add_row(table: Table, *cells: Any) -> None:
    """Add a row whose text cells are shown literally: data is never read as rich markup
    (an output like ``[de] …`` or ``]x/[`` would otherwise vanish or crash the command), nor
    as terminal control sequences."""
    table.add_row(*(literal(c) for c in cells))


def shown_text(value: str, style: str = "") -> Text:
    """``value`` as a rich ``Text`` in ``style``, literally (no markup, no control codes)."""
    return Text(visible(value), style=style)


def literal(value: Any) -> Any:
    """``value`` for ``Console.print``: a plain string as literal text, anything else as is."""
    return Text(visible(value)) if isinstance(value, str) else value


def _id_column(table: Table, name: str, ids: Any = ()) -> None:
    """Ids never wrap nor shrink: a cut id pasted into ``orra inspect`` would not be found.
    (``ids``: the values, so the column is at least as wide as the longest.)"""
    width = max((len(str(i)) for i in ids if i is not None), default=0) or None
    table.add_column(name, no_wrap=True, overflow="ignore", min_width=width)


def plan_table(plan: dict[str, Any]) -> Group:
    table = Table(title="Plan", show_lines=False)
    _id_column(table, "step")
    for column in ("component", "action", "input", "depends on"):
        table.add_column(column)
    for step in plan["steps"]:
        _add_row(
            table,
            step["id"],
            step["component"],
            step["action"],
            "\n".join(f"{k} ← {v}" for k, v in step["input"].items()),
            ", ".join(step["dependencies"]) or "—",
        )
    groups = "  →  ".join("[" + ", ".join(g) + "]" for g in plan["parallelExecutionGroups"])
    return Group(table, Text(f"parallel groups: {groups}", style="bold"))


def steps_table(body: dict[str, Any]) -> Table:
    table = Table(title=shown_text(f"Orchestration {body['executionId']}: {body['status']}"))
    _id_column(table, "step")
    for column in ("component", "status", "tries"):  # whole: the output folds instead
        table.add_column(column, no_wrap=True)
    table.add_column("output / error", overflow="fold")
    for step in body["stepResults"]:
        shown = step["error"] or json.dumps(step["output"], ensure_ascii=False)
        if len(shown) > 120:
            shown = shown[:117] + "…"
        _add_row(
            table,
            step["id"],
            step["component"],
            Text(step["status"], style=_STATUS_STYLE.get(step["status"], "")),
            str(step["attempts"]),
            shown,
        )
    return table


def result_panel(body: dict[str, Any]) -> Panel:
    text = (
        json.dumps(body.get("result"), indent=2, ensure_ascii=False)
        if body.get("result") is not None
        else (body.get("error") or "no result")
    )
    return Panel(
        shown_text(text), title="result", border_style=_STATUS_STYLE.get(body["status"], "white")
    )


def _status(status: str) -> Text:
    return Text(f"{STATUS_ICON.get(status, '·')} {status}", style=_STATUS_STYLE.get(status, ""))


def shortened(value: Any, width: int = 80) -> str:
    """``value`` (JSON unless text) cut to ``width`` characters with an ellipsis."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def records_table(
    rows: list[dict[str, Any]],
    columns: list[str],
    title: str | None = None,
    whole: tuple[str, ...] = (),
):
    """A table of ``rows``; ids and the ``whole`` columns never wrap, the rest fold."""
    table = Table(title=title)
    for column in columns:
        if column == "id" or column.endswith("Id"):
            _id_column(table, column, [r.get(column) for r in rows])
        elif column in whole:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        _add_row(table, *("" if row.get(c) is None else shortened(row.get(c)) for c in columns))
    return table


def listing(columns: list[str], empty: str) -> Callable[[list[Any]], Any]:
    """How a CLI listing prints: a table of ``columns``, or, with no rows, ``empty``, a line
    that says what to do next (an empty frame says nothing)."""

    def render(rows: list[Any]) -> Any:
        return records_table(rows, columns) if rows else empty

    return render


def card(fields: dict[str, Any], title: str | None = None) -> Table:
    """A key/value card (``inspect``)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in fields.items():
        if value is None or value == []:
            continue
        shown = _status(value) if key == "status" else shortened(value, 400)
        _add_row(table, key, shown)
    return Panel(table, title=title) if title else table


def took(start: str | None, end: str | None) -> str:
    """How long from ``start`` to ``end`` (ISO times): ``18 ms``, ``1.2 s``; blank without both."""
    if not start or not end:
        return ""
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def action_text(action: dict[str, Any] | None) -> str:
    """An action as people typed it (``customer-inquiry: tell me more``), the same in every
    listing and card."""
    kind, content = (action or {}).get("type") or "", (action or {}).get("content") or ""
    return f"{kind}: {content}" if content and content != kind else kind


def _created(iso: str | None, today: str) -> str:
    """``04:01:49`` today (UTC), ``12-06 23:59`` before: short enough to stay on one line."""
    if not iso:
        return ""
    return iso[11:19] if iso[:10] == today else f"{iso[5:10]} {iso[11:16]}"


def orchestrations_table(rows: list[dict[str, Any]]) -> Table:
    """A listing as ``docker ps`` draws one (no column rules), so it fits 80 columns: the id
    and the short columns whole, the action folded within its cell."""
    table = Table(title="Orchestrations", box=box.SIMPLE_HEAD)
    _id_column(table, "id", [r["executionId"] for r in rows])
    table.add_column("action", overflow="fold", min_width=10)
    table.add_column("status", overflow="fold")  # AWAITING_APPROVAL folds in 80 columns
    for column in ("steps", "created", "took"):
        table.add_column(column, no_wrap=True)
    today = datetime.now(UTC).date().isoformat()
    for row in rows:
        _add_row(
            table,
            row["executionId"],
            shortened(action_text(row.get("action")), 48),
            _status(row["status"]),
            f"{row.get('stepsCompleted') or 0}/{row['stepsPlanned']}"
            if row.get("stepsPlanned")
            else "",
            _created(row.get("createdAt"), today),
            took(row.get("startTime") or row.get("createdAt"), row.get("endTime")),
        )
    return table


def services_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Services")
    for column in ("name", "kind", "online", "instances", "revertible", "version", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        _add_row(
            table,
            row["name"],
            row.get("kind", "service"),
            Text("yes", style="green") if row.get("online") else Text("no", style="red"),
            str(row.get("instances", 0))
            + (f" (+{row['staleInstances']} stale)" if row.get("staleInstances") else ""),
            "yes" if row.get("revertible") else "no",
            str(row.get("version", "")),
            shortened(row.get("description") or "", 60),
        )
    return table


def clock(iso: str | None, day: str = "") -> str:
    """``2026-12-04T14:44:11.123456Z`` → ``14:44:11.123`` (``12-04 14:44:11.123`` when not on
    ``day``, ``YYYY-MM-DD``): short enough for a column of times within one run."""
    if not iso:
        return ""
    time = iso[11:23]
    return time if iso[:10] == day else f"{iso[5:10]} {time}"


def logs_table(body: dict[str, Any]) -> Table:
    """A run's log, its times on the clock of the day its first event is on (in the title)."""
    day = (body["logs"][0].get("time") or "")[:10] if body["logs"] else ""
    title = f"Logs of {body['executionId']} ({body['status']})" + (f" · {day}" if day else "")
    table = Table(title=shown_text(title))
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("time", no_wrap=True)
    for column in ("level", "step", "message"):
        table.add_column(column, overflow="fold")
    for line in body["logs"]:
        level = line.get("level", "info")
        _add_row(
            table,
            str(line["seq"]),
            clock(line.get("time"), day),
            Text(level, style={"error": "red", "warning": "yellow"}.get(level, "")),
            line.get("stepId") or "",
            line.get("message") or "",
        )
    return table


def progress_table(progress: Any) -> Table:
    """The live display of ``orra run`` (a :class:`~orra_studio.live.LiveRun`)."""
    table = Table(title=shown_text(f"{progress.execution_id}: {progress.status}"))
    _id_column(table, "step")
    for column in ("component", "status", "attempts", "latest"):
        table.add_column(column, overflow="fold")
    for step in progress.steps.values():
        latest = step.error or (shortened(step.last_update, 60) if step.last_update else "")
        _add_row(table, step.id, step.component, _status(step.status), str(step.attempts), latest)
    return table
