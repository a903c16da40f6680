"""A compensation failure as the API and the webhooks show it: one body for both, so a person
sees the same fields in ``GET /compensation-failures`` and in the webhook that announced it."""

from __future__ import annotations

from typing import Any

from ..core.ids import to_iso
from ..store import StoredCompensationFailure

__all__ = ["failure_body"]


def failure_body(failure: StoredCompensationFailure | StoredCompensationFailure) -> dict[str, Any]:
    """A compensation failure as the API and the webhooks show it (``updatedAt`` defaults to
    ``createdAt``)."""
    return {
        "id": failure.id,
        "projectId": failure.project_id,
        "orchestrationId": failure.orchestration_id,
        "stepId": failure.step_id,
        "serviceId": failure.service_id,
        "component": failure.component,
        "status": failure.status,
        "failure": failure.failure,
        "resolution": failure.resolution,
        "attempts": failure.attempts,
        "compensation": failure.compensation,
        "context": failure.context,
        "createdAt": to_iso(failure.created_at),
        "updatedAt": to_iso(failure.updated_at or failure.created_at),
    }
