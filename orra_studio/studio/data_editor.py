"""An action's data, edited as a table of fields or as JSON, and checked as it is typed.

The table suits a few text fields; JSON suits numbers, lists and nested objects. Switching
carries the data across, so neither view loses what the other holds. The JSON is checked on
every keystroke and a problem is named by line and column, before anything is sent.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import panel as pn

from .notices import Notice, set_text

__all__ = ["DataEditor", "parse_data", "rows_of_data"]

FIELDS, JSON_VIEW = "fields", "JSON"


def parse_data(rows: pd.DataFrame) -> dict[str, Any]:
    """The data table as a dict; a value that parses as JSON is that value, else text."""
    data: dict[str, Any] = {}
    for _, row in rows.iterrows():
        name = str(row["field"]).strip()
        if not name:
            continue
        text = str(row["value"])
        try:
            data[name] = json.loads(text)
        except ValueError:
            data[name] = text
    return data


def rows_of_data(data: dict[str, Any]) -> pd.DataFrame:
    """The table of ``data``: text as typed, anything else as its JSON."""
    shown = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
    return pd.DataFrame(shown or [("", "")], columns=["field", "value"])


def problem_of(text: str) -> str | None:
    """What is wrong with ``text`` as the action's data (a JSON object), or None."""
    try:
        parsed = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    if not isinstance(parsed, dict):
        return f"the data is a JSON object of fields ({{...}}), not a {type(parsed).__name__}"
    return None


class DataEditor:
    """The Compose page's data: ``view`` to show, ``value()`` to send (ValueError when the
    JSON has a problem, which the page says)."""

    def __init__(self, table: pn.widgets.Tabulator) -> None:
        self.table = table
        self.mode = pn.widgets.RadioButtonGroup(options=[FIELDS, JSON_VIEW], value=FIELDS)
        self.text = pn.widgets.TextAreaInput(
            height=150, width=520, css_classes=["orra-data-json"], visible=False
        )
        self.check = Notice(css_classes=["orra-data-check"])
        self._reverting = False
        self.mode.param.watch(self._switch, "value")
        self.text.param.watch(self._checked, "value_input")
        self.view = pn.Column(self.mode, table, self.text, self.check)

    def value(self) -> dict[str, Any]:
        if self.mode.value == FIELDS:
            return parse_data(self.table.value)
        text = self.text.value_input or ""
        problem = problem_of(text)
        if problem is not None:
            raise ValueError(f"The data is not valid JSON: {problem}")
        return json.loads(text or "{}")

    def set(self, data: dict[str, Any]) -> None:
        self.table.value = rows_of_data(data)
        set_text(self.text, json.dumps(data, indent=2, ensure_ascii=False))

    def _switch(self, event: Any) -> None:
        if self._reverting:
            return
        if event.new == JSON_VIEW:
            set_text(self.text, json.dumps(parse_data(self.table.value), indent=2))
            self._checked()
        elif problem_of(self.text.value_input or "") is None:
            self.table.value = rows_of_data(json.loads(self.text.value_input or "{}"))
            self.check.hide()
        else:  # keep the JSON until it is fixed: switching would lose it
            self._reverting = True
            self.mode.value = JSON_VIEW
            self._reverting = False
            return
        json_view = event.new == JSON_VIEW
        self.table.visible, self.text.visible = not json_view, json_view

    def _checked(self, *_: Any) -> None:
        problem = problem_of(self.text.value_input or "")
        if problem is None:
            self.check.show("✓ a JSON object: its fields are the action's data", "success")
        else:
            self.check.show(f"Not valid yet: {problem}", "error")
