"""The store's reads of runs in bulk: a page of a project's runs, their step counts and
their activity over time. Shared by both backends (a mixin of :class:`~.reads.Reads`, whose
plumbing it uses), so the listing's SQL is written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import rows
from .paging import DEFAULT_SORT, SORT_COLUMNS, Cursor, parse_sort
from .records import naive
from .schema import ARROW_SCHEMAS

__all__ = ["RunListing"]

#: the columns a listing reads: a page of results can be gigabytes, and a list shows none
_LISTED = ", ".join(
    name
    for name in ARROW_SCHEMAS["orchestrations"].names
    if name not in {"data", "plan", "result", "webhooks", "options"}
)


class RunListing:
    """Listing reads; ``_all``, ``_rows`` and ``_json_text`` come from :class:`~.reads.Reads`."""

    def _all(self, kind: type[Any], sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _json_text(self, column: str, key: str) -> str:
        raise NotImplementedError

    def orchestrations_of(
        self,
        project_id: str,
        *,
        status: str | None = None,
        action_type: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sort: str = DEFAULT_SORT,
        after: Cursor | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[rows.StoredOrchestration]:
        """Sorted by ``sort`` (newest first by default), starting after ``after`` or at
        ``offset``; ``text`` is found in the action's content, its type or the id, whatever its
        case. Rows come without ``data``, ``plan``, ``result``, ``webhooks`` and ``options``:
        a page of results can be gigabytes, and a list shows none of them."""
        where, params = ["project_id = ?"], [project_id]
        if status:
            where.append("status = ?")
            params.append(status)
        if action_type:
            where.append(f"{self._json_text('action', 'type')} = ?")
            params.append(action_type)
        if text:  # in the content, the action type or the id, whatever its case
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            found = [self._json_text("action", "content"), self._json_text("action", "type"), "id"]
            where.append("(" + " OR ".join(f"{c} ILIKE ? ESCAPE '\\'" for c in found) + ")")
            params.extend([f"%{escaped}%"] * len(found))
        if since is not None:
            where.append("created_at >= ?")
            params.append(naive(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(naive(until))
        key, descending = parse_sort(sort)
        column, _, field = SORT_COLUMNS[key].partition(".")
        column = self._json_text(column, field) if field else column
        direction = "DESC" if descending else "ASC"
        if after is not None:
            where.append(f"({column}, created_at, id) {'<' if descending else '>'} (?, ?, ?)")
            last = naive(after.key) if isinstance(after.key, datetime) else after.key
            params.extend([last, naive(after.created_at), after.id])
        sql = (
            f"SELECT {_LISTED} FROM orchestrations "
            f"WHERE {' AND '.join(where)} ORDER BY {column} "
            f"{direction}, created_at {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        return self._all(rows.StoredOrchestration, sql, (*params, limit, offset))

    def step_counts(self, orchestration_ids: list[str]) -> dict[str, tuple[int, int]]:
        """Each run's steps: how many completed, of how many planned (a listing shows both;
        a run with no steps is left out)."""
        if not orchestration_ids:
            return {}
        marks = ", ".join("?" for _ in orchestration_ids)
        sql = (
            "SELECT orchestration_id, count(*) FILTER (WHERE status = 'COMPLETED') AS done, "
            f"count(*) AS planned FROM steps WHERE orchestration_id IN ({marks}) "
            "GROUP BY orchestration_id"
        )
        found = self._rows(sql, tuple(orchestration_ids))
        return {row["orchestration_id"]: (int(row["done"]), int(row["planned"])) for row in found}

    def of_project(self, project_id: str, orchestration_ids: list[str]) -> list[str]:
        """Those of ``orchestration_ids`` that are the project's (a change feed's filter)."""
        if not orchestration_ids:
            return []
        marks = ", ".join("?" for _ in orchestration_ids)
        sql = f"SELECT id FROM orchestrations WHERE project_id = ? AND id IN ({marks}) ORDER BY id"
        return [row["id"] for row in self._rows(sql, (project_id, *orchestration_ids))]

    def activity_of(self, project_id: str, since: datetime) -> list[rows.StoredActivity]:
        """How many runs were created each minute since ``since``, by their status now."""
        sql = (
            "SELECT date_trunc('minute', created_at) AS at, status, count(*) AS runs "
            "FROM orchestrations WHERE project_id = ? AND created_at >= ? "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return self._all(rows.StoredActivity, sql, (project_id, naive(since)))
