"""The frames of the service protocol (docs/protocol.md), both ways, in one module.

Frames the control plane sends are built here (:func:`task_request`, :func:`task_cancel`,
:func:`compensation_request`, :func:`ping`, :func:`ack`); "attempt id" is what the protocol
calls ``executionId`` on these frames (a new one per dispatch), not the REST ``executionId``
of an orchestration.

Frames a service sends are checked against protocol.md before anything acts on them.

A frame is either wrapped (``{"id", "payload"}``, ACKed) or a bare payload (the JS SDK's
re-sends, never ACKed). The checks are deliberately lenient where the orra SDKs differ (extra
keys, a missing ``timestamp``, an ``error`` that is not a string) and strict where a wrong type
would break the engine (keys and ids must be short strings). A frame that fails is refused with
a reason; the connection stays up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from orra_sdk.vocabulary import ControlFrame, ServiceFrame

from ..core.limits import (
    MAX_ERROR_CHARS,
    MAX_JSON_DEPTH,
    MAX_MESSAGE_ID_CHARS,
    MAX_TOKEN_CHARS,
    fits_depth,
)

__all__ = [
    "BadFrame",
    "Frame",
    "ack",
    "compensation_request",
    "ping",
    "read_frame",
    "task_cancel",
    "task_request",
]


# -- frames to a service -------------------------------------------------------------------
def task_request(
    step_id: str, input: Any, *, attempt_id: str, idempotency_key: str, service_id: str
) -> dict[str, Any]:
    return {
        "type": ControlFrame.TASK_REQUEST,
        "id": step_id,
        "input": input,
        "executionId": attempt_id,
        "idempotencyKey": idempotency_key,
        "serviceId": service_id,
    }


def task_cancel(
    step_id: str, *, idempotency_key: str | None, service_id: str | None, reason: str
) -> dict[str, Any]:
    """An Orra Studio extension: stop working on a task (the orra SDKs log and ignore it)."""
    return {
        "type": ControlFrame.TASK_CANCEL,
        "id": step_id,
        "executionId": "",
        "idempotencyKey": idempotency_key,
        "serviceId": service_id,
        "reason": reason,
    }


def compensation_request(
    step_id: str,
    input: Any,
    *,
    orchestration_id: str,
    reason: str,
    payload: Any,
    timestamp: str,
    attempt_id: str,
    idempotency_key: str,
    service_id: str | None,
) -> dict[str, Any]:
    """``input`` is exactly the ``compensation.data`` the service returned; ``payload`` must be
    an object or null, or the orra Python SDK drops the whole context."""
    return {
        "type": ControlFrame.COMPENSATION_REQUEST,
        "id": step_id,
        "input": input,
        "compensationContext": {
            "orchestrationId": orchestration_id,
            "reason": reason,
            "payload": payload if isinstance(payload, dict) else None,
            "timestamp": timestamp,
        },
        "executionId": attempt_id,
        "idempotencyKey": idempotency_key,
        "serviceId": service_id,
    }


def ping(service_id: str) -> dict[str, Any]:
    return {"type": ControlFrame.PING, "serviceId": service_id}


def ack(message_id: str) -> dict[str, Any]:
    return {"type": ControlFrame.ACK, "id": message_id}


# -- frames from a service -----------------------------------------------------------------

Token = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_CHARS)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_ID_CHARS)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    type: ServiceFrame  # the frames the control plane acts on; anything else is refused
    serviceId: str | None = Field(default=None, max_length=MAX_TOKEN_CHARS)
    idempotencyKey: Token | None = None
    taskId: str | None = Field(default=None, max_length=MAX_TOKEN_CHARS)
    executionId: str | None = Field(default=None, max_length=MAX_TOKEN_CHARS)
    status: str | None = Field(default=None, max_length=MAX_TOKEN_CHARS)
    result: Any = None
    error: Any = None


class BadFrame(ValueError):
    """A frame that does not follow protocol.md; ``message_id`` is set when it had a usable one
    (the frame is then ACKed, so the SDK does not re-send the same bad frame forever)."""

    def __init__(self, reason: str, message_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


@dataclass(frozen=True, slots=True)
class Frame:
    """A checked frame: ``payload`` as a plain dict for the engine; ``message_id`` to ACK."""

    message_id: str | None
    kind: str
    payload: dict[str, Any]


def read_frame(text: str) -> Frame:
    """Parse and check one text frame; raises :class:`BadFrame` with the reason."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadFrame(f"not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise BadFrame(f"a JSON {type(message).__name__}, not an object")
    message_id: str | None = None
    if "payload" in message:
        raw_id = message.get("id")
        if not isinstance(raw_id, str) or not 0 < len(raw_id) <= MAX_MESSAGE_ID_CHARS:
            raise BadFrame(
                f"'id' must be a string of 1 to {MAX_MESSAGE_ID_CHARS} characters "
                f"(got {_describe(raw_id)})"
            )
        message_id = raw_id
        payload = message["payload"]
        if not isinstance(payload, dict):
            raise BadFrame(f"'payload' must be an object (got {_describe(payload)})", message_id)
    else:
        payload = message  # a bare re-sent payload
    try:
        checked = _Payload.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise BadFrame(f"{where}: {first['msg']}", message_id) from None
    if checked.type != ServiceFrame.PONG and checked.idempotencyKey is None:
        raise BadFrame(f"a {checked.type} needs an 'idempotencyKey'", message_id)
    clean = {name: payload[name] for name in _Payload.model_fields if name in payload}
    error = clean.get("error")
    if error is not None and not isinstance(error, str):
        error = orjson.dumps(error).decode() if fits_depth(error) else "(an error nested too deep)"
    if isinstance(error, str) and len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + "… (cut)"
    if error is not None:
        clean["error"] = error
    if not fits_depth(clean.get("result")):
        too_deep = (
            f"the service's result nests more than {MAX_JSON_DEPTH} levels deep; at most "
            f"{MAX_JSON_DEPTH} can be stored"
        )
        if checked.type == ServiceFrame.TASK_RESULT:  # the step fails like any service error
            clean["result"], clean["error"] = None, too_deep
        elif checked.type == ServiceFrame.TASK_ABORT_RESULT:
            clean["result"] = {"task": {"error": too_deep}}
        else:
            raise BadFrame(too_deep, message_id)
    return Frame(message_id, checked.type, clean)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return "null" if value is None else f"a JSON {type(value).__name__}"
