"""A typed REST client for the control plane: :class:`Client` (sync) and :class:`AsyncClient`.

Every endpoint is written once in :mod:`orra_studio.endpoints`; the two clients differ only in
how they send it (``_call`` returns the value, or a coroutine of it). Errors come
back as :mod:`orra_studio.errors` classes carrying the server's stable ``code``.

>>> with Client("http://localhost:8005", api_key) as orra:
...     done = orra.orchestrate("customer-inquiry: tell me more", {"customerId": "c1"}, wait=True)
"""

from __future__ import annotations

import inspect
import io
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from functools import partial
from typing import Any

import httpx

from orra_sdk.vocabulary import TERMINAL

from .endpoints import Endpoints, Json, action_body, read_json
from .errors import (
    BY_STATUS,
    ApiError,
    NotAnOrraServer,
    OrchestrationTimeout,
    ServerUnreachable,
)
from .event_stream import ChangesReader, EventReader, stream_errors
from .types import Orchestration

__all__ = ["AsyncClient", "Client", "action_body"]


EventCallback = Callable[[dict[str, Any]], Any]


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):  # not our error shape: not our server
        raise _not_orra(response) from None
    cls = BY_STATUS.get(response.status_code, ApiError)
    error = cls(response.status_code, code, message, details)
    wait = response.headers.get("retry-after", "")
    if wait.isascii() and wait.isdigit() and len(wait) <= 6:
        error.retry_after = int(wait)
    raise error


def _not_orra(response: httpx.Response) -> NotAnOrraServer:
    url = str(response.request.url.copy_with(path="/", query=None)).rstrip("/")
    return NotAnOrraServer(
        url, response.status_code, response.headers.get("content-type", "").split(";")[0]
    )


def _parsed(response: httpx.Response, parse: Callable[[httpx.Response], Json]) -> Any:
    """``parse(response)``; an answer that is not what the API sends means another server."""
    try:
        return parse(response)
    except (ValueError, KeyError, TypeError):
        raise _not_orra(response) from None


def arrow_table(payload: bytes):  # -> pyarrow.Table
    """An ``/export`` Arrow IPC stream as a pyarrow Table."""
    import pyarrow.ipc

    return pyarrow.ipc.open_stream(io.BytesIO(payload)).read_all()


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


#: one step of a conversation with the API: a call on a client, returning the value (sync) or
#: an awaitable of it (async)
Step = Callable[[Any], Any]


