"""Approval gates: the steps that wait for a person, and the person's decision.

A step waits (``AWAITING_APPROVAL``) when its service asked for approval at registration, the
caller listed it in ``options.approve`` (or said ``"revertible"``), or an edited plan marked it.
Its resolved input is shown here; approving may replace it (checked against the service's input
schema); rejecting fails the step, which then re-plans or fails the run as any failure does.

The list is paged (``limit``, ``cursor``) and an input larger than 64 KiB is shown as a preview:
twenty waiting steps with 9 MB inputs made one answer of 171 MB (issue 24). The whole input is
in ``GET /orchestrations/{id}`` (the step's ``input``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import weakref
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import hash_api_key, to_iso
from ..core.statuses import StepStatus
from ..engine import Run, StepState
from .admission import check_input
from .auth import ProjectId
from .models import ERROR_RESPONSES, ApprovalIn, RejectionIn, answers
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .schemas import ApprovalList, OrchestrationOut

router = APIRouter(tags=["approvals"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)

#: an input whose JSON is larger than this is listed as a preview (``inputTruncated``)
MAX_LISTED_INPUT_BYTES = 64 * 1024
#: characters of such an input's JSON shown in ``inputPreview``
PREVIEW_CHARS = 2000
#: a waiting step's input → (its JSON size, a preview when too large); an input does not change
#: while its step waits, so a list polled every second measures each input once
_measured: weakref.WeakKeyDictionary[StepState, tuple[int, int, str | None]] = (
    weakref.WeakKeyDictionary()
)


def _approver(request: Request, named: str | None) -> str:
    """Who decided: the name given, and always which key (its hash's start, never the key)."""
    key = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
    which = f"key {hash_api_key(key)[:8]}" if key else "unknown key"
    return f"{named} ({which})" if named else which


def _waiting_step(runtime: Runtime, project_id: str, orchestration_id: str, step_id: str):
    run = runtime.orchestration(project_id, orchestration_id)
    live = runtime.engine.runs.get(orchestration_id)
    step = (live or run).steps.get(step_id)
    if step is None:
        raise NotFound(
            f"orchestration '{orchestration_id}' has no step '{step_id}' "
            f"(steps: {', '.join(run.steps)})",
            code="step_not_found",
        )
    if live is None or live.finishing or step.status != StepStatus.AWAITING_APPROVAL:
        raise Conflict(
            f"step '{step_id}' is {step.status}, not AWAITING_APPROVAL: only a step that waits "
            "for approval can be approved or rejected",
            code="step_not_awaiting_approval",
            details={"status": step.status},
        )
    return live, step


@router.get("/approvals", **answers(ApprovalList))
async def list_approvals(
    request: Request,
    project_id: ProjectId,
    limit: int = Query(default=50, ge=1, le=500, description="approvals on one page"),
    cursor: str | None = Query(
        default=None, max_length=1000, description="a previous page's nextCursor: the page after it"
    ),
) -> dict[str, Any]:
    """The steps of the project that wait for a person's decision, oldest run first, a page at
    a time (``nextCursor``: null on the last page). An input over 64 KiB is shown as
    ``inputPreview`` (``inputTruncated``); ``GET /orchestrations/{id}`` has it whole."""
    runtime = runtime_of(request)
    after = _decode_cursor(cursor) if cursor is not None else None
    waiting = sorted(
        (
            (to_iso(run.created_at) or "", run.id, step.id, run, step)
            for run in runtime.engine.runs.values()
            if run.project_id == project_id and not run.finishing
            for step in run.steps.values()
            if step.status == StepStatus.AWAITING_APPROVAL
        ),
        key=lambda item: item[:3],
    )
    if after is not None:
        waiting = [item for item in waiting if item[:3] > after]
    page, more = waiting[:limit], len(waiting) > limit
    unmeasured = [step for *_, step in page if not _known(step)]
    if unmeasured:  # a large input takes milliseconds to encode: off the loop
        inputs = [step.input for step in unmeasured]
        found = await asyncio.to_thread(lambda: [_size_of(value) for value in inputs])
        for step, value, (size, preview) in zip(unmeasured, inputs, found, strict=True):
            _measured[step] = (id(value), size, preview)
    return {
        "approvals": [_approval_body(run, step) for *_, run, step in page],
        "nextCursor": _encode_cursor(page[-1][:3]) if more else None,
    }


def _known(step: StepState) -> bool:
    found = _measured.get(step)
    return found is not None and found[0] == id(step.input)


def _size_of(value: Any) -> tuple[int, str | None]:
    """The JSON size of an input, and a preview of it when it is too large to list."""
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    if len(text) <= MAX_LISTED_INPUT_BYTES:
        return len(text), None
    return len(text), text[: PREVIEW_CHARS * 4].decode("utf-8", "ignore")[:PREVIEW_CHARS]


def _measure(step: StepState) -> tuple[int, int, str | None]:
    """(id of the input measured, its JSON size, its preview), measured once per input."""
    if not _known(step):
        _measured[step] = (id(step.input), *_size_of(step.input))
    return _measured[step]


def _encode_cursor(key: tuple[str, str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(["approvals", *key])).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[str, str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        kind, *key = orjson.loads(raw)
        if kind != "approvals" or len(key) != 3 or not all(isinstance(k, str) for k in key):
            raise ValueError(kind)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest(
            "not a cursor of GET /approvals; pass the nextCursor of the previous page unchanged",
            code="invalid_cursor",
            param="cursor",
        ) from None
    return key[0], key[1], key[2]


def _approval_body(run: Run, step: StepState) -> dict[str, Any]:
    _, size, preview = _measure(step)
    body = {
        "executionId": run.id,
        "stepId": step.id,
        "component": step.component,
        "input": step.input if preview is None else None,
        "inputTruncated": preview is not None,
        "inputBytes": size,
        "action": run.action,
        "createdAt": to_iso(run.created_at),
        "requestedAt": to_iso(step.waiting_since),
        "expiresAt": to_iso(_deadline(run, step)),
    }
    if preview is not None:
        body["inputPreview"] = preview
        body["inputUrl"] = f"/orchestrations/{run.id}"
    return body


def _deadline(run: Run, step: StepState) -> datetime | None:
    seconds = (run.options or {}).get("approvalTimeoutSeconds")
    if seconds is None or step.waiting_since is None:
        return None
    return step.waiting_since + timedelta(seconds=float(seconds))


@router.post(
    "/orchestrations/{orchestration_id}/steps/{step_id}/approve",
    **answers(OrchestrationOut, conflicts=True),
)
async def approve_step(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    step_id: str,
    body: ApprovalIn | None = None,
) -> dict[str, Any]:
    """Run the step now, with its input as shown or as edited in ``input``."""
    runtime = runtime_of(request)
    run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    body = body or ApprovalIn()
    if body.input is not None:
        service = runtime.registry.cached(step.service_id or "")
        await check_input(
            body.input,
            (service.input_schema if service else None) or {},
            step_id=step_id,
            component=step.component,
            param="input",
        )
        # the check may have yielded the loop: decide only if the step still waits
        run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    await runtime.engine.approve(
        run, step, body.input, _approver(request, body.approver), body.comment
    )
    return run.body()


@router.post(
    "/orchestrations/{orchestration_id}/steps/{step_id}/reject",
    **answers(OrchestrationOut, conflicts=True),
)
async def reject_step(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    step_id: str,
    body: RejectionIn,
) -> dict[str, Any]:
    """Fail the step: the run re-plans without it or fails and compensates."""
    runtime = runtime_of(request)
    run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    await runtime.engine.reject(run, step, body.reason, _approver(request, body.approver))
    return run.body()
