"""The FastAPI app factory: routers, the one error handler, the lifespan that owns the store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..core import redaction
from ..core.errors import BadRequest, OrraError, PayloadTooLarge
from ..core.grammar import decimal
from ..settings import Settings
from . import (
    approvals,
    compensation_failures,
    executions,
    export,
    groundings,
    operations,
    orchestrations,
    projects,
    reruns,
    services,
    ws,
)
from .responses import FastJSONResponse
from .runtime import Runtime

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    redaction.add_secret(settings.admin_token)
    redaction.add_secret(settings.llm.api_key)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redaction.install()  # uvicorn has configured logging by now
        runtime = Runtime.open(settings)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Orra Studio control plane",
        version=__version__,
        lifespan=lifespan,
        description="Plan actions over registered services and run them as DAGs.",
        default_response_class=FastJSONResponse,
        docs_url=None,  # served below from local files: the page must work offline
        redoc_url=None,
    )
    _offline_docs(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(ws.KeepServerSend)  # added last: the outermost
    app.add_exception_handler(OrraError, _orra_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    app.include_router(operations.router)
    app.include_router(projects.router)
    app.include_router(services.router)
    app.include_router(orchestrations.router)
    app.include_router(executions.router)
    app.include_router(approvals.router)
    app.include_router(reruns.router)
    app.include_router(compensation_failures.router)
    app.include_router(groundings.router)
    app.include_router(export.router)
    app.include_router(ws.router)
    return app


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from the assets ``swagger-ui-bundle`` ships: no CDN."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


async def _orra_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrraError)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(status_code=exc.status_code, content=exc.to_body(), headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        where = next(e for e in errors if e.get("type") == "json_invalid")
        ctx = where.get("ctx") or {}
        return JSONResponse(
            status_code=400,
            content=OrraError(
                f"the body is not valid JSON: {ctx.get('error', 'parse error')} "
                f"(at character {where['loc'][-1] if where.get('loc') else '?'})",
                code="invalid_json",
            ).to_body(),
        )
    if any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        return JSONResponse(
            status_code=400,
            content=OrraError(
                "the body must be a JSON object; send JSON with 'Content-Type: "
                "application/json' (curl: -H 'Content-Type: application/json' -d '{…}')",
                code="invalid_request",
            ).to_body(),
        )
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e["msg"]}
        for e in errors
    ]
    first = details[0] if details else {"field": "?", "problem": "invalid"}
    message = f"{first['field'] or 'body'}: {first['problem']}"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more problem{'s' if len(details) > 2 else ''})"
    return JSONResponse(
        status_code=400,
        content=OrraError(message, code="invalid_request", details=details).to_body(),
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette's 405 names only the first route
    that matched the path: ``POST`` alone on ``/orchestrations``, which also takes ``GET``)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    return [*allowed, "OPTIONS"]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        allowed = ", ".join(_allowed(request))
        headers = {**(exc.headers or {}), "Allow": allowed}
        if request.method == "OPTIONS":  # what a path takes: the answer, not an error
            return Response(status_code=204, headers=headers)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}; it takes "
        f"{headers.get('Allow') if headers else ''}",
    }.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        status_code=exc.status_code,
        content=OrraError(message, code=codes.get(exc.status_code, "http_error")).to_body(),
        headers=headers,  # e.g. Allow on a 405
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=500,
        content=OrraError("internal error; the server log has the details").to_body(),
    )


async def _bad_length(length: bytes, scope: Scope, receive: Receive, send: Send) -> None:
    error = BadRequest(
        f"Content-Length {length[:40].decode('latin-1')!r} is not a number of bytes; send the "
        "body's size in bytes as ASCII digits (or let your HTTP client set it)",
        code="invalid_content_length",
        param="Content-Length",
    )
    response = JSONResponse(
        status_code=400, content=error.to_body(), headers={"Connection": "close"}
    )
    await response(scope, receive, send)


class BodySizeLimit:
    """Refuse bodies over the limit with 413 ``payload_too_large`` before the app sees them.

    With a ``Content-Length`` the header decides. A body without one (chunked) is read here,
    up to the limit, and replayed to the app: refusing it halfway through the app's own read
    would reach the caller as FastAPI's vague "error parsing the body".
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if decimal(length.decode("latin-1")) is None:  # ASCII digits: int() takes more
                await _bad_length(length, scope, receive, send)
                return
            if int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(
            f"the body is larger than {self.max_bytes} bytes (10 MiB); send less data per "
            "request, e.g. pass a reference to large content instead of the content itself"
        )
        response = JSONResponse(
            status_code=413, content=error.to_body(), headers={"Connection": "close"}
        )
        await response(scope, receive, send)
