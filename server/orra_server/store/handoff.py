"""The caller's side of a writer thread, shared by DuckDB's and PostgreSQL's writers.

Callers on the event loop hand over operations and get an asyncio future; the writer thread
commits them in batches and settles the futures on their own loops. A request (a marker
object instead of operations) asks the writer for something else, answered the same way.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .projection import Operation

__all__ = ["STOP", "Handoff", "resolve", "retry_piecewise"]

log = logging.getLogger(__name__)

#: handed over by ``close``: the writer thread finishes what it has and stops
STOP = object()


class Handoff:
    """A writer's queue and thread: a subclass writes in ``_run`` (until it takes
    :data:`STOP`) and lets go of its connection in ``_closed``."""

    def __init__(self, thread_name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def _closed(self) -> None:
        """The thread has stopped: close what it wrote with."""

    def close(self) -> None:
        self._queue.put(STOP)
        self._thread.join(timeout=30)
        self._closed()

    def submit(self, ops: list[Operation]) -> asyncio.Future[None]:
        """Queue ``ops``; the returned future resolves when they are committed."""
        return self._ask(ops)

    def submit_lazy(self, ops: list[Operation]) -> None:
        """Queue ``ops`` that need no commit of their own: they ride with the next commit."""
        self._queue.put((ops, None, None))

    def _take(self, due: float | None, most: int) -> tuple[list[Any], bool] | None:
        """Up to ``most`` items handed over (waiting for the first until ``due``, a monotonic
        time, or for ever when None) and whether :data:`STOP` came; None when ``due`` came
        first. The writer thread's one way of reading its queue."""
        timeout = None if due is None else max(0.0, due - time.monotonic())
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if first is STOP:
            return [], True
        batch = [first]
        while len(batch) < most:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _ask(self, ops: list[Any]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((ops, loop, future))
        return future


def resolve(batch: list[Any], error: BaseException | None) -> None:
    """Settle the futures of ``batch``'s items (``(ops, loop, future)``) on their loops."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, loop, future in batch:
        if loop is not None:
            by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, futures, error)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def retry_piecewise(
    items: list[Any],
    apply: Callable[[list[Operation]], None],
    heard: Callable[[Exception], BaseException] = lambda exc: exc,
    gone: Callable[[Exception], bool] = lambda exc: False,
    keep: Callable[[list[Operation]], None] = lambda ops: None,
) -> None:
    """A batch that failed as a whole, tried again a piece at a time in the order it was
    handed over (an event's number never comes before its cause's): each waiting item alone,
    its caller hearing ``heard(error)`` if it fails, and each run of deferred operations
    (``future`` None) together. Deferred operations have no caller to tell: when they fail
    together they are tried one by one and only those that fail alone are dropped (logged).
    A failure that ``gone(error)`` says ends writing for now (the database went away) ends the
    retry: the deferred operations left go to ``keep``, in order, and the waiting items left
    hear ``heard(error)``. ``items``: ``(ops, loop, future)``, as handed over."""
    deferred: list[Operation] = []
    stopped: list[Exception] = []  # the failure that ended the retry, once there is one

    def failed(exc: Exception) -> bool:
        """Whether ``exc`` ends the retry (remembered)."""
        if gone(exc):
            stopped.append(exc)
        return bool(stopped)

    def apply_deferred() -> None:
        ops = list(deferred)
        deferred.clear()
        if not ops:
            return
        if stopped:
            keep(ops)
            return
        try:
            apply(ops)
            return
        except Exception as exc:
            if failed(exc):
                keep(ops)
                return
        dropped: list[Exception] = []
        for n, op in enumerate(ops):
            try:
                apply([op])
            except Exception as exc:
                if failed(exc):
                    keep(ops[n:])
                    break
                dropped.append(exc)
        if dropped:
            log.warning(
                "dropped %d deferred write(s) that failed alone: %s", len(dropped), dropped[0]
            )

    for item in items:
        ops, _loop, future = item
        if future is None:
            deferred.extend(ops)
            continue
        apply_deferred()
        if stopped:
            resolve([item], heard(stopped[0]))
            continue
        try:
            apply(ops)
        except Exception as exc:
            failed(exc)
            resolve([item], heard(exc))
        else:
            resolve([item], None)
    apply_deferred()
