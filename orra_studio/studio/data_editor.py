"""An action's data, edited as a table of fields or as JSON, and checked as it is typed.

The table suits a few text fields; JSON suits numbers, lists and nested objects. Switching
carries the data across, so neither view loses what the other holds. The JSON is checked on
every keystroke and a problem is named by line and column, before anything is sent.

Once a plan is previewed, the form follows it: every ``{{request.data.X}}`` the plan reads is a
row, with the type and the service that wants it (from the service's input schema); a field
the data lacks is added empty and named, so the person sees what to fill in.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import panel as pn

from .notices import Notice, set_text

__all__ = ["DataEditor", "data_needs", "parse_data", "rows_of_data"]

FIELDS, JSON_VIEW = "fields", "JSON"


def parse_data(rows: pd.DataFrame) -> dict[str, Any]:
    """The data table as a dict; a value that parses as JSON is that value, else text."""
    data: dict[str, Any] = {}
    for _, row in rows.iterrows():
        name = str(row["field"]).strip()
        text = str(row["value"])
        if not name or (not text and str(row.get("for", ""))):
            continue  # no name, or a field the plan wants that was not filled in
        try:
            data[name] = json.loads(text)
        except ValueError:
            data[name] = text
    return data


def rows_of_data(data: dict[str, Any], needs: dict[str, str] | None = None) -> pd.DataFrame:
    """The table of ``data``: text as typed, anything else as its JSON; ``needs`` (from
    :func:`data_needs`) says which service wants each field, and adds those the data lacks."""
    needs = needs or {}
    shown = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
    shown += [(k, "") for k in needs if k not in data]
    rows = [(k, v, needs.get(k, "")) for k, v in shown]
    return pd.DataFrame(rows or [("", "", "")], columns=["field", "value", "for"])


#: a plan's reference to a field of the request's data: ``{{request.data.orderId}}``
_DATA_REFERENCE = re.compile(r"\{\{\s*request\.data\.([A-Za-z0-9_-]{1,200})")


def data_needs(plan: dict[str, Any] | None, services: list[dict[str, Any]]) -> dict[str, str]:
    """The data fields ``plan`` reads, each with its type and the services that want it
    (``"string, for order-lookup"``), from those services' input schemas."""
    schemas = {s.get("name"): (s.get("schema") or {}).get("input") or {} for s in services}
    wanted: dict[str, tuple[str, list[str]]] = {}
    for step in (plan or {}).get("steps") or []:
        component = str(step.get("component", ""))
        properties = schemas.get(component, {}).get("properties") or {}
        for name, value in (step.get("input") or {}).items():
            for field in _DATA_REFERENCE.findall(json.dumps(value)):
                kind = (properties.get(name) or {}).get("type") or "any"
                _, users = wanted.setdefault(field, (str(kind), []))
                if component not in users:
                    users.append(component)
    return {field: f"{kind}, for {', '.join(users)}" for field, (kind, users) in wanted.items()}


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

    def expect(self, needs: dict[str, str]) -> list[str]:
        """Show what the previewed plan reads (:func:`data_needs`); returns the fields the
        data lacks (added to the table empty, or named when the JSON view is open)."""
        try:
            data = self.value()
        except ValueError:
            return []  # the JSON has a problem: the page already says so
        missing = [field for field in needs if field not in data]
        if self.mode.value == FIELDS:
            self.table.value = rows_of_data(data, needs)
        return missing

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
