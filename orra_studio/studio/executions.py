"""Executions: every orchestration of the project, paged and filtered by the server.

Only one page of rows is ever fetched (``GET /orchestrations?limit&offset`` with the filters:
status, action type, text in the content, a time range), so the page stays as fast with 100,000
orchestrations as with ten. A click on the created, status or action header sorts every
orchestration on the server (``sort``), not just the rows shown. A row's id links to its run
view; ticked rows can be cancelled together. The page is live: it follows the project's change
stream (``GET /activity/events``, :class:`~.live_feed.ListFeed`) and reads itself again when one
of its runs changes, or when a new run lands on its first page; it never polls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd
import panel as pn

from orra_sdk.vocabulary import OrchestrationStatus

from ..client import Client
from ..errors import OrraError
from .charts import stacked_chart
from .context import StudioContext
from .live_feed import ListFeed
from .look import duration, pill, when
from .notices import Literal, Notice

__all__ = ["executions_page", "rows_of", "sort_of"]

PAGE_SIZE = 25
ANY = "any status"
#: a column whose header sorts → the server's sort key
SORT_KEYS = {"created": "createdAt", "status": "status", "action": "type"}
COLUMNS = ["id", "status", "action", "steps", "created", "duration", "content", "error"]
_MONO_IDS = (
    ".tabulator-cell[tabulator-field=id] { font-family: ui-monospace, SFMono-Regular, Menlo, "
    "monospace; }"
)
#: the columns drawn from HTML made here (look.py: escaped), the rest are plain text
HTML_COLUMNS = {"status": {"type": "html"}, "created": {"type": "html"}}
NO_RUNS_YET = (
    "No orchestrations yet. Start one on the Compose page, from a terminal (orra run ACTION "
    "-d field:value) or with POST /orchestrations; orra demo runs the seed example."
)
NO_MATCH = "No orchestration matches these filters: widen them, or clear them to see every run."


def sort_of(sorters: list[dict[str, Any]]) -> str:
    """Tabulator's header sort as the server's ``sort`` (newest first when none is set)."""
    for sorter in sorters:
        key = SORT_KEYS.get(sorter.get("field", ""))
        if key:
            return key if sorter.get("dir") == "asc" else f"-{key}"
    return "-createdAt"


ORDER_NAMES = {
    "-createdAt": "newest first",
    "createdAt": "oldest first",
    "status": "by status (A→Z)",
    "-status": "by status (Z→A)",
    "type": "by action type (A→Z)",
    "-type": "by action type (Z→A)",
}


def _steps(orchestration: dict[str, Any]) -> str:
    """``3/4``: steps completed of those planned (blank when nothing was planned)."""
    planned = orchestration.get("stepsPlanned") or 0
    return f"{orchestration.get('stepsCompleted') or 0}/{planned}" if planned else ""


def rows_of(orchestrations: list[dict[str, Any]]) -> pd.DataFrame:
    """The table's rows: text, but for the status pill and the relative time, which
    :mod:`.look` builds from escaped values, so nothing from data is read as markup."""
    return pd.DataFrame(
        [
            {
                "id": o["executionId"],
                "status": pill(str(o["status"])),
                "action": str((o.get("action") or {}).get("type", "")),
                "content": str((o.get("action") or {}).get("content", "")),
                "steps": _steps(o),
                "created": when(o.get("createdAt")),
                "duration": duration(o.get("startTime") or o.get("createdAt"), o.get("endTime")),
                "error": o.get("error") or "",
            }
            for o in orchestrations
        ],
        columns=COLUMNS,
    )


@dataclass(frozen=True, slots=True)
class _Query:
    """The filters, sort and offset a read is made for: a read made for other ones than the
    page's current ones is not drawn (the live feed's read may finish after a filter changed
    and the page was read for it)."""

    status: str | None
    type: str | None
    q: str | None
    since: str | None
    until: str | None
    sort: str
    offset: int


@dataclass(frozen=True, slots=True)
class _Page:
    """What one read of the page brings: the activity chart's answer and a page of runs (or
    why there is none), and the filters, sort and offset it was read for."""

    query: _Query
    number: int  # reads are numbered as they start: an older one is never drawn over a newer
    activity: dict[str, Any] | None
    rows: list[dict[str, Any]] | None
    error: str | None


def executions_page(
    context: StudioContext, client: Client, follow: type[ListFeed[_Page]] = ListFeed
) -> pn.viewable.Viewable:
    """The page; ``follow`` is the feed that keeps it live (a test passes its own subclass to
    hold on to the page's ``fetch`` and ``draw``)."""
    status = pn.widgets.Select(
        name="Status", options=[ANY, *[s.value for s in OrchestrationStatus]], value=ANY, width=200
    )
    action_type = pn.widgets.TextInput(name="Action type", placeholder="any", width=180)
    text = pn.widgets.TextInput(name="Search", placeholder="action, content or id", width=220)
    since = pn.widgets.TextInput(name="Since (ISO time)", placeholder="2026-12-04T09:00", width=170)
    until = pn.widgets.TextInput(name="Until (ISO time)", placeholder="", width=170)
    bulk_cancel = pn.widgets.Button(name="Cancel selected", button_type="danger", width=150)
    previous = pn.widgets.Button(name="← Newer", width=100, disabled=True)
    following = pn.widgets.Button(name="Older →", width=100)
    refresh = pn.widgets.Button(name="Refresh", width=100)
    where = Literal("", css_classes=["orra-page"])
    problem = Notice()  # the listing's: redrawn with the list
    outcome = Notice()  # what a bulk cancel did: stays until the next one
    empty = Notice(css_classes=["orra-empty"])
    table = pn.widgets.Tabulator(
        rows_of([]),
        show_index=False,
        disabled=True,
        selectable="checkbox",
        sortable={column: column in SORT_KEYS for column in COLUMNS},
        sorters=[{"field": "created", "dir": "desc"}],
        sizing_mode="stretch_width",
        formatters={
            "id": {"type": "link", "urlPrefix": "./run?id=", "target": "_self"},
            **HTML_COLUMNS,
        },
        css_classes=["orra-executions"],
        stylesheets=[_MONO_IDS],
    )
    offset = {"value": 0}
    reads = itertools.count(1)
    drawn = {"number": 0}
    shown: dict[str, set[str]] = {"ids": set()}
    activity = pn.pane.Bokeh(None, sizing_mode="stretch_width", css_classes=["orra-activity"])

    def draw_activity(answer: dict[str, Any] | None) -> None:
        """The last hour's runs per minute, stacked by status (all runs, not the page)."""
        buckets = answer["buckets"] if answer else []
        activity.visible = bool(buckets)
        if answer and buckets:
            frame = pd.DataFrame(buckets).assign(minute=lambda f: pd.to_datetime(f["at"]))
            hour = (pd.to_datetime(answer["since"]), pd.Timestamp.now(tz="UTC").ceil("min"))
            title = "Runs per minute in the last hour, by status"
            plot = stacked_chart(frame, "minute", "runs", "bar", "status", 160, title, hour)
            plot.xaxis.axis_label = None
            plot.yaxis.ticker.min_interval = 1  # counts of runs: whole numbers only
            activity.object = plot

    def query() -> _Query:
        """What the page's widgets ask for now."""
        return _Query(
            status=None if status.value == ANY else status.value,
            type=action_type.value.strip() or None,
            q=text.value.strip() or None,
            since=since.value.strip() or None,
            until=until.value.strip() or None,
            sort=sort_of(table.sorters),
            offset=offset["value"],
        )

    def fetch() -> tuple[_Page, bool]:
        """The page's data: read in a worker thread when the list goes live, so the page's
        event loop never waits for the control plane."""
        asked, number = query(), next(reads)
        try:
            answer: dict[str, Any] | None = client.activity(60)
        except OrraError:
            answer = None  # the listing below says what went wrong
        try:
            rows = client.orchestrations(
                status=asked.status,
                limit=PAGE_SIZE + 1,
                offset=asked.offset,
                type=asked.type,
                q=asked.q,
                since=asked.since,
                until=asked.until,
                sort=asked.sort,
            )
        except OrraError as exc:
            return _Page(asked, number, answer, None, str(exc)), False
        return _Page(asked, number, answer, rows, None), False

    def draw(page: _Page) -> None:
        # a read for filters the page no longer shows, or older than one drawn: the read for
        # these filters draws (or has drawn); draws all run on the page's event loop
        if page.query != query() or page.number < drawn["number"]:
            return
        drawn["number"] = page.number
        show(page)

    def show(page: _Page) -> None:
        draw_activity(page.activity)
        if page.rows is None:
            problem.show(page.error or "", "error")
            return
        rows = page.rows
        problem.hide()
        asked = page.query
        filtered = asked.status or asked.type or asked.q or asked.since or asked.until
        if rows:
            empty.hide()
        else:  # say what to do next, not an empty frame
            empty.show(NO_MATCH if filtered else NO_RUNS_YET, "info")
        table.visible = bool(rows)
        table.value = rows_of(rows[:PAGE_SIZE])
        shown["ids"] = {row["executionId"] for row in rows[:PAGE_SIZE]}
        previous.disabled = offset["value"] == 0
        following.disabled = len(rows) <= PAGE_SIZE
        first = offset["value"] + 1 if rows else 0
        last = offset["value"] + min(len(rows), PAGE_SIZE)
        where.object = f"{first}–{last}, {ORDER_NAMES[sort_of(table.sorters)]}"

    def load(*_: Any) -> None:
        draw(fetch()[0])

    def concerns_the_page(change: dict[str, Any]) -> bool:
        """A change to a run on the page, or any change while the first page is shown (a new
        run lands there)."""
        changed = set(change.get("executionIds") or ())
        return (
            bool(change.get("everything")) or offset["value"] == 0 or bool(changed & shown["ids"])
        )

    def page_by(step: int) -> None:
        offset["value"] = max(0, offset["value"] + step * PAGE_SIZE)
        load()

    def restart(*_: Any) -> None:
        offset["value"] = 0
        load()

    def cancel_selected(_event: Any) -> None:
        chosen = [table.value.iloc[i]["id"] for i in table.selection]
        done, refused = 0, []
        for execution_id in chosen:
            try:
                client.cancel(execution_id, "cancelled from the studio's executions page")
                done += 1
            except OrraError as exc:
                refused.append(f"{execution_id}: {exc}")
        load()
        table.selection = []
        summary = f"Cancelled {done} of {len(chosen)}."
        outcome.show("\n".join([summary, *refused]), "error" if refused else "success")

    for widget in (status, action_type, text, since, until):
        widget.param.watch(restart, "value")
    table.param.watch(restart, "sorters")
    bulk_cancel.on_click(cancel_selected)
    previous.on_click(lambda _e: page_by(-1))
    following.on_click(lambda _e: page_by(1))
    refresh.on_click(load)
    load()
    doc = pn.state.curdoc
    feed = follow(context, (fetch, draw, doc), wants=concerns_the_page)
    pn.state.onload(feed.start)  # live: the list follows the project's changes
    if doc is not None and doc.session_context is not None:
        pn.state.on_session_destroyed(lambda _ctx: feed.stop())
    return pn.Column(
        pn.FlexBox(status, action_type, text, since, until),  # wraps in a narrow window
        pn.Row(refresh, previous, following, bulk_cancel, where),
        problem,
        outcome,
        activity,
        empty,
        table,
        sizing_mode="stretch_width",
    )
