"""The cards of the run view that ask a person to act: a step waiting for approval, and a
compensation that failed for good."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from ..approval import ApprovalRequest, NotDecided
from ..client import Client
from ..errors import OrraError
from .notices import Notice, set_text

__all__ = ["approval_card", "deadlines_of", "failure_card"]

#: the approver a decision made here is recorded with
WHO = "studio"


def failure_card(client: Client, failure: dict[str, Any]) -> pn.viewable.Viewable:
    """A compensation that failed for good: what failed, and Resolve / Ignore with a reason."""
    said = Notice()
    said.show(
        f"{failure['stepId']} ({failure['component']}): {failure.get('failure') or ''} "
        f"after {failure['attempts']} attempt(s)",
        "error",
    )
    reason = pn.widgets.TextInput(placeholder="what was done, for the record", width=300)
    resolve = pn.widgets.Button(name="Resolve", button_type="primary", width=100)
    ignore = pn.widgets.Button(name="Ignore", width=100)

    def settle(verb: str) -> None:
        why = (reason.value_input or "").strip()
        if not why:
            said.show("Say what was done (or why nothing needs doing) first.", "error")
            return
        settle_call = (
            client.resolve_compensation_failure
            if verb == "resolve"
            else client.ignore_compensation_failure
        )
        try:
            done = settle_call(failure["id"], why)
        except OrraError as exc:
            said.show(str(exc), "error")
            return
        said.show(f"{failure['stepId']}: {done['status']} ({why})", "success")
        resolve.disabled = ignore.disabled = True

    resolve.on_click(lambda _e: settle("resolve"))
    ignore.on_click(lambda _e: settle("ignore"))
    return pn.Column(said, pn.Row(reason, resolve, ignore), css_classes=["orra-failure"])


#: pages of GET /approvals read to find one run's deadlines (10,000 waiting steps)
_APPROVAL_PAGES = 20


def deadlines_of(client: Client, execution_id: str) -> dict[str, str | None]:
    """When each waiting step of this run is rejected without a decision (None: never)."""
    found: dict[str, str | None] = {}
    cursor = None
    try:
        for _ in range(_APPROVAL_PAGES):  # the run's steps may be on any page
            page = client.approval_page(500, cursor=cursor)
            for a in page["approvals"]:
                if a["executionId"] == execution_id:
                    found[a["stepId"]] = a.get("expiresAt")
            cursor = page.get("nextCursor")
            if not cursor:
                break
    except OrraError:
        pass  # the card still shows; only its deadline is missing
    return found


def approval_card(
    client: Client, request: ApprovalRequest, changed: Callable[[], None]
) -> pn.viewable.Viewable:
    """A step that waits for a person (an :class:`~orra_studio.approval.ApprovalRequest`
    drawn): its input (editable JSON), Approve, Reject with why."""
    said = Notice()
    said.show(request.headline, "warning")
    editor = pn.widgets.TextAreaInput(
        name="Input it will run with (JSON)",
        height=90,
        sizing_mode="stretch_width",
        disabled=not request.editable,
    )
    set_text(editor, request.editor_text)
    reason = pn.widgets.TextInput(placeholder="why (to reject)", width=300)
    approve = pn.widgets.Button(name="Approve", button_type="success", width=100)
    reject = pn.widgets.Button(name="Reject", button_type="danger", width=100)

    def decide(call: Callable[[], str]) -> None:
        try:
            outcome = call()
        except (NotDecided, OrraError) as exc:
            said.show(str(exc), "error")
            return
        said.show(f"{request.step_id}: {outcome}", "success")
        approve.disabled = reject.disabled = True
        changed()

    approve.on_click(
        lambda _e: decide(lambda: request.approve(client, editor.value_input, "studio"))
    )
    reject.on_click(lambda _e: decide(lambda: request.reject(client, reason.value_input, "studio")))
    return pn.Column(said, editor, pn.Row(approve, reject, reason), css_classes=["orra-approval"])
