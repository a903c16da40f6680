"""Request bodies parsed with orjson, bounded in depth, big ones off the event loop.

orjson is faster than the stdlib, and every number it reads it can write back (integers past
64 bits become floats), so no accepted body can break a later write. The body is parsed here,
before FastAPI's own body handling, so that a body too deep is answered with our 400
``json_too_deep`` (FastAPI turns any error raised while it reads a body into a vague 400).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ..core.limits import check_depth

__all__ = ["OrjsonRoute", "parse_json"]

#: bodies larger than this are parsed in a worker thread, so the loop keeps serving others
_OFF_LOOP_BYTES = 256 * 1024


def parse_json(raw: bytes) -> Any:
    """Parse and bound a body; raises ``orjson.JSONDecodeError`` or ``JsonTooDeep``."""
    return check_depth(orjson.loads(raw))


class _OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _treat_as_json(request: Request) -> None:
    """A body that parses as JSON is read as JSON whatever ``Content-Type`` says.

    ``curl -d '{…}'`` sends ``application/x-www-form-urlencoded``, and FastAPI would read the
    body as a form and refuse it; forms are never what this API takes.
    """
    headers = request.scope["headers"]
    kind = next((v for k, v in headers if k == b"content-type"), b"").split(b";")[0].strip()
    if kind == b"application/json" or kind.endswith(b"+json") or kind == b"multipart/form-data":
        return
    request.scope["headers"] = [(k, v) for k, v in headers if k != b"content-type"] + [
        (b"content-type", b"application/json")
    ]


class OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            request = _OrjsonRequest(request.scope, request.receive)
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                raw = await request.body()
                if raw:
                    try:
                        if len(raw) > _OFF_LOOP_BYTES:
                            request._json = await asyncio.to_thread(parse_json, raw)
                        else:
                            request._json = parse_json(raw)
                    except orjson.JSONDecodeError:
                        pass  # FastAPI reports it (400 invalid_json) where it reads the body
                    else:
                        _treat_as_json(request)
            return await handler(request)

        return route_handler
