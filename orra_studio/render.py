"""Rich renderings shared by the CLI commands (and later the notebook)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

__all__ = ["plan_table", "result_panel", "steps_table"]

_STATUS_STYLE = {
    "COMPLETED": "green",
    "FAILED": "red",
    "RUNNING": "yellow",
    "PAUSED": "magenta",
    "ABORTED": "red",
    "NOT_ACTIONABLE": "red",
}


def plan_table(plan: dict[str, Any]) -> Group:
    table = Table(title="Plan", show_lines=False)
    for column in ("step", "component", "action", "input", "depends on"):
        table.add_column(column)
    for step in plan["steps"]:
        table.add_row(
            step["id"],
            step["component"],
            step["action"],
            "\n".join(f"{k} ← {v}" for k, v in step["input"].items()),
            ", ".join(step["dependencies"]) or "—",
        )
    groups = "  →  ".join("[" + ", ".join(g) + "]" for g in plan["parallelExecutionGroups"])
    return Group(table, Text(f"parallel groups: {groups}", style="bold"))


def steps_table(body: dict[str, Any]) -> Table:
    table = Table(title=f"Orchestration {body['executionId']}: {body['status']}")
    for column in ("step", "component", "status", "attempts", "output / error"):
        table.add_column(column, overflow="fold")
    for step in body["stepResults"]:
        shown = step["error"] or json.dumps(step["output"])
        if len(shown) > 120:
            shown = shown[:117] + "…"
        table.add_row(
            step["id"],
            step["component"],
            Text(step["status"], style=_STATUS_STYLE.get(step["status"], "")),
            str(step["attempts"]),
            shown,
        )
    return table


def result_panel(body: dict[str, Any]) -> Panel:
    text = (
        json.dumps(body.get("result"), indent=2)
        if body.get("result") is not None
        else (body.get("error") or "no result")
    )
    return Panel(text, title="result", border_style=_STATUS_STYLE.get(body["status"], "white"))