def _waiting(
    execution_id: str, timeout: float, named_timeout: float | None = None
) -> Generator[Step, Any, Orchestration]:
    """Long-poll until it ends; :class:`OrchestrationTimeout` (naming ``named_timeout``, or
    ``timeout``) once ``timeout`` seconds pass. Written once, run by either client."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        body = yield partial(
            Endpoints.orchestration, execution_id=execution_id, wait=max(0.0, min(left, 30.0))
        )
        if body["status"] in TERMINAL:
            return body
        if left <= 0:
            raise OrchestrationTimeout(execution_id, body["status"], named_timeout or timeout)


def _orchestrating(
    submit: Step, wait: bool, timeout: float, on_event: EventCallback | None
) -> Generator[Step, Any, Any]:
    accepted = yield submit
    if not wait:
        return accepted
    execution_id = accepted["executionId"]
    deadline = time.monotonic() + timeout
    if on_event is not None and accepted["status"] not in TERMINAL:
        yield lambda api: api._follow(execution_id, on_event, deadline, timeout)
    left = max(0.0, deadline - time.monotonic())
    return (yield from _waiting(execution_id, left, timeout))


def _sending(
    method: str, path: str, parse: Callable[[httpx.Response], Json], kwargs: dict[str, Any]
) -> Generator[Step, Any, Any]:
    """One request and its answer read with ``parse``."""
    response = yield lambda api: api._http.request(method, path, **kwargs)
    _raise_for(response)
    return _parsed(response, parse)


async def _drive(api: Any, steps: Generator[Step, Any, Any]) -> Any:
    """Carry out ``steps``: make each call on ``api`` (awaiting it if it is awaitable) and send
    its value back, until the generator returns. A transport failure is ServerUnreachable."""
    step = next(steps)
    while True:
        try:
            answer = step(api)
            if inspect.isawaitable(answer):
                answer = await answer
        except httpx.TransportError as exc:
            raise ServerUnreachable(api.url, type(exc).__name__) from exc
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return done.value


class _Conversations(Endpoints):
    """What both clients share: their connection settings, and ``wait``/``orchestrate``
    written once as generators that each client's ``_run`` carries out (calling, or
    awaiting)."""

    _http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self, url: str = "http://localhost:8005", api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._http = self._http_class(base_url=self.url, headers=_headers(api_key), timeout=timeout)

    def _call(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[httpx.Response], Json] = read_json,
        **kwargs: Any,
    ) -> Any:
        return self._run(_sending(method, path, parse, kwargs))

    def _run(self, steps: Generator[Step, Any, Any]) -> Any:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Closed by its owner: a stream it carried broke because of that, not the network."""
        return self._http.is_closed

    def wait(self, execution_id: str, timeout: float = 60.0) -> Orchestration:
        """Long-poll until it ends; :class:`OrchestrationTimeout` after ``timeout`` seconds."""
        return self._run(_waiting(execution_id, timeout))

    def events(
        self,
        execution_id: str,
        after: int = 0,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Any:  # Iterator[dict] on Client, AsyncIterator[dict] on AsyncClient
        """Its events as they happen (server-sent events) until it has ended, or until
        ``timeout`` seconds pass with nothing new, or the wall clock reaches ``deadline`` (a
        ``time.monotonic()`` value; keep-alives do not postpone it); then the iteration just
        stops. On :class:`AsyncClient` iterate it with ``async for``."""
        return self._read_events(EventReader(execution_id, after, timeout, deadline))

    def changes(self) -> Any:
        """The project's orchestrations as they change (``GET /activity/events``): a dict per
        batch, ``{"executionIds": [...], "everything": False}`` (``everything``: too many to
        list), for as long as the caller iterates (on :class:`AsyncClient`, ``async for``).
        A live run list reads its page again when one of its runs, or a new one, changed."""
        return self._read_events(ChangesReader())

    def _read_events(self, reader: EventReader | ChangesReader) -> Any:
        raise NotImplementedError

    def orchestrate(
        self,
        action: str | dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        wait: bool = False,
        timeout: float = 60.0,
        on_event: EventCallback | None = None,
        plan: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Any:
        """Start an action; with ``wait=True`` return the finished orchestration, calling
        ``on_event`` with each event (step started, interim result, completed…) meanwhile
        (on :class:`AsyncClient`, ``on_event`` may be a coroutine function)."""
        submit = partial(Endpoints.submit, action=action, data=data, plan=plan, options=options)
        return self._run(_orchestrating(submit, wait, timeout, on_event))


class Client(_Conversations):
    """Blocking client; a context manager that closes its connection pool."""

    _http_class = httpx.Client

    def _run(self, steps: Generator[Step, Any, Any]) -> Any:
        # every step of a blocking client returns its value, so the driver never suspends:
        # it finishes on its first send
        driver = _drive(self, steps)
        try:
            driver.send(None)
        except StopIteration as done:
            return done.value
        driver.close()
        raise RuntimeError("a blocking client's step returned an awaitable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def export(self, table: str, **filters: Any):  # -> pyarrow.Table
        return arrow_table(self.export_bytes(table, "arrow", **filters))

    def _read_events(self, reader: EventReader | ChangesReader) -> Iterator[dict[str, Any]]:
        while (request := reader.next_request()) is not None:
            with stream_errors(self.url), self._http.stream(**request) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                for line in response.iter_lines():
                    event, stop = reader.feed(line)
                    if event is not None:
                        yield event
                    if stop:
                        break

    def _follow(
        self, execution_id: str, on_event: EventCallback, deadline: float, timeout: float
    ) -> None:
        for event in self.events(execution_id, timeout=timeout, deadline=deadline):
            on_event(event)

    def wait_until(self, execution_id: str, deadline: float, timeout: float) -> Orchestration:
        """:meth:`wait` until ``deadline`` (``time.monotonic()``) of a ``timeout``-second wait
        that began earlier (its error names the whole ``timeout``)."""
        left = max(0.0, deadline - time.monotonic())
        return self._run(_waiting(execution_id, left, timeout))


class AsyncClient(_Conversations):
    """The same API for asyncio code: every method is awaited."""

    _http_class = httpx.AsyncClient

    def _run(self, steps: Generator[Step, Any, Any]) -> Any:
        return _drive(self, steps)  # a coroutine: the caller awaits it

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def export(self, table: str, **filters: Any):  # -> pyarrow.Table
        return arrow_table(await self.export_bytes(table, "arrow", **filters))

    async def _read_events(
        self, reader: EventReader | ChangesReader
    ) -> AsyncIterator[dict[str, Any]]:
        while (request := reader.next_request()) is not None:
            with stream_errors(self.url):
                async with self._http.stream(**request) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        _raise_for(response)
                    async for line in response.aiter_lines():
                        event, stop = reader.feed(line)
                        if event is not None:
                            yield event
                        if stop:
                            break

    async def _follow(
        self, execution_id: str, on_event: EventCallback, deadline: float, timeout: float
    ) -> None:
        async for event in self.events(execution_id, timeout=timeout, deadline=deadline):
            result = on_event(event)
            if hasattr(result, "__await__"):
                await result
