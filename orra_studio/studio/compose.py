"""Compose: write an action and its data, preview the plan, edit it, run it.

Preview is a dry run (``POST /orchestrations`` with ``dryRun``). The plan is then a table to
edit — a step's component (only registered ones are offered), its dependencies, its input as
JSON with ``{{request.data.x}}`` and ``{{stepN.output.y}}`` references — and every edit is sent
back as a dry run with that plan, so the server's one validator judges it and its errors are
shown on the step and field they name. Run posts the plan as edited and opens its run view.
Opened as ``compose?from=o_…`` it starts from a past orchestration's action, data and plan.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import panel as pn

from orra_sdk.vocabulary import DrawnState, StepStatus

from ..client import Client
from ..errors import OrraError
from .context import StudioContext
from .data_editor import DataEditor, data_needs, parse_data, rows_of_data
from .drawings import plan_svg
from .notices import Literal, Notice, read_only_table, set_text

__all__ = ["compose_page", "open_run_view", "parse_data", "plan_from_rows", "rows_from_plan"]

STEP_COLUMNS = ["id", "component", "dependencies", "input", "approval"]
SEED_CONTENT = "Hi, I am interested in your product. Can you tell me more about its features?"


def rows_from_plan(plan: dict[str, Any] | None) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": step["id"],
                "component": step["component"],
                "dependencies": ", ".join(step.get("dependencies") or []),
                "input": json.dumps(step.get("input") or {}, ensure_ascii=False),
                "approval": bool(step.get("requiresApproval")),
            }
            for step in (plan or {}).get("steps", [])
        ],
        columns=STEP_COLUMNS,
    )


def plan_from_rows(rows: pd.DataFrame) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The plan the table describes, and the problems found before asking the server (an
    input that is not a JSON object)."""
    steps, problems = [], []
    for row in rows.to_dict("records"):
        step_id = str(row["id"] or "").strip()
        try:
            parsed = json.loads(row["input"] or "{}")
            if not isinstance(parsed, dict):
                raise ValueError("an input is a JSON object of fields")
        except ValueError as exc:
            problems.append(
                {"step": step_id, "field": "input", "rule": "json", "message": str(exc)}
            )
            parsed = {}
        dependencies = [d.strip() for d in str(row["dependencies"] or "").split(",") if d.strip()]
        step = {
            "id": step_id,
            "component": str(row["component"] or ""),
            "input": parsed,
            "dependencies": dependencies,
        }
        if row.get("approval") in (True,):  # (numpy booleans too) waits for a person
            step["requiresApproval"] = True
        steps.append(step)
    return {"steps": steps}, problems


def _problem_rows(errors: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "step": e.get("step") or "",
                "field": e.get("field") or "",
                "rule": e.get("rule") or "",
                "message": e.get("message") or "",
            }
            for e in errors
        ],
        columns=["step", "field", "rule", "message"],
    )


