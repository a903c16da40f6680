"""Analytics: SQL over the project's ``orchestrations``, ``steps`` and ``events``.

The tables live in a local DuckDB fed by the export API (:class:`~orra_studio.history.
LocalHistory`, the one ``%%orra sql`` uses), refreshed incrementally before each query. It is
locked: no file or network access, capped memory, no spilling to disk, a time limit per query;
a DuckDB error is shown under the editor. A result is cut at :data:`MAX_ROWS` rows or
:data:`MAX_BYTES` bytes while it streams out of DuckDB (never after becoming a DataFrame), and
the page says so. Results are a table and a chart (x, y, kind), and download as CSV or
Parquet. Built-in queries answer the usual questions.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pandas as pd
import panel as pn
from bokeh.plotting import figure

from ..client import Client
from ..errors import OrraError
from ..history import LocalHistory, QueryTooSlow
from .charts import NO_SERIES, stacked_chart
from .context import StudioContext
from .notices import Notice, set_text

__all__ = ["BUILT_IN", "analytics_page", "chart"]

QUERY_SECONDS = 10.0
MAX_ROWS = 10_000
#: Arrow bytes of a result kept for the table, the chart and the downloads
MAX_BYTES = 16 * 2**20

BUILT_IN: dict[str, str] = {
    "Runs per minute by status": (
        "SELECT date_trunc('minute', created_at) AS minute, status, count(*) AS runs\n"
        "FROM orchestrations GROUP BY ALL ORDER BY minute, status"
    ),
    "p50 / p95 step duration per service (ms)": (
        "SELECT component, count(*) AS steps,\n"
        "       quantile_cont(duration_ms, 0.5) AS p50_ms,\n"
        "       quantile_cont(duration_ms, 0.95) AS p95_ms\n"
        "FROM steps WHERE duration_ms IS NOT NULL GROUP BY component ORDER BY p95_ms DESC"
    ),
    "Failure and retry rate per service": (
        "SELECT component, count(*) AS steps,\n"
        "       avg(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) AS failure_rate,\n"
        "       avg(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS retry_rate\n"
        "FROM steps GROUP BY component ORDER BY failure_rate DESC, retry_rate DESC"
    ),
    "Slowest actions": (
        "SELECT action_type, count(*) AS runs, avg(duration_ms) AS mean_ms,\n"
        "       max(duration_ms) AS max_ms\n"
        "FROM orchestrations WHERE duration_ms IS NOT NULL\n"
        "GROUP BY action_type ORDER BY mean_ms DESC LIMIT 20"
    ),
}


def chart(frame: pd.DataFrame, x: str, y: str, kind: str, series: str = NO_SERIES) -> Any:
    """A Bokeh figure of ``y`` against ``x`` (bars or a line), one series per value of
    ``series`` when one is chosen."""
    if series != NO_SERIES and series in frame and series not in (x, y):
        return stacked_chart(frame, x, y, kind, series)
    categorical = not pd.api.types.is_numeric_dtype(frame[x]) and not (
        pd.api.types.is_datetime64_any_dtype(frame[x])
    )
    xs = frame[x].astype(str).tolist() if categorical else frame[x]
    options: dict[str, Any] = {}
    if categorical:
        options["x_range"] = list(dict.fromkeys(xs))
    if pd.api.types.is_datetime64_any_dtype(frame[x]):
        options["x_axis_type"] = "datetime"
    plot = figure(
        height=320,
        sizing_mode="stretch_width",
        title=f"{y} by {x}",
        toolbar_location=None,
        **options,
    )
    if kind == "bar" and categorical:
        plot.vbar(x=xs, top=frame[y], width=0.8, color="#0969da")
    elif kind == "bar":
        plot.scatter(x=xs, y=frame[y], size=8, color="#0969da")
    else:
        plot.line(x=xs, y=frame[y], line_width=2, color="#0969da")
        plot.scatter(x=xs, y=frame[y], size=5, color="#0969da")
    plot.yaxis.axis_label, plot.xaxis.axis_label = y, x
    return plot


def _as_text_times(frame: pd.DataFrame) -> pd.DataFrame:
    """The table's copy: times as ISO text (Tabulator has no sorter for Panel's "timestamp"
    and logs an error for each such column; text sorts the same)."""
    timed = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not timed:
        return frame
    shown = frame.copy()
    for column in timed:
        shown[column] = shown[column].astype(str)
    return shown


def analytics_page(context: StudioContext, client: Client) -> pn.viewable.Viewable:
    history = LocalHistory(locked=True)
    pn.state.on_session_destroyed(lambda _ctx: history.close())
    preset = pn.widgets.Select(name="Built-in", options=["(your own)", *BUILT_IN], width=320)
    editor = pn.widgets.TextAreaInput(
        name="SQL (tables: orchestrations, steps, events)",
        value=BUILT_IN["Runs per minute by status"],
        value_input=BUILT_IN["Runs per minute by status"],
        sizing_mode="stretch_width",
        height=140,
        css_classes=["orra-sql"],
    )
    run = pn.widgets.Button(name="Run query", button_type="primary", width=130)
    problem = Notice()
    cut = Notice(css_classes=["orra-cut"])
    summary = pn.pane.Str("")
    results = pn.widgets.Tabulator(
        pd.DataFrame(),
        show_index=False,
        disabled=True,
        sizing_mode="stretch_width",
        height=260,
        pagination="local",
        page_size=50,
        css_classes=["orra-results"],
    )
    x = pn.widgets.Select(name="x", options=[], width=200)
    y = pn.widgets.Select(name="y", options=[], width=200)
    kind = pn.widgets.RadioButtonGroup(options=["bar", "line"], value="bar")
    series = pn.widgets.Select(name="colour by", options=[NO_SERIES], width=200)
    plot = pn.pane.Bokeh(None, sizing_mode="stretch_width", css_classes=["orra-chart-pane"])
    state: dict[str, Any] = {"frame": pd.DataFrame()}

    def download(fmt: str) -> io.BytesIO:
        buffer = io.BytesIO()
        frame = state["frame"]
        if fmt == "csv":
            buffer.write(frame.to_csv(index=False).encode())
        else:
            frame.to_parquet(buffer, index=False)
        buffer.seek(0)
        return buffer

    csv = pn.widgets.FileDownload(
        callback=lambda: download("csv"), filename="result.csv", label="CSV", width=90
    )
    parquet = pn.widgets.FileDownload(
        callback=lambda: download("parquet"), filename="result.parquet", label="Parquet", width=110
    )

    def draw(*_: Any) -> None:
        frame = state["frame"]
        if frame.empty or x.value not in frame or y.value not in frame:
            plot.object = None
            return
        if not pd.api.types.is_numeric_dtype(frame[y.value]):
            plot.object = None
            return
        plot.object = chart(frame, x.value, y.value, kind.value, series.value)

    async def execute(*_: Any) -> None:
        # the export and the query run on a worker thread: a 10 s query must not stall the
        # studio's event loop (and every other session with it)
        problem.hide()
        cut.hide()
        try:
            fetched = await asyncio.to_thread(history.refresh, client)
        except OrraError as exc:
            problem.show(f"The export did not answer: {exc}", "error")
            return
        try:
            result = await asyncio.to_thread(
                history.fetch,
                editor.value_input,
                timeout=QUERY_SECONDS,
                max_rows=MAX_ROWS,
                max_bytes=MAX_BYTES,
            )
        except QueryTooSlow as exc:
            problem.show(str(exc), "error")
            return
        except Exception as exc:  # a DuckDB error: the person fixes the SQL
            problem.show(str(exc), "error")
            return
        frame = result.frame if result is not None else pd.DataFrame()
        if result is not None and result.cut is not None:
            cut.show(
                f"Result cut at {result.cut}: only the first {len(frame):,} row(s) are shown "
                "and downloaded. Aggregate, or add WHERE or LIMIT, to see the rest.",
                "warning",
            )
        state["frame"] = frame
        results.value = _as_text_times(frame)
        columns = list(frame.columns)
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
        text = [c for c in columns if c not in numeric]
        x.options, y.options, series.options = columns, numeric, [NO_SERIES, *text[1:]]
        x.value = columns[0] if columns else None
        y.value = numeric[-1] if numeric else None
        series.value = "status" if "status" in text[1:] else NO_SERIES  # by status: its colours
        summary.object = (
            f"{len(frame)} row(s); fetched {sum(fetched.values())} new or changed row(s); "
            f"a result keeps at most {MAX_ROWS:,} rows ({MAX_BYTES // 2**20} MiB)"
        )
        draw()

    async def choose(event: Any) -> None:
        if event.new in BUILT_IN:
            set_text(editor, BUILT_IN[event.new])
            await execute()

    preset.param.watch(choose, "value")
    run.on_click(execute)
    for widget in (x, y, kind, series):
        widget.param.watch(draw, "value")
    pn.state.onload(execute)
    return pn.Column(
        preset,
        editor,
        pn.Row(run, csv, parquet, summary),
        problem,
        cut,
        results,
        pn.Row(x, y, series, kind),
        plot,
        sizing_mode="stretch_width",
    )
