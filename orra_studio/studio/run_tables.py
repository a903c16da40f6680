"""The run page's tables as data frames: steps, webhook deliveries, compensations, the log.

Text columns only, built from the API's answers, so the tables show every value literally.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from orra_sdk.vocabulary import EventKind

__all__ = [
    "compensation_rows",
    "delivery_rows",
    "instances_of",
    "json_cell",
    "log_rows",
    "step_rows",
]

#: longest JSON shown in one cell before it is cut
CELL_LIMIT = 400


def json_cell(value: Any) -> str:
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
                "input": json_cell(s.get("input")),
                "output": json_cell(s.get("output")),
                "error": s.get("error") or "",
            }
            for s in body.get("stepResults", [])
        ],
        columns=["step", "component", "status", "attempts", "instance", "input", "output", "error"],
    )


def instances_of(lines: list[dict[str, Any]]) -> dict[str, Any]:
    sent = {}
    for line in lines:
        if line.get("event") == EventKind.STEP_DISPATCHED and isinstance(line.get("payload"), dict):
            sent[line.get("stepId")] = line["payload"].get("instance")
    return sent


def delivery_rows(deliveries: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["kind", "url", "status", "attempts", "lastStatus", "lastError", "deliveredAt"]
    return pd.DataFrame([{c: d.get(c) or "" for c in columns} for d in deliveries], columns=columns)


def compensation_rows(body: dict[str, Any]) -> pd.DataFrame:
    columns = ["stepId", "component", "status", "reason", "attempts", "error"]
    rows = body.get("compensations") or []
    return pd.DataFrame([{c: r.get(c) or "" for c in columns} for r in rows], columns=columns)


def log_rows(lines: list[dict[str, Any]]) -> pd.DataFrame:
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
