"""Sending steps to service instances: picking an instance, waiting for one.

The part of the engine's shell that talks to sockets. It keeps the map from (service id,
idempotency key) to the step an answer belongs to. It calls nothing back: :meth:`dispatch`
yields what happened as values — events of ``table.py`` (the step failed, waits for a person,
the run paused) and :class:`Sent` (the frame is out: arm its deadline) — which the driver
(``engine.py``) applies in order, before the dispatch goes on; what an event means for the run
is decided in the transition table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

from orra_sdk.vocabulary import ApprovalStatus, EventKind, StepStatus

from ..core.ids import new_id, now
from ..services import frames
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store import Change, StoreBackend
from .references import UnresolvedReference, resolve_input
from .run import Run, StepState
from .table import ApprovalRequested, PauseChanged, StepFailed
from .transitions import WAITING, canonical, idempotency_key

__all__ = ["Dispatcher", "Outcome", "Sent"]

log = logging.getLogger("orra.engine")


@dataclass(frozen=True, slots=True)
class Sent:
    """The step's frame is out to ``instance``: its attempt's deadline starts now."""

    instance: Instance


#: what a dispatch reports to the driver, in the order it happened
Outcome = Sent | StepFailed | ApprovalRequested | PauseChanged

#: _send_claimed: the claimed instance's socket went away before the frame; send anew
_ANEW = object()


@dataclass(eq=False)
class Dispatcher:
    store: StoreBackend
    hub: ServiceHub
    settings: Settings
    #: (service id, idempotency key) -> the step an answer under that key belongs to
    pending: dict[tuple[str, str], tuple[Run, StepState]] = field(default_factory=dict)
    #: attempts counted in the commit of what readied them: (attempt id, that commit)
    _claims: dict[StepState, tuple[str, asyncio.Future[None] | None]] = field(default_factory=dict)

    def offline_grace(self, run: Run | None = None) -> float:
        grace = (run.options or {}).get("offlineGraceSeconds") if run else None
        return self.settings.offline_grace_seconds if grace is None else float(grace)

    def claim(self, run: Run, steps: list[StepState]) -> list[Change]:
        """Count now the attempts of the ``steps`` that can be sent at once (an instance has
        room, the input resolves, no approval is needed), so that their ``step_dispatched``
        rides in the commit of what readied them; their frames go out once that commit is on
        disk (:meth:`counted`, then :meth:`dispatch`). The others count their own later."""
        changes = []
        for step in steps:
            if (
                run.finishing
                or run.replanning
                or step.status not in WAITING
                or step.approval not in (None, ApprovalStatus.APPROVED)
                or step.service_id is None
            ):
                continue
            if step.approval is None:
                try:
                    step.input = resolve_input(step.template, run.request, run.outputs())
                except UnresolvedReference:
                    continue  # dispatch() fails it, with the reason
            body = canonical(step.input)
            if len(body) > self.settings.max_task_frame_bytes - 1024:
                continue
            instance = self.hub.pick(step.service_id, avoid=step.instance)
            if instance is None:
                continue
            if step.idempotency_key is None:
                step.idempotency_key = idempotency_key(run.id, step.id, body, step.generation)
            attempt_id = self._reserve(run, step, instance, step.idempotency_key)
            self._claims[step] = (attempt_id, None)
            changes.append(self._dispatched(run, step, instance, attempt_id))
        return changes

    def counted(self, steps: list[StepState], commit: asyncio.Future[None]) -> None:
        """``commit`` holds the counts of the claimed ones among ``steps``."""
        for step in steps:
            claim = self._claims.get(step)
            if claim is not None and claim[1] is None:
                self._claims[step] = (claim[0], commit)

    def unclaim(self, steps: list[StepState]) -> None:
        """Their counts were not recorded (the commit that was to carry them failed)."""
        for step in steps:
            if self._claims.pop(step, None) is not None:
                self._unreserve(step, step.instance, step.idempotency_key or "")

    async def dispatch(
        self,
        run: Run,
        step: StepState,
        delay: float = 0.0,
        after: Awaitable[None] | None = None,
    ) -> AsyncIterator[Outcome]:
        """Send ``step`` to an instance of its service (after ``delay`` seconds, and once
        ``after`` — the commit that made it ready — is on disk, when given), yielding what
        happened on the way."""
        if after is not None:
            with contextlib.suppress(Exception):  # (a failed write is logged where it failed)
                await asyncio.shield(after)
        claim = self._claims.pop(step, None)
        if claim is not None:
            sent = await self._send_claimed(run, step, *claim)
            if sent is not _ANEW:
                if sent is not None:
                    yield sent
                return
        if delay > 0:
            await asyncio.sleep(delay)
        if run.finishing or run.replanning or step.status not in WAITING:
            return  # (while re-planning, the remainder's plan decides what runs)
        if step.approval != ApprovalStatus.APPROVED:  # an approved input is sent as approved
            try:
                step.input = resolve_input(step.template, run.request, run.outputs())
            except UnresolvedReference as exc:
                yield StepFailed(step, f"input reference could not be resolved: {exc}", now())
                return
        if step.approval == ApprovalStatus.REQUIRED:
            yield ApprovalRequested(step, now())
            return
        if step.service_id is None:
            yield StepFailed(step, f"service '{step.component}' is not registered", now())
            return
        body = canonical(step.input)
        limit = self.settings.max_task_frame_bytes - 1024
        if len(body) > limit:
            error = (
                f"task input is {len(body)} bytes; services accept at most {limit} bytes per task"
            )
            yield StepFailed(step, error, now())
            return
        if step.idempotency_key is None:
            step.idempotency_key = idempotency_key(run.id, step.id, body, step.generation)
        async for outcome in self._send(run, step, step.idempotency_key):
            yield outcome

    @staticmethod
    def _sent(step: StepState, instance: Instance | None) -> Sent | None:
        """The attempt's deadline is to start, unless it was not sent, or finished or was re-sent
        while the frame was going out."""
        if instance is None or step.status != StepStatus.RUNNING or step.instance is not instance:
            return None
        return Sent(instance)

    async def _send(self, run: Run, step: StepState, key: str) -> AsyncIterator[Outcome]:
        """The task to one instance; after a timeout or a lost socket, preferably another.

        The attempt is counted on disk before the frame goes out (``step_dispatched``, in the
        next group commit), so ``maxAttempts`` holds across crashes of the control plane:
        recovery counts these events (``transitions.recovered``).
        """
        avoid = step.instance
        while True:
            instance = self.hub.pick(step.service_id or "", avoid=avoid)
            if instance is None and self.hub.is_online(step.service_id or ""):
                # every instance holds all it can take: the task waits here, not in a socket
                await self.hub.wait_room(step.service_id or "")
                if run.finishing or step.status not in WAITING:
                    return
                continue
            if instance is None:  # the run pauses until an instance connects
                step.paused = True
                yield PauseChanged(now())
                grace = self.offline_grace(run)
                online = await self.hub.wait_online(step.service_id or "", grace)
                step.paused = False
                yield PauseChanged(now())
                if not online and not run.finishing and step.status in WAITING:
                    yield StepFailed(step, _offline(step, grace), now())
                if not online or run.finishing:
                    return
                continue
            if run.finishing or step.status not in WAITING:
                return
            attempt_id = self._reserve(run, step, instance, key)
            dispatched = self._dispatched(run, step, instance, attempt_id)
            try:
                await self.store.record([dispatched])
            except Exception as exc:
                failure = self._not_counted(run, step, instance, key, exc)
                if failure is not None:
                    yield failure
                return
            if not self._still_ours(run, step, instance, key):
                return
            if await self._deliver(step, instance, attempt_id, key):
                sent = self._sent(step, instance)
                if sent is not None:
                    yield sent
                return

    async def _send_claimed(
        self, run: Run, step: StepState, attempt_id: str, commit: asyncio.Future[None] | None
    ) -> Sent | StepFailed | object | None:
        """A claimed attempt's frame, once its count is on disk: :class:`Sent`, a failure,
        ``_ANEW`` (that instance's socket went away: send it anew), or None (nothing to do)."""
        instance, key = step.instance, step.idempotency_key or ""
        try:
            if commit is None:
                raise RuntimeError("no commit carried the count")
            await asyncio.shield(commit)
        except Exception as exc:
            return self._not_counted(run, step, instance, key, exc)
        if not self._still_ours(run, step, instance, key):
            return None
        if await self._deliver(step, instance, attempt_id, key):
            return self._sent(step, instance)
        return _ANEW

    def _reserve(self, run: Run, step: StepState, instance: Instance, key: str) -> str:
        """The attempt starts: counted, running, held by ``instance``; its attempt id."""
        step.attempts += 1
        step.status = StepStatus.RUNNING
        step.start_time = step.start_time or now()
        self.pending[(step.service_id or "", key)] = (run, step)
        instance.in_flight.add(key)
        step.instance = instance
        return new_id("e_", 12)

    def _unreserve(self, step: StepState, instance: Instance, key: str) -> None:
        instance.release(key)
        step.attempts -= 1
        step.status = StepStatus.PENDING

    @staticmethod
    def _dispatched(run: Run, step: StepState, instance: Instance, attempt_id: str) -> Change:
        payload = {
            "attempt": step.attempts,
            "executionId": attempt_id,
            "instance": instance.number,
            "idempotencyKey": step.idempotency_key,
        }
        return Change(run.id, EventKind.STEP_DISPATCHED, now(), payload, step.id)

    def _not_counted(
        self, run: Run, step: StepState, instance: Instance, key: str, exc: Exception
    ) -> StepFailed | None:
        """Not counted on disk, so not sent: the step cannot go on safely."""
        log.error("the dispatch of %s/%s could not be recorded: %r", run.id, step.id, exc)
        if step.status != StepStatus.RUNNING or step.instance is not instance:
            return None
        self._unreserve(step, instance, key)
        self.pending.pop((step.service_id or "", key), None)
        return StepFailed(step, f"its dispatch could not be recorded: {type(exc).__name__}", now())

    @staticmethod
    def _still_ours(run: Run, step: StepState, instance: Instance, key: str) -> bool:
        """While the count was being committed the run may have ended, or the socket gone (the
        lost socket's handler has then retried the step already): then this attempt is over."""
        return (
            not run.finishing
            and step.status == StepStatus.RUNNING
            and step.instance is instance
            and key in instance.in_flight
        )

    async def _deliver(
        self, step: StepState, instance: Instance, attempt_id: str, key: str
    ) -> bool:
        """The frame to ``instance``; False when its socket went away meanwhile (the attempt is
        undone in memory; on disk it stays counted: a crash now errs on the safe side)."""
        message = frames.task_request(
            step.id,
            step.input,
            attempt_id=attempt_id,
            idempotency_key=key,
            service_id=step.service_id,
        )
        try:
            await instance.send(message)
        except Exception:  # the socket went away between pick and send: try another
            self._unreserve(step, instance, key)
            self.hub.remove(instance)
            return False
        return True

    def stop_attempt(self, step: StepState) -> None:
        """The current attempt is over: no deadline, and its instance no longer holds it."""
        if step.timer is not None:
            step.timer.cancel()
            step.timer = None
        if step.instance is not None and step.idempotency_key:
            step.instance.release(step.idempotency_key)

    def forget(self, step: StepState) -> None:
        """No answer for ``step`` under its current key counts any more."""
        self.pending.pop((step.service_id or "", step.idempotency_key or ""), None)

    async def tell_to_stop(self, step: StepState, reason: str, timeout: float) -> None:
        """``task_cancel`` (an Orra Studio extension; the orra SDKs log and ignore it)."""
        if step.instance is None:
            return
        message = frames.task_cancel(
            step.id,
            idempotency_key=step.idempotency_key,
            service_id=step.service_id,
            reason=reason,
        )
        try:
            await step.instance.send(message)
        except Exception:
            pass
        # a late answer is still recorded until the step's timeout; then stop waiting for it
        key = (step.service_id or "", step.idempotency_key or "")
        asyncio.get_running_loop().call_later(timeout, self.pending.pop, key, None)


def _offline(step: StepState, grace: float) -> str:
    return (
        f"service '{step.component}' had no connected instance for {grace:g} s "
        "(the offline grace period); start an instance of it, or raise offlineGraceSeconds"
    )
