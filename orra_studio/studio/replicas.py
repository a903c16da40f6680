"""Replicas: the control plane's processes when it runs on PostgreSQL (docs/scale-out.md).

Each replica with its status, how long since its last heartbeat and how many unfinished runs
it owns, refreshed every two seconds: a replica that stops shows its heartbeat ageing, then
``dead`` with no runs once another has taken them over. On DuckDB there is one process and the
page says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from ..client import Client
from ..types import Replica
from .context import StudioContext
from .notices import Literal, Notice, read_only_table

__all__ = ["replica_rows", "replicas_page"]

_COLUMNS = ["replica", "status", "heartbeat", "runs", "started", "answered"]

EMPTY = (
    "This control plane runs as one process on a DuckDB file: there are no replicas to show. "
    "Started with --db postgresql://…, every replica appears here (docs/scale-out.md)."
)


def replica_rows(replicas: list[Replica]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "replica": r["id"],
                "status": r["status"],
                "heartbeat": f"{r['silentSeconds']:.1f} s ago",
                "runs": r["runs"],
                "started": r["startedAt"][:19].replace("T", " ") + " UTC",
                "answered": "this page's" if r["this"] else "",
            }
            for r in replicas
        ],
        columns=_COLUMNS,
    )


def replicas_page(context: StudioContext, client: Client) -> pn.viewable.Viewable:
    problem = Notice()
    empty = Literal(EMPTY, visible=False)
    table = read_only_table(replica_rows([]), "orra-replicas")

    def load(*_: Any) -> None:
        replicas = problem.answer(client.replicas)
        if replicas is None:
            return
        empty.visible = not replicas
        table.visible = bool(replicas)
        table.value = replica_rows(replicas)

    def start_polling() -> None:
        load()
        pn.state.add_periodic_callback(load, period=2000)

    load()
    pn.state.onload(start_polling)
    return pn.Column(problem, empty, table, sizing_mode="stretch_width")
