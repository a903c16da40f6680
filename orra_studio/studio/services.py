"""Services: what the project can do, whether it is online, and registering a new one.

The list refreshes every two seconds (instances come and go). Registration checks the name as
you type with the control plane's own rules (RFC 1123) and shows the server's message beside the
form when it refuses; a registered service is offline until an instance connects, and the page
shows the ``orra_sdk`` code that would serve it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import panel as pn

from ..client import Client
from ..errors import OrraError
from .context import StudioContext
from .look import pill
from .notices import Literal, Notice, read_only_table

__all__ = ["name_problem", "service_rows", "services_page", "snippet"]

MAX_DESCRIPTION = 500
_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")

EXAMPLE_SCHEMA = {
    "input": {
        "type": "object",
        "properties": {"orderId": {"type": "string"}},
        "required": ["orderId"],
    },
    "output": {"type": "object", "properties": {"status": {"type": "string"}}},
}


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a service name (RFC 1123), or None."""
    if not name:
        return "a name is required"
    if len(name) > 253:
        return f"{len(name)} characters; at most 253"
    if not _NAME.fullmatch(name):
        return "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
    return None


def seen_ago(moment: str | None, now: datetime) -> str:
    """``"4 s ago"``, ``"12 min ago"``, or the UTC time when it was longer ago than an hour."""
    if not moment:
        return "not since the control plane started"
    seconds = max(0, int((now - datetime.fromisoformat(moment)).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return moment[:19].replace("T", " ") + " UTC"


def tasks_held(connections: list[dict[str, Any]]) -> str:
    """Tasks its instances hold of what they can hold: "1 of 4" (each instance's capacity,
    from ``X-Orra-Capacity``, added up), or "1, no limit" when an instance set none."""
    held = sum(c.get("tasksInFlight", 0) for c in connections)
    capacities = [c.get("capacity") for c in connections]
    if not connections:
        return ""
    if any(capacity is None for capacity in capacities):
        return f"{held}, no limit"
    return f"{held} of {sum(capacities)}"


def service_rows(services: list[dict[str, Any]], now: datetime | None = None) -> pd.DataFrame:
    now = now or datetime.now(UTC)
    return pd.DataFrame(
        [
            {
                "name": s["name"],
                "kind": s["kind"],
                "online": pill("online" if s["online"] else "offline"),
                "description": s["description"],
                "instances": s["instances"],
                "tasks": tasks_held(s.get("connections") or []),
                "last seen": seen_ago(s.get("lastSeen"), now),
                "version": s["version"],
                "revertible": "yes" if s["revertible"] else "",
                "policy": json.dumps(s["policy"]) if s.get("policy") else "",
            }
            for s in services
        ],
        columns=[
            "name",
            "kind",
            "online",
            "description",
            "instances",
            "tasks",
            "last seen",
            "version",
            "revertible",
            "policy",
        ],
    )


def _fields(schema: dict[str, Any] | None) -> pd.DataFrame:
    schema = schema or {}
    required = set(schema.get("required") or [])
    return pd.DataFrame(
        [
            {
                "field": name,
                "type": str(spec.get("type", "any")) if isinstance(spec, dict) else "any",
                "required": "yes" if name in required else "",
                "description": spec.get("description", "") if isinstance(spec, dict) else "",
            }
            for name, spec in (schema.get("properties") or {}).items()
        ],
        columns=["field", "type", "required", "description"],
    )


#: the snippet in a monospace font, on a light panel, as code is shown elsewhere
_CODE = (
    "pre { white-space: pre; overflow-x: auto; margin: 0; padding: 10px 12px; "
    "font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; "
    "background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }"
)


def snippet(name: str, description: str, schema: dict[str, Any], agent: bool, url: str = "") -> str:
    """The ``orra_sdk`` code that serves a service registered this way: it runs as pasted
    (this control plane's URL; the key is the one placeholder to fill in)."""
    kind = "Agent" if agent else "Service"
    return (
        "from orra_sdk import {kind}, run_forever\n\n"
        "{var} = {kind}(\n"
        "    {name!r},\n"
        "    description={description!r},\n"
        "    url={url!r},\n"
        '    api_key="sk-orra-v1-...",  # your project\'s key: orra api-keys add --name NAME\n'
        "    input={input},\n"
        "    output={output},\n"
        ")\n\n\n"
        "@{var}.handler\n"
        "async def handle(task):\n"
        "    return {{...}}  # an object that fits the output schema\n\n\n"
        "run_forever({var})\n"
    ).format(
        kind=kind,
        url=url or "http://localhost:8005",
        var="agent" if agent else "service",
        name=name,
        description=description,
        input=json.dumps(schema.get("input") or {}),
        output=json.dumps(schema.get("output") or {}),
    )


def services_page(context: StudioContext, client: Client) -> pn.viewable.Viewable:
    problem = Notice()
    table = read_only_table(
        service_rows([]),
        "orra-services",
        selectable=1,
        widths={"description": 300},  # wraps: the counts and last seen stay in view
        formatters={"online": {"type": "html"}, "description": {"type": "textarea"}},
    )
    known: dict[str, dict[str, Any]] = {}
    inputs = pn.widgets.Tabulator(_fields(None), show_index=False, disabled=True, height=160)
    outputs = pn.widgets.Tabulator(_fields(None), show_index=False, disabled=True, height=160)
    raw = pn.pane.JSON({}, depth=3, visible=False)
    show_raw = pn.widgets.Toggle(name="Raw JSON Schema", width=160)
    show_raw.link(raw, value="visible")
    detail_title = Literal("Select a service to see its schema.")

    def load(*_: Any) -> None:
        services = problem.answer(client.services)
        if services is None:
            return
        known.clear()
        known.update({s["name"]: s for s in services})
        selection = table.selection
        table.value = service_rows(services)
        table.selection = selection

    def show(event: Any) -> None:
        rows = table.value
        if not event.new or rows.empty:
            return
        service = known.get(rows.iloc[event.new[0]]["name"])
        if service is None:
            return
        detail_title.object = f"{service['name']} — input and output"
        inputs.value = _fields(service["schema"].get("input"))
        outputs.value = _fields(service["schema"].get("output"))
        raw.object = service["schema"]

    table.param.watch(show, "selection")

    def start_polling() -> None:
        """Once the browser is connected (as the run view does: nothing set before the
        connection is lost): load again, then every 2 s for live health."""
        load()
        pn.state.add_periodic_callback(load, period=2000)

    load()  # the first render
    pn.state.onload(start_polling)

    form = _register_form(client, load)
    return pn.Column(
        problem,
        table,
        # wraps: the register form goes below the schema when the window is narrow
        pn.FlexBox(
            pn.Column(detail_title, pn.FlexBox(inputs, outputs), show_raw, raw),
            form,
            sizing_mode="stretch_width",
        ),
        sizing_mode="stretch_width",
    )


def _register_form(client: Client, refresh: Any) -> pn.viewable.Viewable:
    name = pn.widgets.TextInput(name="Name", placeholder="refund-service", width=320)
    name_hint = Literal("", css_classes=["orra-name-hint"])
    kind = pn.widgets.RadioButtonGroup(options=["service", "agent"], value="service")
    description = pn.widgets.TextAreaInput(
        name="Description", placeholder="What it does, in a sentence or two", width=320, height=80
    )
    counter = Literal(f"0 / {MAX_DESCRIPTION}")
    schema = pn.widgets.TextAreaInput(
        name="Schema (JSON Schema input/output, or the README's fields list)",
        value=json.dumps(EXAMPLE_SCHEMA, indent=2),
        value_input=json.dumps(EXAMPLE_SCHEMA, indent=2),
        width=320,
        height=220,
    )
    register = pn.widgets.Button(name="Register", button_type="primary", width=120)
    outcome = Notice()
    code = Literal("", visible=False, css_classes=["orra-snippet"], stylesheets=[_CODE])

    def check_name(event: Any) -> None:
        problem = name_problem(event.new)
        name_hint.object = f"✗ {problem}" if problem and event.new else ""

    def count(event: Any) -> None:
        counter.object = f"{len(event.new)} / {MAX_DESCRIPTION}"

    def submit(_event: Any) -> None:
        try:
            parsed = json.loads(schema.value_input or "null")
        except ValueError as exc:
            outcome.show(f"The schema is not JSON: {exc}", "error")
            return
        # value_input: what is typed now (value follows only when the field loses focus)
        body = {"name": name.value_input, "description": description.value_input, "schema": parsed}
        try:
            answer = client.register_service(body, agent=kind.value == "agent")
        except OrraError as exc:
            outcome.show(str(exc), "error")
            code.visible = False
            return
        warnings = " ".join(answer.get("warnings") or [])
        outcome.show(
            f"Registered {answer['name']} (version {answer['version']}); it is offline until "
            f"an instance connects. {warnings}".strip(),
            "success",
        )
        agent = kind.value == "agent"
        code.object = snippet(body["name"], body["description"], parsed or {}, agent, client.url)
        code.visible = True
        refresh()

    name.param.watch(check_name, "value_input")
    description.param.watch(count, "value_input")
    register.on_click(submit)
    return pn.Column(
        pn.pane.Markdown("### Register a service or agent"),
        kind,
        name,
        name_hint,
        description,
        counter,
        schema,
        register,
        outcome,
        code,
        width=360,
    )
