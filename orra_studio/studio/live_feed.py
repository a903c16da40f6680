"""A page's subscription to an event stream, instead of polling the control plane: one run's
(:class:`LiveFeed`, the run view) or the project's changes (:class:`ListFeed`, Executions).

The run view is drawn from what the control plane answers (the run, its log, its plan); what
changes it is an event. So a :class:`LiveFeed` follows the run's server-sent events on the
studio's event loop (an asyncio task reading with the async client: waiting costs the loop
nothing), folds them into a :class:`~orra_studio.live.LiveRun`, and after each new event
reads the page's data in a worker thread (``fetch``) and hands it to the page on the loop
(``draw``, through ``pn.state.execute``: the document's next tick unless Panel says the
session's document may be changed at once): the Bokeh loop never waits for the control
plane. Events that arrive while a read is under way are covered by one more read, not one
each.

A dropped stream is resumed after the last event (``Last-Event-ID``). The feed stops when the
server ends the stream (the run has settled) and one last read says nothing more will change,
or when the page's session ends (:meth:`stop`): one task per open run view, none after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

import panel as pn
from panel.io.state import set_curdoc

from ..client import AsyncClient
from ..errors import ServerUnreachable
from ..live import LiveRun, Reconnects
from .context import StudioContext

__all__ = ["ListFeed", "LiveFeed"]

log = logging.getLogger(__name__)

Snapshot = TypeVar("Snapshot")
#: reads the page's data (in a worker thread): the data, and whether nothing more will change
Fetch = Callable[[], tuple[Snapshot, bool]]
#: shows the data (on the loop, never in a thread)
Draw = Callable[[Snapshot], None]

#: after the stream ends: reads until the last one says nothing more will change (a record
#: written beside the events, such as a failed undo's, may become readable a moment later)
SETTLE_READS = 40
SETTLE_PAUSE = 0.5


class _Feed(Generic[Snapshot]):
    """What both feeds share: a task on the studio's loop that follows a stream, and reads of
    the page's data off the loop (one at a time; those asked for meanwhile covered by one
    more), each drawn on the loop."""

    def __init__(
        self, context: StudioContext, fetch: Fetch[Snapshot], draw: Draw[Snapshot], doc: Any
    ) -> None:
        self.context = context
        self._fetch, self._draw, self._doc = fetch, draw, doc
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = asyncio.Lock()
        self._pending = False
        self._reads: set[asyncio.Task[bool]] = set()

    def start(self) -> None:
        """Begin following (on the studio's event loop, e.g. from ``pn.state.onload``)."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop runs here (a plain Python shell): drawn once
            log.info("no event loop: %s is not followed live", self.what)
            return
        self._task = self._loop.create_task(self._follow())

    def stop(self) -> None:
        """The page's session ended: close the stream (from any thread)."""
        if self._task is not None and self._loop is not None and not self._loop.is_closed():
            for task in (self._task, *self._reads):
                self._loop.call_soon_threadsafe(task.cancel)

    @property
    def what(self) -> str:
        raise NotImplementedError

    async def _follow(self) -> None:
        raise NotImplementedError

    def _read_soon(self) -> None:
        """Read the page again, unless a read that has not started yet will."""
        if not self._pending:
            self._pending = True
            task = asyncio.get_running_loop().create_task(self._read())
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)

    async def _read(self) -> bool:
        """Read the page's data off the loop, then draw it on the loop; True when nothing
        more will change."""
        async with self._reading:
            self._pending = False
            snapshot, settled = await asyncio.to_thread(self._fetch)
            with set_curdoc(self._doc):  # on the loop, or the next tick; now in a notebook
                pn.state.execute(partial(self._draw_in_document, snapshot))
            return settled

    def _draw_in_document(self, snapshot: Snapshot) -> None:
        with set_curdoc(self._doc):
            self._draw(snapshot)


class LiveFeed(_Feed[Snapshot]):
    """Follows ``execution_id`` for one page; ``fetch()`` returns the page's data and whether
    nothing more will change; ``draw(data)`` shows it (on the loop, never in a thread)."""

    def __init__(
        self,
        context: StudioContext,
        execution_id: str,
        fetch: Fetch[Snapshot],
        draw: Draw[Snapshot],
        doc: Any,
        after: Callable[[], int] = lambda: 0,
    ) -> None:
        super().__init__(context, fetch, draw, doc)
        self.run = LiveRun(execution_id)
        #: the last event the page's data already reflects: the stream starts after it
        self.after = after

    @property
    def what(self) -> str:
        return self.run.execution_id

    async def _follow(self) -> None:
        try:
            if await self._read():  # what changed between the first render and now
                return
            await self._stream()
            await self._settle()
        except asyncio.CancelledError:
            raise
        except Exception:  # the page stays as last drawn; the reason goes to the log
            log.exception("following %s failed", self.run.execution_id)

    async def _stream(self) -> None:
        """Fold the events until the server ends the stream (a dropped one is resumed)."""
        again = Reconnects(limit=None)  # the page's banner says when the control plane is away
        self.run.seq = max(self.run.seq, self.after())  # no replay of what is drawn
        async with AsyncClient(self.context.url, self.context.api_key, timeout=15.0) as client:
            while True:
                try:
                    async for event in client.events(self.run.execution_id, after=self.run.seq):
                        again.received()
                        if self.run.apply(event):
                            self._read_soon()
                    return
                except ServerUnreachable as error:
                    await asyncio.sleep(again.dropped(error))

    async def _settle(self) -> None:
        for _ in range(SETTLE_READS):
            if await self._read():
                return
            await asyncio.sleep(SETTLE_PAUSE)


class ListFeed(_Feed[Snapshot]):
    """Follows the project's change stream (``GET /activity/events``) for a list page: when
    ``wants(change)`` says a change concerns the page (one of its runs, or a new run on its
    first page), the page is read again, at most once per ``pause`` seconds. Never settles: it
    ends with the page's session."""

    def __init__(
        self,
        context: StudioContext,
        page: tuple[Fetch[Snapshot], Draw[Snapshot], Any],
        wants: Callable[[dict[str, Any]], bool],
        pause: float = 0.5,
    ) -> None:
        """``page``: its ``fetch``, ``draw`` and Bokeh document."""
        super().__init__(context, *page)
        self._wants, self._pause = wants, pause

    @property
    def what(self) -> str:
        return "the run list"

    async def _follow(self) -> None:
        again = Reconnects(limit=None)  # the page's banner says when the control plane is away
        try:
            async with AsyncClient(self.context.url, self.context.api_key) as client:
                while True:
                    try:
                        async for change in client.changes():
                            again.received()
                            if self._wants(change):
                                self._read_soon()
                                await asyncio.sleep(self._pause)  # changes meanwhile: one read
                    except ServerUnreachable as error:
                        await asyncio.sleep(again.dropped(error))
                        self._read_soon()  # what changed while the stream was down
        except asyncio.CancelledError:
            raise
        except Exception:  # the page stays as last drawn; the reason goes to the log
            log.exception("following %s failed", self.what)
