"""A service or agent: register it, hold its websocket, run its handler for each task.

Reconnects forever with capped, jittered backoff; runs sync handlers in threads and async ones
on the loop; at most ``concurrency`` tasks at once; installs no signal handlers and configures
no logging — the host process stays in charge.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pydantic
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from .errors import OrraError, RegistrationError
from .handling import HandlerCall, handler_shape, plain, run_revert, schema_of
from .names import name_problem
from .vocabulary import (
    PONG_MESSAGE_ID,
    ControlFrame,
    ServiceFrame,
    TaskProgress,
)
from .wire import MAX_FRAME, auth_header, encode, refusal_reason, too_large

__all__ = ["Agent", "Service"]

log = logging.getLogger("orra_sdk")


class Service:
    kind = "service"

    def __init__(
        self,
        name: str,
        *,
        description: str,
        url: str = "http://localhost:8005",
        api_key: str,
        input: Any = None,
        output: Any = None,
        revertible: bool = False,
        requires_approval: bool = False,
        revert_ttl_ms: int = 24 * 3600 * 1000,
        policy: dict[str, Any] | None = None,
        concurrency: int = 1,
        id_file: str | Path | None = None,
        service_id: str | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        problem = name_problem(name)
        if problem is not None:  # now, not deep in the event loop once it connects
            raise RegistrationError(problem, code="invalid_service_name")
        self.name = name
        self.description = description
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._input_model = input if isinstance(input, type) else None
        self._output_model = output if isinstance(output, type) else None
        self._input_schema = schema_of(input)
        self._output_schema = schema_of(output)
        self.revertible = revertible
        #: every task waits for a person's approval before the control plane sends it
        self.requires_approval = requires_approval
        #: how long after a task completes its compensation data stays valid
        self.revert_ttl_ms = revert_ttl_ms
        #: this service's timeout/retry defaults, e.g. ``{"timeoutSeconds": 900, "maxAttempts": 3}``
        self.policy = policy
        self.concurrency = max(1, concurrency)
        self.id_file = Path(id_file) if id_file else None
        self.id: str | None = service_id
        self.version: int | None = None
        self.max_backoff = max_backoff
        self._handler: Callable[..., Any] | None = None
        self._handler_input: Any = None  # how to build the handler's argument
        self._revert: Callable[..., Any] | None = None
        self._ws: Any = None
        self._connected = asyncio.Event()
        self._message_number = 0
        self._unacked: dict[str, dict[str, Any]] = {}
        self._outbox: list[dict[str, Any]] = []
        self._results: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._semaphore: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.tasks_handled = 0

    # -- declaring ---------------------------------------------------------------------------
    def handler(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate the function that does the work (sync or async).

        It may take ``Task[Model]``, ``Model`` or a plain ``dict``, and return a pydantic model
        or a dict. Models in the annotations become the schemas when none were given.
        """
        wants_task, model, returned = handler_shape(func)
        if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
            self._input_model = self._input_model or model
            self._input_schema = self._input_schema or model.model_json_schema()
        if isinstance(returned, type) and issubclass(returned, pydantic.BaseModel):
            self._output_model = self._output_model or returned
            self._output_schema = self._output_schema or returned.model_json_schema()
        self._handler = func
        self._handler_input = (wants_task, model)
        return func

    def revert_handler(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate the compensation: it receives ``(original_input, output, context)``."""
        self._revert = func
        return func

    # -- running -----------------------------------------------------------------------------
    async def register(self) -> str:
        if self.id is None and self.id_file and self.id_file.exists():
            self.id = json.loads(self.id_file.read_text()).get("id")
        body = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "schema": {"input": self._input_schema, "output": self._output_schema},
            "version": self.version or 0,
            "revertible": self.revertible,
            "requiresApproval": self.requires_approval,
        }
        if self.policy:
            body["policy"] = self.policy
        async with httpx.AsyncClient(base_url=self.url, timeout=30.0) as client:
            response = await client.post(
                f"/register/{self.kind}",
                json=body,
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise _NotYet(f"the control plane answered HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise RegistrationError(error["message"], code=error.get("code"))
            except (ValueError, KeyError, TypeError):
                raise RegistrationError(
                    f"registration failed: HTTP {response.status_code}"
                ) from None
        answer = response.json()
        self.id = answer["id"]
        self.version = answer["version"]
        log.info("%s: registered as %s (version %s)", self.name, self.id, self.version)
        for warning in answer.get("warnings") or []:
            log.warning("%s: %s", self.name, warning)
        if self.id_file:
            self.id_file.parent.mkdir(parents=True, exist_ok=True)
            self.id_file.write_text(json.dumps({"id": self.id}))
        return self.id

    async def run(self) -> None:
        """Register, then serve tasks until cancelled, reconnecting forever."""
        if self._handler is None:
            raise OrraError(f"{self.name}: decorate a handler with @service.handler first")
        self._semaphore = asyncio.Semaphore(self.concurrency)
        attempt = 0
        while True:
            try:
                if self.id is None or self.version is None:
                    await self.register()
                await self._serve_connection()
                attempt = 0
            except RegistrationError:
                raise
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                if getattr(exc.response, "status_code", None) == 403:
                    self.version = None  # our id is unknown here (server reset?): re-register
                log.warning(
                    "%s: websocket refused (%s%s); retrying", self.name, exc, refusal_reason(exc)
                )
            except (OSError, WebSocketException, httpx.HTTPError, _NotYet) as exc:
                where = "reach" if self._ws is None and not self._connected.is_set() else "keep"
                log.info(
                    "%s: cannot %s the control plane at %s (%s); retrying",
                    self.name,
                    where,
                    self.url,
                    exc or type(exc).__name__,
                )
            finally:
                self._connected.clear()
                self._ws = None
            attempt += 1
            delay = min(self.max_backoff, 0.25 * 2 ** min(attempt, 8))
            await asyncio.sleep(delay * (0.5 + random.random() / 2))

    def run_forever(self) -> None:
        """Run until Ctrl-C, then stop quietly: ``svc.run_forever()`` in a script.

        The same as ``asyncio.run(svc.run())`` without the ``KeyboardInterrupt`` traceback.
        """
        from .running import run_forever

        run_forever(self)

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def _serve_connection(self) -> None:
        ws_url = self.url.replace("http://", "ws://").replace("https://", "wss://")
        # the key goes in a header, never in the URL (proxies log URLs)
        uri = f"{ws_url}/ws?serviceId={self.id}"
        async with websockets.connect(
            uri,
            max_size=MAX_FRAME,
            ping_interval=20,
            ping_timeout=60,
            # leaving (Ctrl-C, close) waits this long for the server's close frame, not the
            # library's 10 s: a busy control plane must not hold up a stopping service
            close_timeout=2,
            compression=None,
            **auth_header(self.api_key, self.concurrency),
        ) as ws:
            self._ws = ws
            self._connected.set()
            log.info("%s: connected to %s", self.name, self.url)
            # whatever was never ACKed goes again, with new message ids (the server dedupes)
            backlog = list(self._unacked.values()) + self._outbox
            self._unacked.clear()
            self._outbox.clear()
            for payload in backlog:
                await self._send(payload)
            async for frame in ws:
                self._on_frame(frame)

    def _on_frame(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            return
        kind = message.get("type")
        if kind == ControlFrame.PING:
            pong = {"type": ServiceFrame.PONG, "serviceId": self.id}
            self._spawn(self._raw_send({"id": PONG_MESSAGE_ID, "payload": pong}))
        elif kind == ControlFrame.ACK:
            self._unacked.pop(message.get("id"), None)
        elif kind == ControlFrame.TASK_REQUEST:
            self._on_task(message)
        elif kind == ControlFrame.COMPENSATION_REQUEST:
            self._spawn(self._on_compensation(message))
        elif kind == ControlFrame.TASK_CANCEL:  # the orchestration ended: stop working on it
            running = self._running.get(message.get("idempotencyKey") or "")
            if running is not None:
                running.cancel()

    def _reply_header(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The idempotency key and the fields every answer to ``request`` carries."""
        key = request.get("idempotencyKey") or ""
        return key, {
            "taskId": request.get("id"),
            "idempotencyKey": key,
            "executionId": request.get("executionId"),
            "serviceId": self.id,
        }

    def _on_task(self, request: dict[str, Any]) -> None:
        """Take a ``task_request`` at once, in frame order, so that a ``task_cancel`` read
        right after it finds the task running (the TypeScript SDK does the same)."""
        key, base = self._reply_header(request)
        if key in self._results:
            cached = self._results[key]
            if not cached.get("aborted"):
                self._spawn(self._send({**base, "type": ServiceFrame.TASK_RESULT, **cached}))
            return
        if key in self._running:
            status = {"type": ServiceFrame.TASK_STATUS, "status": TaskProgress.IN_PROGRESS}
            self._spawn(self._send({**base, **status}))
            return
        assert self._semaphore is not None
        work = asyncio.get_running_loop().create_task(self._run_limited(request, base))
        self._running[key] = work
        self._spawn(self._answer(key, base, work))

    async def _answer(self, key: str, base: dict[str, Any], work: asyncio.Task[Any]) -> None:
        """The task's result, once its handler ends; nothing if it was cancelled."""
        try:
            outcome = await work
        except asyncio.CancelledError:
            if work.cancelled():  # told to stop (task_cancel): nobody waits for an answer
                log.info("%s: task %s cancelled by the control plane", self.name, key)
                return
            raise
        finally:
            self._running.pop(key, None)
        if outcome.get("error") is None:  # errors are not cached: a retry runs the handler
            self._remember(key, outcome)
        if not outcome.get("aborted"):
            await self._send({**base, "type": ServiceFrame.TASK_RESULT, **outcome})
        self.tasks_handled += 1

    async def _run_limited(self, request: dict[str, Any], base: dict[str, Any]):
        assert self._semaphore is not None
        async with self._semaphore:
            return await self._call_handler(request, base)

    async def _call_handler(self, request: dict[str, Any], base: dict[str, Any]):
        assert self._handler is not None
        wants_task, model = self._handler_input

        async def interim(update: Any) -> None:
            result = {"task": plain(update)}
            await self._send({**base, "type": ServiceFrame.TASK_INTERIM_RESULT, "result": result})

        async def aborted(update: Any) -> None:
            result = {"task": plain(update)}
            await self._send({**base, "type": ServiceFrame.TASK_ABORT_RESULT, "result": result})

        call = HandlerCall(self.name, self._handler, wants_task, model, self._output_model)
        ttl = self.revert_ttl_ms if self.revertible else None
        return await call.run(request, base, interim, aborted, ttl)

    async def _on_compensation(self, request: dict[str, Any]) -> None:
        key, base = self._reply_header(request)
        if key in self._results:
            await self._send({**base, "type": ServiceFrame.TASK_RESULT, **self._results[key]})
            return
        if self._revert is None or not self.revertible:
            return
        answer = await run_revert(self._revert, request)
        if answer["error"] is None:
            self._remember(key, answer)
        await self._send({**base, "type": ServiceFrame.TASK_RESULT, **answer})

    def _remember(self, key: str, outcome: dict[str, Any]) -> None:
        self._results[key] = outcome
        while len(self._results) > 10_000:
            self._results.popitem(last=False)

    def _fit(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """``payload`` if it fits in a frame; else a task error saying so (None: drop it).

        A frame over the limit would make the control plane close the socket, and re-sending
        it after every reconnect would keep the service offline for good.
        """
        problem = too_large(payload)
        if problem is None:
            return payload
        log.error("%s: %s", self.name, problem)
        if payload.get("type") != ServiceFrame.TASK_RESULT:
            return None  # an interim or abort update: dropped, the task goes on
        self._results.pop(payload.get("idempotencyKey") or "", None)  # not a result to reuse
        return {**payload, "result": None, "error": f"Service error: {problem}"}

    async def _send(self, payload: dict[str, Any]) -> None:
        """Send with an ACK expected; kept for re-sending until the control plane ACKs it."""
        fitted = self._fit(payload)
        if fitted is None:
            return
        payload = fitted
        if self._ws is None:
            self._outbox.append(payload)
            return
        self._message_number += 1
        message_id = f"msg_{self._message_number}_{payload.get('executionId') or ''}"
        self._unacked[message_id] = payload
        try:
            await self._ws.send(encode({"id": message_id, "payload": payload}))
        except ConnectionClosed:
            pass  # stays in _unacked; re-sent after reconnect

    async def _raw_send(self, message: dict[str, Any]) -> None:
        if self._ws is not None:
            try:
                await self._ws.send(encode(message))
            except ConnectionClosed:
                pass

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class Agent(Service):
    kind = "agent"


class _NotYet(Exception):
    """The control plane is up but not ready (5xx, 429): try again later."""
