"""Executions: every orchestration of the project, paged by the server, filtered by status.

Only one page of rows is ever fetched (``GET /orchestrations?limit&offset``), so the page stays
as fast with 100,000 orchestrations as with ten. A row's id links to its run view.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from ..client import Client
from ..errors import OrraError
from ..statuses import OrchestrationStatus
from .context import StudioContext
from .notices import Literal, Notice

__all__ = ["executions_page", "rows_of"]

PAGE_SIZE = 25
ANY = "any status"


def rows_of(orchestrations: list[dict[str, Any]]) -> pd.DataFrame:
    """The table's rows: text columns only, so nothing is interpreted as markup."""
    return pd.DataFrame(
        [
            {
                "id": o["executionId"],
                "status": str(o["status"]),
                "action": str((o.get("action") or {}).get("type", "")),
                "content": str((o.get("action") or {}).get("content", "")),
                "created": (o.get("createdAt") or "")[:19].replace("T", " "),
                "error": o.get("error") or "",
            }
            for o in orchestrations
        ],
        columns=["id", "status", "action", "content", "created", "error"],
    )


def executions_page(context: StudioContext, client: Client) -> pn.viewable.Viewable:
    status = pn.widgets.Select(
        name="Status", options=[ANY, *[s.value for s in OrchestrationStatus]], value=ANY, width=200
    )
    previous = pn.widgets.Button(name="← Newer", width=100, disabled=True)
    following = pn.widgets.Button(name="Older →", width=100)
    refresh = pn.widgets.Button(name="Refresh", width=100)
    where = Literal("", css_classes=["orra-page"])
    problem = Notice()
    table = pn.widgets.Tabulator(
        rows_of([]),
        show_index=False,
        disabled=True,
        sizing_mode="stretch_width",
        formatters={"id": {"type": "link", "urlPrefix": "./run?id=", "target": "_self"}},
        css_classes=["orra-executions"],
    )
    offset = {"value": 0}

    def load(*_: Any) -> None:
        chosen = None if status.value == ANY else status.value
        try:
            rows = client.orchestrations(status=chosen, limit=PAGE_SIZE + 1, offset=offset["value"])
        except OrraError as exc:
            problem.show(str(exc), "error")
            return
        problem.hide()
        table.value = rows_of(rows[:PAGE_SIZE])
        previous.disabled = offset["value"] == 0
        following.disabled = len(rows) <= PAGE_SIZE
        first = offset["value"] + 1 if rows else 0
        where.object = f"{first}–{offset['value'] + min(len(rows), PAGE_SIZE)}, newest first"

    def page_by(step: int) -> None:
        offset["value"] = max(0, offset["value"] + step * PAGE_SIZE)
        load()

    def restart(*_: Any) -> None:
        offset["value"] = 0
        load()

    status.param.watch(restart, "value")
    previous.on_click(lambda _e: page_by(-1))
    following.on_click(lambda _e: page_by(1))
    refresh.on_click(load)
    load()
    return pn.Column(
        pn.Row(status, refresh, previous, following, where),
        problem,
        table,
        sizing_mode="stretch_width",
    )
