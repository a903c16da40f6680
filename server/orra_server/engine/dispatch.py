"""Sending steps to service instances: picking an instance, waiting for one, deadlines.

The part of the engine's shell that talks to sockets. It keeps the map from (service id,
idempotency key) to the step an answer belongs to, arms each attempt's deadline, and tells
the engine (through the callbacks it is given) when a step cannot be sent or an attempt timed
out; what that means for the run is decided in ``transitions.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.ids import new_id, now
from ..core.statuses import StepStatus
from ..services import frames
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store import Change, StoreBackend
from .policy import RetryPolicy
from .references import UnresolvedReference, resolve_input
from .run import Run, StepState
from .transitions import WAITING, canonical, idempotency_key

__all__ = ["Dispatcher"]

log = logging.getLogger("orra.engine")

StepFailure = Callable[[Run, StepState, str], Any]
AttemptFailure = Callable[[Run, StepState, str, str], Any]


@dataclass(eq=False)
class Dispatcher:
    store: StoreBackend
    hub: ServiceHub
    settings: Settings
    #: what the engine decides when something happens here (engine.py passes its methods)
    policy_for: Callable[[Run, StepState], RetryPolicy]
    fail: StepFailure
    attempt_failed: AttemptFailure
    pause_changed: Callable[[Run], None]
    #: a gated step is ready: it waits for a person (engine.py records and announces it)
    await_approval: Callable[[Run, StepState], None]
    compensation_lost: Callable[[Instance, str], bool]
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
                or step.approval not in (None, "approved")
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
    ) -> None:
        """Send ``step`` to an instance of its service (after ``delay`` seconds, and once
        ``after`` — the commit that made it ready — is on disk, when given)."""
        if after is not None:
            with contextlib.suppress(Exception):  # (a failed write is logged where it failed)
                await asyncio.shield(after)
        claim = self._claims.pop(step, None)
        if claim is not None:
            instance, again = await self._send_claimed(run, step, *claim)
            if not again:  # (again: its socket went away before the frame; send it anew)
                self._arm(run, step, instance)
                return
        if delay > 0:
            await asyncio.sleep(delay)
        if run.finishing or run.replanning or step.status not in WAITING:
            return  # (while re-planning, the remainder's plan decides what runs)
        if step.approval != "approved":  # an approved input is sent as approved
            try:
                step.input = resolve_input(step.template, run.request, run.outputs())
            except UnresolvedReference as exc:
                self.fail(run, step, f"input reference could not be resolved: {exc}")
                return
        if step.approval == "required":
            self.await_approval(run, step)
            return
        if step.service_id is None:
            self.fail(run, step, f"service '{step.component}' is not registered")
            return
        body = canonical(step.input)
        limit = self.settings.max_task_frame_bytes - 1024
        if len(body) > limit:
            self.fail(
                run,
                step,
                f"task input is {len(body)} bytes; services accept at most {limit} bytes per task",
            )
            return
        if step.idempotency_key is None:
            step.idempotency_key = idempotency_key(run.id, step.id, body, step.generation)
        self._arm(run, step, await self._send(run, step, step.idempotency_key))

    def _arm(self, run: Run, step: StepState, instance: Instance | None) -> None:
        """The attempt's deadline, once its frame is out."""
        if instance is None or step.status != StepStatus.RUNNING or step.instance is not instance:
            return  # not sent, or finished or re-sent while the frame was going out
        step.timer = asyncio.get_running_loop().call_later(
            self.policy_for(run, step).timeout, self._timed_out, run, step, step.attempts
        )

    async def _send(self, run: Run, step: StepState, key: str) -> Instance | None:
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
                    return None
                continue
            if instance is None:
                if not await self._wait_for_service(run, step):
                    return None
                continue
            if run.finishing or step.status not in WAITING:
                return None
            attempt_id = self._reserve(run, step, instance, key)
            dispatched = self._dispatched(run, step, instance, attempt_id)
            try:
                await self.store.record([dispatched])
            except Exception as exc:
                self._not_counted(run, step, instance, key, exc)
                return None
            if not self._still_ours(run, step, instance, key):
                return None
            if await self._deliver(step, instance, attempt_id, key):
                return instance

    async def _send_claimed(
        self, run: Run, step: StepState, attempt_id: str, commit: asyncio.Future[None] | None
    ) -> tuple[Instance | None, bool]:
        """A claimed attempt's frame, once its count is on disk: (the instance it went to, or
        None; whether to send it anew because that instance's socket went away)."""
        instance, key = step.instance, step.idempotency_key or ""
        try:
            if commit is None:
                raise RuntimeError("no commit carried the count")
            await asyncio.shield(commit)
        except Exception as exc:
            self._not_counted(run, step, instance, key, exc)
            return None, False
        if not self._still_ours(run, step, instance, key):
            return None, False
        if await self._deliver(step, instance, attempt_id, key):
            return instance, False
        return None, True

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
        return Change(run.id, "step_dispatched", now(), payload, step.id)

    def _not_counted(
        self, run: Run, step: StepState, instance: Instance, key: str, exc: Exception
    ) -> None:
        """Not counted on disk, so not sent: the step cannot go on safely."""
        log.error("the dispatch of %s/%s could not be recorded: %r", run.id, step.id, exc)
        if step.status == StepStatus.RUNNING and step.instance is instance:
            self._unreserve(step, instance, key)
            self.pending.pop((step.service_id or "", key), None)
            self.fail(run, step, f"its dispatch could not be recorded: {type(exc).__name__}")

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

    async def _wait_for_service(self, run: Run, step: StepState) -> bool:
        step.paused = True
        self.pause_changed(run)
        grace = self.offline_grace(run)
        online = await self.hub.wait_online(step.service_id or "", grace)
        step.paused = False
        self.pause_changed(run)
        if not online and not run.finishing and step.status in WAITING:
            self.fail(
                run,
                step,
                f"service '{step.component}' had no connected instance for {grace:g} s "
                "(the offline grace period); start an instance of it, or raise "
                "offlineGraceSeconds",
            )
        return online and not run.finishing

    def _timed_out(self, run: Run, step: StepState, attempt: int) -> None:
        step.timer = None
        if run.finishing or step.status != StepStatus.RUNNING or step.attempts != attempt:
            return
        timeout = self.policy_for(run, step).timeout
        error = f"no answer within {timeout:g} s (attempt {attempt})"
        self.attempt_failed(run, step, "timeout", error)

    def instance_lost(self, instance: Instance) -> None:
        """Re-send what a dropped socket held; the same key makes a re-run a cache hit."""
        for key in list(instance.in_flight):
            if self.compensation_lost(instance, key):
                continue
            entry = self.pending.get((instance.service_id, key))
            if entry is None:
                continue
            run, step = entry
            if run.finishing or step.status != StepStatus.RUNNING or step.instance is not instance:
                continue
            error = f"the connection to instance {instance.number} of '{step.component}' was lost"
            self.attempt_failed(run, step, "connection_lost", error)
        instance.in_flight.clear()

    def answer_too_large(self, instance: Instance, limit: int) -> None:
        """The socket was closed because a frame from it passed ``limit`` bytes (close 1009).

        With one task in flight the answer was that task's: re-sending the task would only
        bring the same answer back, so the step fails now (an orra SDK that escapes non-ASCII
        text can triple a result's size). With several, which one is unknown: the socket's
        loss retries them as usual.
        """
        if len(instance.in_flight) != 1:
            return
        key = next(iter(instance.in_flight))
        entry = self.pending.get((instance.service_id, key))
        if entry is None:
            return
        run, step = entry
        instance.release(key)
        error = (
            f"the answer of '{step.component}' was larger than {limit} bytes, the most one "
            "websocket message may carry; make the service return less"
        )
        self.fail(run, step, error)

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

    async def tell_to_stop(self, run: Run, step: StepState, reason: str) -> None:
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
        timeout = self.policy_for(run, step).timeout
        asyncio.get_running_loop().call_later(timeout, self.pending.pop, key, None)
