"""The notebook's cards for steps that wait for a person: Approve/Reject, and the panel of them.

Separate from :mod:`.widgets` (plan preview and run progress) because deciding a waiting step
is its own act: ``%orra approvals`` lists the cards on their own, and a run's progress widget
shows one per step while it waits.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

from ..approval import ApprovalRequest, NotDecided
from ..client import Client
from ..errors import OrraError
from .results import shown_text

__all__ = ["ApprovalCard", "ApprovalsPanel"]


class ApprovalCard(w.VBox):
    """One step waiting for a person (an :class:`~orra_studio.approval.ApprovalRequest`
    drawn): its input (editable JSON), Approve and Reject.

    After a click, ``.decision`` is ``"approved"`` or ``"rejected"`` (or ``"error"`` with the
    server's message in ``.notice``); headless code can set ``input_editor.value`` and call
    ``approve_button.click()``.
    """

    decision = traitlets.Unicode("")

    def __init__(
        self,
        client: Client,
        execution_id: str,
        step_id: str,
        component: str,
        input: Any,
        expires_at: str | None = None,
        preview: str | None = None,
    ) -> None:
        self.client, self.execution_id, self.step_id = client, execution_id, step_id
        self.shown_input = input
        self.request = ApprovalRequest(execution_id, step_id, component, input, expires_at, preview)
        self.input_editor = w.Textarea(
            value=self.request.editor_text,
            description="input",
            disabled=not self.request.editable,
            layout=w.Layout(width="100%", height="80px"),
        )
        self.reason = w.Text(placeholder="why (to reject)", description="reason")
        self.approve_button = w.Button(description="Approve", button_style="success")
        self.reject_button = w.Button(description="Reject", button_style="danger")
        self.notice = w.HTML()
        super().__init__(
            [
                w.HTML(html.escape(self.request.headline)),
                self.input_editor,
                w.HBox([self.approve_button, self.reject_button, self.reason]),
                self.notice,
            ],
            layout=w.Layout(border="1px solid #9a6700", padding="4px", margin="4px 0"),
        )
        self.approve_button.on_click(lambda _: self.approve())
        self.reject_button.on_click(lambda _: self.reject())

    @classmethod
    def of(cls, client: Client, listed: dict[str, Any]) -> ApprovalCard:
        """The card of one row of ``GET /approvals``."""
        r = ApprovalRequest.listed(listed)
        return cls(client, r.execution_id, r.step_id, r.component, r.input, r.expires_at, r.preview)

    def approve(self) -> None:
        text = self.input_editor.value
        self._decide(lambda: self.request.approve(self.client, text, "notebook"))

    def reject(self) -> None:
        why = self.reason.value
        self._decide(lambda: self.request.reject(self.client, why, "notebook"))

    def _decide(self, call: Callable[[], str]) -> None:
        try:
            outcome = call()
        except (NotDecided, OrraError) as exc:
            self.decision = "error"
            self.notice.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
            return
        self.decision = outcome
        self.approve_button.disabled = self.reject_button.disabled = True
        self.notice.value = f"<span style='color:#1a7f37'>{outcome}</span>"


class ApprovalsPanel(w.VBox):
    """``%orra approvals``: the steps of the project that wait (the first page, oldest run
    first), each with its buttons, and a line saying when more wait."""

    def __init__(self, client: Client, limit: int = 50) -> None:
        self.client = client
        page = client.approval_page(limit)
        self.cards = [ApprovalCard.of(client, a) for a in page["approvals"]]
        #: whether more steps wait than the cards show (decide these, then list again)
        self.more = bool(page.get("nextCursor"))
        empty = w.HTML("No step waits for approval.")
        more = w.HTML(
            f"More steps wait than the {len(self.cards)} shown: decide these, then run "
            "%orra approvals again (or page with 'orra approvals ls --cursor')."
        )
        super().__init__([*(self.cards or [empty]), *([more] if self.more else [])])

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        rows = "".join(
            f"<tr><td>{html.escape(c.execution_id)}</td><td>{html.escape(c.step_id)}</td>"
            f"<td>{html.escape(shown_text(c.shown_input))}</td></tr>"
            for c in self.cards
        )
        bundle["text/html"] = (
            f"<table><tr><th>orchestration</th><th>step</th><th>input</th></tr>{rows}</table>"
        )
        return bundle