def compose_page(context: StudioContext, client: Client) -> pn.viewable.Viewable:
    action_type = pn.widgets.TextInput(name="Action type", width=260)
    set_text(action_type, "customer-inquiry")
    content = pn.widgets.TextAreaInput(
        name="Content",
        sizing_mode="stretch_width",
        height=70,
    )
    set_text(content, SEED_CONTENT)
    data = pn.widgets.Tabulator(
        rows_of_data({"customerId": "cust12345", "sellerId": "sell98765"}),
        show_index=False,
        editors={"field": {"type": "input"}, "value": {"type": "input"}, "for": None},
        selectable=1,
        width=520,
        css_classes=["orra-data"],
    )
    editor = DataEditor(data)
    grounding = pn.widgets.Select(
        name="Grounding",
        options=_grounding_choices(client),
        width=260,
        css_classes=["orra-grounding"],
    )
    add_field = pn.widgets.Button(name="Add field", width=110)
    remove_field = pn.widgets.Button(name="Remove field", width=130)
    preview = pn.widgets.Button(name="Preview", button_type="primary", width=120)
    notice = Notice()
    graph = pn.pane.HTML("", css_classes=["orra-graph"], sizing_mode="stretch_width")
    steps = pn.widgets.Tabulator(
        rows_from_plan(None),
        show_index=False,
        selectable=1,
        sizing_mode="stretch_width",
        css_classes=["orra-steps-editor"],
        layout="fit_columns",
        widths={"id": 80, "component": 210, "dependencies": 140, "approval": 90},
        formatters={"approval": {"type": "tickCross", "crossElement": False}},
        visible=False,
    )
    problems = read_only_table(_problem_rows([]), "orra-problems", visible=False)
    add_step = pn.widgets.Button(name="Add step", width=110, visible=False)
    remove_step = pn.widgets.Button(name="Remove step", width=130, visible=False)
    run = pn.widgets.Button(name="Run", button_type="success", width=110, disabled=True)
    verdict = Literal("")
    used = Literal("", css_classes=["orra-grounded"])
    state: dict[str, Any] = {"plan": None, "checking": False}

    def services() -> list[dict[str, Any]]:
        try:
            return list(client.services())
        except OrraError:
            return []

    def components() -> list[str]:
        return sorted(s["name"] for s in services())

    def action() -> dict[str, str]:
        typed = (action_type.value_input or "", content.value_input or "")
        return {"type": typed[0].strip(), "content": typed[1].strip()}

    def grounded() -> dict[str, Any]:
        return {"grounding": grounding.value or None}

    def show(plan: dict[str, Any] | None, errors: list[dict[str, Any]]) -> None:
        bad = {e.get("step") for e in errors if e.get("step")}
        statuses = {
            s["id"]: (DrawnState.INVALID if s["id"] in bad else StepStatus.PENDING)
            for s in (plan or {}).get("steps", [])
        }
        graph.object = plan_svg(plan, statuses, by_component=True)
        problems.value = _problem_rows(errors)
        problems.visible = bool(errors)
        run.disabled = bool(errors) or not plan or not plan.get("steps")
        verdict.object = (
            f"{len(errors)} problem(s): fix them to run"
            if errors
            else "The server accepts this plan."
        )

    def do_preview(_event: Any = None) -> None:
        notice.hide()
        try:
            answer = client.plan(action(), editor.value(), **grounded())
        except (OrraError, ValueError) as exc:  # the server refused, or the JSON has a problem
            notice.show(str(exc), "error")
            return
        matched = answer.get("grounding")
        used.object = (
            f"Grounded by spec {matched['spec']!r}, use case {matched['useCase']!r}."
            if matched
            else "No grounding spec used."
        )
        plan = answer.get("plan")
        errors = (answer.get("validation") or {}).get("errors") or []
        if plan is None:
            notice.show(answer.get("message") or "No plan: nothing can do this action.", "error")
            steps.visible = add_step.visible = remove_step.visible = False
            show(None, [])
            return
        state["plan"] = plan
        follow_the_plan(plan)
        steps.editors = {
            "id": {"type": "input"},
            "component": {"type": "list", "values": components()},
            "dependencies": {"type": "input"},
            "input": {"type": "input"},
            "approval": {"type": "tickCross", "crossElement": False},
        }
        state["checking"] = True
        steps.value = rows_from_plan(plan)
        state["checking"] = False
        steps.visible = add_step.visible = remove_step.visible = True
        show(plan, errors)

    def send(call: Any) -> tuple[dict[str, Any] | None, Any]:
        """The edited plan (None when it has local problems, shown) and what ``call`` with it
        answered (None when the server refused, shown)."""
        plan, local = plan_from_rows(steps.value)
        state["plan"] = plan
        if local:
            show(plan, local)
            return None, None
        try:
            return plan, call(action(), editor.value(), plan=plan, **grounded())
        except (OrraError, ValueError) as exc:
            notice.show(str(exc), "error")
            return plan, None

    def follow_the_plan(plan: dict[str, Any]) -> None:
        """The data form shows what ``plan`` reads; a field the data lacks is named."""
        missing = editor.expect(data_needs(plan, services()))
        if missing:
            named = ", ".join(missing)
            notice.show(f"The plan reads {named} from the data: fill it in, then run.", "info")

    def check(*_: Any) -> None:
        if state["checking"] or not steps.visible:
            return
        plan, answer = send(client.plan)
        if answer is not None:
            show(plan, (answer.get("validation") or {}).get("errors") or [])
            follow_the_plan(plan)

    def do_run(_event: Any) -> None:
        _, accepted = send(client.submit)
        if accepted is not None:
            notice.show(f"Started {accepted['executionId']}: opening its run view…", "success")
            open_run_view(accepted["executionId"])

    def add_row(table: pn.widgets.Tabulator, row: dict[str, Any]) -> None:
        table.value = pd.concat([table.value, pd.DataFrame([row])], ignore_index=True)

    def remove_row(table: pn.widgets.Tabulator) -> None:
        if table.selection:
            table.value = table.value.drop(index=table.selection[0]).reset_index(drop=True)

    def next_step_id() -> str:
        taken = set(steps.value["id"])
        number = len(taken) + 1
        while f"step{number}" in taken:
            number += 1
        return f"step{number}"

    add_field.on_click(lambda _e: add_row(data, {"field": "", "value": "", "for": ""}))
    remove_field.on_click(lambda _e: remove_row(data))
    add_step.on_click(
        lambda _e: add_row(
            steps,
            {
                "id": next_step_id(),
                "component": "",
                "dependencies": "",
                "input": "{}",
                "approval": False,
            },
        )
    )
    remove_step.on_click(lambda _e: remove_row(steps))
    preview.on_click(do_preview)
    steps.param.watch(check, "value")
    run.on_click(do_run)
    _start_from_past_run(client, action_type, content, data, steps, state, do_preview, check)

    return pn.Column(
        pn.Row(action_type, content, sizing_mode="stretch_width"),
        pn.pane.Markdown("#### Data (a value that is JSON is sent as JSON)"),
        editor.view,
        pn.Row(grounding, add_field, remove_field, preview, used),
        notice,
        pn.pane.Markdown("#### Plan"),
        graph,
        steps,
        pn.Row(add_step, remove_step, run, verdict),
        problems,
        sizing_mode="stretch_width",
    )


