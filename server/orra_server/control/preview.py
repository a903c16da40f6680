"""Preview: the plan an action would run, its validation and warnings; nothing runs.

Editing a preview is a preview with the caller's plan (``OrchestrationRequest.plan``): the
same validator judges it and its errors come back on the steps and fields they name. Running
a preview is a submission with that plan (:mod:`.submit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orra_sdk.vocabulary import OrchestrationStatus, SubmissionStatus

from .plans import OrchestrationRequest, Planned, plan_request, planning_events
from .runtime import Runtime

__all__ = ["Preview", "preview"]


@dataclass(frozen=True, slots=True)
class Preview:
    #: the answer: plan, validation (valid, errors, warnings), provenance, no execution id
    answer: dict[str, Any]


async def preview(runtime: Runtime, request: OrchestrationRequest) -> Preview:
    planned = await plan_request(runtime, request, run=False)
    result = planned.result
    answer = planned.answer()
    # no plan at all: the same NOT_ACTIONABLE (and reason) a real POST would answer
    unplanned = planned.plan is None and request.plan is None
    answer.update(
        status=OrchestrationStatus.NOT_ACTIONABLE if unplanned else SubmissionStatus.PREVIEW,
        executionId=None,
        message=result.reason or "Plan preview: nothing was run.",
        validation={
            "valid": result.plan is not None and not result.errors,
            "errors": [e.as_dict() for e in result.errors],
            "warnings": _warnings(runtime, planned),
        },
        provenance=result.provenance,
    )
    if result.llm_calls:
        runtime.store.record_lazy(planning_events(None, result))
    return Preview(answer)


def _warnings(runtime: Runtime, planned: Planned) -> list[str]:
    """Things that will not stop the plan but that the caller should know before running it."""
    if planned.plan is None:
        return []
    ids = planned.service_ids
    offline = sorted(
        {
            s["component"]
            for s in planned.plan["steps"]
            if s["component"] in ids and not runtime.hub.is_online(ids[s["component"]])
        }
    )
    grace = runtime.settings.offline_grace_seconds
    return [
        f"'{name}' has no connected instance: its steps will wait up to {grace:g} s for one"
        for name in offline
    ]
