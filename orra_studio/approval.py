"""A step that waits for a person: what its card shows and what the card's buttons do.

Written once; the notebook's ipywidget (``notebook/widgets.py``) and the web studio's Panel
card (``studio/run_view.py``) only draw it and pass on what was typed, so both say the same
thing and send the same decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orra_sdk.vocabulary import ApprovalStatus

if TYPE_CHECKING:
    from .client import Client

__all__ = ["ApprovalRequest", "NotDecided"]


class NotDecided(ValueError):
    """What was typed cannot be sent (the input is not JSON, a rejection without a reason);
    the message says what to do, and nothing was sent."""


@dataclass(frozen=True)
class ApprovalRequest:
    """One waiting step of one run, as a card shows it."""

    execution_id: str
    step_id: str
    component: str
    input: Any  # what the step would run with
    #: when it is rejected without a decision (None: never)
    expires_at: str | None = None
    #: an input too large to list (over 64 KiB): its start, shown read-only; it runs as is
    preview: str | None = None

    @classmethod
    def listed(cls, approval: dict[str, Any]) -> ApprovalRequest:
        """One row of ``GET /approvals``."""
        return cls(
            approval["executionId"],
            approval["stepId"],
            approval["component"],
            approval.get("input"),
            approval.get("expiresAt"),
            approval.get("inputPreview") if approval.get("inputTruncated") else None,
        )

    @property
    def headline(self) -> str:
        deadline = f" (rejected without a decision at {self.expires_at})" if self.expires_at else ""
        return f"{self.step_id} ({self.component}) waits for your approval{deadline}"

    @property
    def editable(self) -> bool:
        return self.preview is None

    @property
    def editor_text(self) -> str:
        """What the input editor starts with."""
        if self.preview is not None:
            return f"{self.preview}… (too large to list or edit here; it runs as it is)"
        return json.dumps(self.input, indent=1, ensure_ascii=False)

    def approve(self, client: Client, edited_text: str | None, approver: str) -> str:
        """Approve, sending the input only when the person changed it; ``"approved"``."""
        changed = None
        if self.editable and edited_text is not None:
            try:
                edited = json.loads(edited_text or "null")
            except ValueError as exc:
                raise NotDecided(f"The input is not JSON: {exc}") from None
            changed = edited if edited != self.input else None
        client.approve(self.execution_id, self.step_id, input=changed, approver=approver)
        return ApprovalStatus.APPROVED

    def reject(self, client: Client, reason: str | None, approver: str) -> str:
        """Reject with the person's reason (required: it is recorded); ``"rejected"``."""
        why = (reason or "").strip()
        if not why:
            raise NotDecided("Say why first: the reason is recorded.")
        client.reject(self.execution_id, self.step_id, why, approver=approver)
        return ApprovalStatus.REJECTED