AUTOMATIC = "best match (automatic)"
NO_GROUNDING = "none"


def _grounding_choices(client: Client) -> dict[str, str]:
    """The picker's label → the request's ``grounding``: automatic, none, or one spec."""
    try:
        specs = [spec["name"] for spec in client.groundings()]
    except OrraError:
        specs = []
    return {AUTOMATIC: "", "no grounding": NO_GROUNDING, **{f"spec: {n}": n for n in specs}}


def open_run_view(execution_id: str) -> None:
    """Navigate this browser session to the run view (behind any URL prefix)."""
    location = pn.state.location
    base = location.pathname.rsplit("/", 1)[0]
    location.reload = True
    location.param.update(pathname=f"{base}/run", search=f"?id={execution_id}")


def _start_from_past_run(client, action_type, content, data, steps, state, preview, check):  # noqa: ANN001
    """``compose?from=o_…``: that run's action and data, then its plan, ready to edit."""
    args = pn.state.session_args or {}
    source = (args.get("from") or [b""])[0].decode(errors="replace").strip()
    if not source:
        return
    try:
        past = client.orchestration(source)
        made = client.plan_of(source)
    except OrraError:
        return
    act = past.get("action") or {}
    set_text(action_type, str(act.get("type", "")))
    set_text(content, str(act.get("content", "")))
    data.value = rows_of_data({f["field"]: f.get("value") for f in past.get("data") or []})
    preview()
    plan = made.get("plan")
    if plan:
        steps.value = rows_from_plan(plan)
