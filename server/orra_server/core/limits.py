"""Every bound on what a client may send, in one place (docs/security.md lists them).

Anyone who can reach the port can send anything, so each input is bounded before it is used:
body and frame size, JSON nesting, plan size, frame rate. Each bound has a stable error code.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from .errors import BadRequest

__all__ = [
    "MAX_API_KEYS",
    "MAX_DATA_FIELDS",
    "MAX_DELIVERIES_IN_FLIGHT",
    "MAX_DELIVERIES_PER_HOST",
    "MAX_FRAME_BYTES",
    "MAX_GROUNDING_BYTES",
    "MAX_GROUNDING_NODES",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE_ID_CHARS",
    "MAX_PLAN_REFERENCES",
    "MAX_PLAN_STEPS",
    "MAX_REQUEST_BYTES",
    "MAX_SERVICES",
    "MAX_WEBHOOKS",
    "JsonTooDeep",
    "check_depth",
    "fits_depth",
    "too_deep",
]

#: largest request body on the REST API (413 ``payload_too_large``)
MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: largest websocket frame a service may send (the socket is closed with 1009 past it); the
#: orra Python SDK's own limit for frames it receives is 10,487,808 bytes
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: nesting of arrays and objects in any JSON we accept (400 ``json_too_deep``). Stored values
#: are wrapped a few levels deeper (events, result bodies) and orjson writes at most 254.
MAX_JSON_DEPTH = 64
#: a grounding spec's document (413 ``grounding_too_large``): far more than any real spec
#: (≤ 200 use cases), small enough to parse in well under a second, off the event loop
MAX_GROUNDING_BYTES = 1024 * 1024
#: values (scalars, lists, mappings) in a YAML or JSON grounding document (413 as well)
MAX_GROUNDING_NODES = 100_000
#: the ``id`` of a wrapped websocket message (the SDKs send ``msg_<n>_<executionId>``)
MAX_MESSAGE_ID_CHARS = 256
#: idempotency keys, task ids, execution ids and service ids in a frame
MAX_TOKEN_CHARS = 256
#: an error string a service reports (longer ones are cut, not refused)
MAX_ERROR_CHARS = 10_000
#: webhooks of one kind (result, compensation failure) a project may have
#: (400 ``too_many_webhooks``): each run's outcome is one delivery per webhook
MAX_WEBHOOKS = 20
#: API keys one project may hold at once (400 ``too_many_api_keys``): each is kept in memory
#: for authentication; revoking or rotating one makes room
MAX_API_KEYS = 100
#: services and agents one project may register (400 ``too_many_services``): the offline
#: planner weighs each for every action, and ``GET /services`` lists them all
MAX_SERVICES = 200
#: webhook POSTs in flight at once, over all projects and to one host
MAX_DELIVERIES_IN_FLIGHT = 64
MAX_DELIVERIES_PER_HOST = 8
#: steps in one plan, references in one plan, fields in one orchestration's ``data``
MAX_PLAN_STEPS = 200
MAX_PLAN_REFERENCES = 5_000
MAX_DATA_FIELDS = 1_000
#: frames per second one service connection may send (a token bucket: bursts up to
#: ``FRAME_BURST``); past it the server stops reading the socket until the bucket refills
FRAMES_PER_SECOND = 2_000.0
FRAME_BURST = 4_000
#: frames (and bytes) waiting to be written to one service socket; a peer that lets more
#: pile up is not reading and is disconnected with close code 1013
SEND_QUEUE_FRAMES = 1_024
SEND_QUEUE_BYTES = 32 * 1024 * 1024

#: orjson refuses to write more than this many nested containers
_ORJSON_MAX_DEPTH = 254
_PADDING = _ORJSON_MAX_DEPTH - MAX_JSON_DEPTH


class JsonTooDeep(BadRequest):
    status_code = 400
    code = "json_too_deep"


def fits_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests at most ``limit`` arrays/objects deep.

    Walking a 10 MB body in Python takes most of a second; orjson does it in C while it
    serialises. So the value is put inside ``254 - limit`` lists and written once: orjson
    refuses exactly when the value itself is deeper than ``limit``. The lists are made once
    per thread and reused (building them took most of the time for small values).
    """
    if not isinstance(value, dict | list):
        return True
    outer, holder = _padding(_ORJSON_MAX_DEPTH - limit)
    holder[0] = value
    try:
        orjson.dumps(outer, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" in str(exc):
            return False
        raise
    finally:
        holder[0] = None
    return True


_per_thread = threading.local()


def _padding(levels: int) -> tuple[list[Any], list[Any]]:
    """``levels`` nested one-element lists: (the outermost, the innermost)."""
    chains: dict[int, tuple[list[Any], list[Any]]] = _per_thread.__dict__.setdefault("chains", {})
    if levels not in chains:
        holder: list[Any] = [None]
        outer = holder
        for _ in range(levels - 1):
            outer = [outer]
        chains[levels] = (outer, holder)
    return chains[levels]


def too_deep(where: str = "the body", limit: int = MAX_JSON_DEPTH) -> JsonTooDeep:
    """The 400 ``json_too_deep`` for ``where``, naming the limit."""
    return JsonTooDeep(
        f"{where} nests arrays/objects more than {limit} levels deep; at most {limit} are allowed",
        details={"limit": limit},
    )


def check_depth(value: Any, where: str = "the body", limit: int = MAX_JSON_DEPTH) -> Any:
    """``value``, or a 400 ``json_too_deep`` naming the limit."""
    if not fits_depth(value, limit):
        raise too_deep(where, limit)
    return value
