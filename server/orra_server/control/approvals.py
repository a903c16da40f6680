"""The approvals waiting: the steps of a project that wait for a person's decision.

A step waits (``AWAITING_APPROVAL``) when its service asked for approval at registration, the
caller listed it in ``options.approve`` (or said ``"revertible"``), or an edited plan marked it.
Its resolved input is shown here; deciding is :mod:`.approve` and :mod:`.reject`.

The list is paged (``limit``, ``cursor``) and an input larger than 64 KiB is shown as a preview:
twenty waiting steps with 9 MB inputs made one answer of 171 MB (issue 24). The whole input is
in ``GET /orchestrations/{id}`` (the step's ``input``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import weakref
from dataclasses import dataclass
from typing import Any

import orjson

from orra_sdk.vocabulary import StepStatus

from ..core.errors import BadRequest
from ..core.ids import to_iso
from ..engine import Run, StepState
from ..engine.gates import approval_deadline
from .page import Page
from .runtime import Runtime

__all__ = ["ListApprovals", "list_approvals"]

#: an input whose JSON is larger than this is listed as a preview (``inputTruncated``)
MAX_LISTED_INPUT_BYTES = 64 * 1024
#: characters of such an input's JSON shown in ``inputPreview``
PREVIEW_CHARS = 2000
#: a waiting step's input → (its JSON size, a preview when too large); an input does not change
#: while its step waits, so a list polled every second measures each input once
_measured: weakref.WeakKeyDictionary[StepState, tuple[int, int, str | None]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class ListApprovals:
    project_id: str
    #: approvals on one page
    limit: int = 50
    #: a previous page's ``nextCursor``: the page after it
    cursor: str | None = None


async def list_approvals(runtime: Runtime, command: ListApprovals) -> Page:
    """Oldest run first; an input over 64 KiB is shown as ``inputPreview``
    (``inputTruncated``)."""
    project_id, limit, cursor = command.project_id, command.limit, command.cursor
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
    return Page(
        [_approval_body(run, step) for *_, run, step in page],
        _encode_cursor(page[-1][:3]) if more else None,
    )


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
        "expiresAt": to_iso(approval_deadline(run, step)),
    }
    if preview is not None:
        body["inputPreview"] = preview
        body["inputUrl"] = f"/orchestrations/{run.id}"
    return body
