"""Charts the studio draws with Bokeh, written once: a series per value of a column (runs per
minute stacked by status on Executions and Analytics), each status in its palette colour.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from ..palette import NEUTRAL, colour_of

__all__ = ["NO_SERIES", "stacked_chart"]


#: colours of series that are not statuses (a status keeps its own colour from the palette)
_SERIES_COLOURS = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#57606a"]
#: the colour-by choice that draws one series
NO_SERIES = "(none)"


def _series_colour(name: str, at: int) -> str:
    known = colour_of(name)
    return known if known != NEUTRAL else _SERIES_COLOURS[at % len(_SERIES_COLOURS)]


def stacked_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    kind: str,
    series: str,
    height: int = 320,
    title: str | None = None,
    span: tuple[Any, Any] | None = None,
) -> Any:
    """``y`` against ``x``, one series per value of ``series``: stacked bars (runs per minute,
    a bar a minute split by status) or a line each; a status in its palette colour."""
    table = frame.pivot_table(index=x, columns=series, values=y, aggfunc="sum", fill_value=0)
    table = table.sort_index()
    names = [str(name) for name in table.columns]
    timed = pd.api.types.is_datetime64_any_dtype(table.index)
    xs = table.index if timed or pd.api.types.is_numeric_dtype(table.index) else None
    data: dict[str, Any] = {"x": xs if xs is not None else [str(v) for v in table.index]}
    columns = zip(names, table.columns, strict=True)
    data |= {name: table[column].tolist() for name, column in columns}
    source = ColumnDataSource(data)
    options: dict[str, Any] = {"x_axis_type": "datetime"} if timed else {}
    if xs is None:
        options["x_range"] = data["x"]
    elif span is not None:  # the whole period asked for, not just the minutes that had runs
        options["x_range"] = Range1d(*span)
    plot = figure(
        height=height,
        sizing_mode="stretch_width",
        title=title or f"{y} by {x} and {series}",
        toolbar_location=None,
        **options,
    )
    colours = [_series_colour(name, at) for at, name in enumerate(names)]
    if kind == "bar":
        steps = pd.Series(table.index).diff().dropna()
        width: Any = 0.8
        if timed:  # most of the gap between two bars (a minute for runs per minute)
            gap = steps.min() if not steps.empty else pd.Timedelta(minutes=1)
            width = gap.total_seconds() * 1000 * 0.8
        elif xs is not None and not steps.empty:
            width = float(steps.min()) * 0.8
        plot.vbar_stack(names, x="x", width=width, color=colours, source=source, legend_label=names)
    else:
        for name, colour in zip(names, colours, strict=True):
            plot.line(x="x", y=name, source=source, line_width=2, color=colour, legend_label=name)
    # the legend beside the plot, not over its bars (a short chart has no room inside);
    # a click on an entry hides that series
    plot.add_layout(plot.legend[0], "right")
    plot.legend.click_policy = "hide"
    plot.yaxis.axis_label, plot.xaxis.axis_label = y, x
    return plot
