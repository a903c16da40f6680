"""The event-driven scheduler: a step is dispatched the moment its last dependency completes.

No polling and no lock-step groups. A step result is recorded through the group-commit writer;
its dependents are dispatched at once while that batch commits, and the service's ACK waits for
the commit (the websocket layer awaits the future this module returns).

Failures, by kind (docs/reliability.md):

- a *service error* (``task_result.error``) is retried with backoff under a **new** idempotency
  key (services may cache the error under the old one); input validation errors are not retried;
- a *timeout* (no answer within the step's timeout) and a *lost connection* re-send the task
  under the **same** key, so a service that did the work answers from its cache (or says
  ``in_progress``) and a late first answer still counts once;
- every dispatch is an attempt; past ``maxAttempts`` the step fails and so does the run.

Recovery after a crash re-dispatches unfinished steps with the key they last had.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from .. import frames
from ..connections import Instance, ServiceHub
from ..ids import new_id, now
from ..settings import Settings
from ..statuses import OrchestrationStatus, StepStatus
from ..store import Operation, Store
from .compensation import Compensator
from .policy import RetryPolicy, resolve_policy
from .references import UnresolvedReference, resolve_input
from .run import TERMINAL, Run, StepState, combine_result, run_from_rows

__all__ = ["Engine", "run_from_rows"]

log = logging.getLogger("orra.engine")

FinishedCallback = Callable[[Run], Awaitable[None]]
ServiceLookup = Callable[[str], dict[str, Any] | None]

#: step statuses of a step that is waiting to be (re-)dispatched
WAITING = frozenset({StepStatus.PENDING, StepStatus.RETRYING})

#: errors that will come back the same however often the task is sent
_NOT_RETRYABLE = ("Input validation failed",)


def idempotency_key(
    orchestration_id: str, step_id: str, canonical_input: bytes, generation: int = 0
) -> str:
    """Same orchestration, step, input and retry generation → same key, across restarts."""
    salt = f"{orchestration_id}\x00{step_id}\x00".encode()
    if generation:
        salt += f"retry{generation}\x00".encode()
    return hashlib.sha256(salt + canonical_input).hexdigest()[:40]


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class Engine:
    def __init__(
        self,
        store: Store,
        hub: ServiceHub,
        settings: Settings,
        *,
        services: ServiceLookup | None = None,
        outbox: Any = None,
        compensation_webhooks_of: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        #: service id -> its registration (revertible, policy); None when unknown
        self.services: ServiceLookup = services or (lambda _id: None)
        self.outbox = outbox
        self.compensation_webhooks_of = compensation_webhooks_of or (lambda _p: [])
        self.defaults = RetryPolicy.defaults(settings)
        self.runs: dict[str, Run] = {}
        #: recently finished runs, so reading a result just after it ends never hits the disk
        self.recent: collections.OrderedDict[str, Run] = collections.OrderedDict()
        self.recent_limit = 20_000
        self._pending: dict[tuple[str, str], tuple[Run, StepState]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.on_finished: list[FinishedCallback] = []
        #: measured step duration per service id (seconds, moving average) for estimates
        self.step_seconds: dict[str | None, float] = {}
        self.compensator = Compensator(
            store,
            hub,
            settings,
            services=lambda service_id: self.services(service_id),
            retry_policy=self.defaults,
            outbox=outbox,
            compensation_webhooks_of=lambda project_id: self.compensation_webhooks_of(project_id),
            spawn=self._spawn,
            write_background=self._write_background,
        )
        hub.on_instance_lost = self._instance_lost

    # -- accepting ---------------------------------------------------------------------------
    async def accept(self, run: Run, planning: list[Operation] = ()) -> None:  # type: ignore[assignment]
        """Record the run durably, then start it. Returns once the acceptance has committed.

        ``planning`` holds the events of how the plan was made; they share the commit.
        """
        run.status = OrchestrationStatus.RUNNING
        run.start_time = run.created_at
        rows = [("orchestrations", run.row())]
        rows += [("steps", s.row(run.id)) for s in run.steps.values()]
        await self.store.write(
            [
                *planning,
                *self.store.change(
                    run.id, "orchestration_accepted", run.created_at, run.plan, insert=rows
                ),
            ]
        )
        self.runs[run.id] = run
        for step in run.steps.values():
            if step.remaining == 0:
                self._spawn(self._dispatch(run, step))

    async def record_not_actionable(
        self,
        run: Run,
        reason: str,
        planning: list[Operation] = (),  # type: ignore[assignment]
    ) -> None:
        run.status = OrchestrationStatus.NOT_ACTIONABLE
        run.error = reason
        run.end_time = run.created_at
        deliveries = self._deliveries(run, OrchestrationStatus.NOT_ACTIONABLE)
        await self.store.write(
            [
                *planning,
                *self.store.change(
                    run.id,
                    "orchestration_not_actionable",
                    run.created_at,
                    {"reason": reason},
                    insert=[("orchestrations", run.row()), *self.outbox.inserts(deliveries)],
                ),
            ]
        )
        run.done.set()
        self._remember(run)
        if deliveries:
            self.outbox.schedule(deliveries)
        await self._notify(run)

    def resume_unfinished(self) -> int:
        """Start every orchestration the store says was in flight. Call inside the loop."""
        count = 0
        steps = self.store.steps_of_unfinished()
        dispatches = self.store.dispatches_of_unfinished()
        for row in self.store.unfinished_orchestrations():
            run = run_from_rows(row, steps.get(row["id"], []))
            run.status = OrchestrationStatus.RUNNING
            self.runs[run.id] = run
            for step in run.steps.values():
                step.attempts = max(step.attempts, dispatches.get((run.id, step.id), 0))
                if step.status == StepStatus.COMPLETED:
                    run.completed += 1
                    for dependent in step.dependents:
                        run.steps[dependent].remaining -= 1
                else:
                    step.status = StepStatus.PENDING  # re-dispatched with the key it last had
            for step in run.steps.values():
                if step.status == StepStatus.PENDING and step.remaining == 0:
                    self._spawn(self._dispatch(run, step))
            if run.completed == len(run.steps):
                self._finish(run, OrchestrationStatus.COMPLETED)
            count += 1
        self.compensator.resume()
        return count

    # -- policy ------------------------------------------------------------------------------
    def policy_for(self, run: Run, step: StepState) -> RetryPolicy:
        service = self.services(step.service_id) if step.service_id else None
        return resolve_policy(self.defaults, service and service.get("policy"), run.options)

    def offline_grace(self, run: Run | None = None) -> float:
        grace = (run.options or {}).get("offlineGraceSeconds") if run else None
        return self.settings.offline_grace_seconds if grace is None else float(grace)

    # -- dispatching -------------------------------------------------------------------------
    async def _dispatch(self, run: Run, step: StepState) -> None:
        if run.finishing or step.status not in WAITING:
            return
        try:
            step.input = resolve_input(step.template, run.request, run.outputs())
        except UnresolvedReference as exc:
            self._fail_step(run, step, f"input reference could not be resolved: {exc}")
            return
        if step.service_id is None:
            self._fail_step(run, step, f"service '{step.component}' is not registered")
            return
        canonical = _canonical(step.input)
        size = len(canonical)
        if size > self.settings.max_task_frame_bytes - 1024:
            self._fail_step(
                run,
                step,
                f"task input is {size} bytes; services accept at most "
                f"{self.settings.max_task_frame_bytes - 1024} bytes per task",
            )
            return
        if step.idempotency_key is None:
            step.idempotency_key = idempotency_key(run.id, step.id, canonical, step.generation)
        key = step.idempotency_key
        avoid = step.instance  # after a timeout or a lost socket, prefer another instance
        while True:
            instance = self.hub.pick(step.service_id, avoid=avoid)
            if instance is None:
                if not await self._wait_for_service(run, step):
                    return
                continue
            if run.finishing or step.status not in WAITING:
                return
            step.attempts += 1
            step.status = StepStatus.RUNNING
            if step.start_time is None:
                step.start_time = now()
            attempt_id = new_id("e_", 12)
            message = frames.task_request(
                step.id,
                step.input,
                attempt_id=attempt_id,
                idempotency_key=key,
                service_id=step.service_id,
            )
            self._pending[(step.service_id, key)] = (run, step)
            instance.in_flight.add(key)
            step.instance = instance
            try:
                await instance.send(message)
            except Exception:  # socket went away between pick and send: try another one
                instance.in_flight.discard(key)
                step.attempts -= 1
                step.status = StepStatus.PENDING
                self.hub.remove(instance)
                continue
            break
        if step.status != StepStatus.RUNNING or step.instance is not instance:
            return  # finished or re-sent while the frame was going out
        timeout = self.policy_for(run, step).timeout
        step.timer = asyncio.get_running_loop().call_later(
            timeout, self._timed_out, run, step, step.attempts
        )
        dispatched = {
            "attempt": step.attempts,
            "executionId": attempt_id,
            "instance": instance.number,
            "idempotencyKey": key,
        }
        # no commit of its own: after a crash the step is re-dispatched anyway
        self.store.write_lazy(
            [self.store.event(run.id, "step_dispatched", now(), dispatched, step.id)]
        )

    async def _dispatch_later(self, run: Run, step: StepState, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self._dispatch(run, step)

    async def _wait_for_service(self, run: Run, step: StepState) -> bool:
        step.paused = True
        self._set_paused(run)
        grace = self.offline_grace(run)
        online = await self.hub.wait_online(step.service_id or "", grace)
        step.paused = False
        self._set_paused(run)
        if not online and not run.finishing and step.status in WAITING:
            self._fail_step(
                run,
                step,
                f"service '{step.component}' had no connected instance for {grace:g} s "
                "(the offline grace period); start an instance of it, or raise "
                "offlineGraceSeconds",
            )
        return online and not run.finishing

    def _set_paused(self, run: Run) -> None:
        if run.finishing:
            return
        paused = any(s.paused for s in run.steps.values())
        status = OrchestrationStatus.PAUSED if paused else OrchestrationStatus.RUNNING
        if status != run.status:
            run.status = status
            self._write_background(
                self.store.change(
                    run.id,
                    f"orchestration_{status.lower()}",
                    now(),
                    update=[("orchestrations", run.row())],
                )
            )

    # -- failures and retries ----------------------------------------------------------------
    def _stop_attempt(self, step: StepState) -> None:
        """The current attempt is over: no deadline, and its instance no longer holds it."""
        if step.timer is not None:
            step.timer.cancel()
            step.timer = None
        if step.instance is not None and step.idempotency_key:
            step.instance.in_flight.discard(step.idempotency_key)

    def _timed_out(self, run: Run, step: StepState, attempt: int) -> None:
        step.timer = None
        if run.finishing or step.status != StepStatus.RUNNING or step.attempts != attempt:
            return
        timeout = self.policy_for(run, step).timeout
        future = self._retry(
            run, step, "timeout", f"no answer within {timeout:g} s (attempt {attempt})"
        )
        future.add_done_callback(_log_failure)

    def _retry(self, run: Run, step: StepState, kind: str, error: str) -> asyncio.Future[None]:
        """Try ``step`` again after a retryable failure, or fail it when attempts are used up."""
        self._stop_attempt(step)
        policy = self.policy_for(run, step)
        old_key = step.idempotency_key or ""
        if step.attempts >= policy.max_attempts:
            self._pending.pop((step.service_id or "", old_key), None)
            return self._fail_step(run, step, error)
        delay = 0.0 if kind == "connection_lost" else policy.delay(step.attempts)
        if kind == "service_error":  # the service may have cached the error under the old key
            self._pending.pop((step.service_id or "", old_key), None)
            step.generation += 1
            step.idempotency_key = idempotency_key(
                run.id, step.id, _canonical(step.input), step.generation
            )
        step.status = StepStatus.RETRYING
        step.error = error
        ops = self.store.change(
            run.id,
            "step_retrying",
            now(),
            {"attempt": step.attempts, "kind": kind, "error": error, "delay": round(delay, 3)},
            step.id,
            update=[("steps", step.row(run.id))],
        )
        self._spawn(self._dispatch_later(run, step, delay))
        return self.store.write(ops)

    def _instance_lost(self, instance: Instance) -> None:
        """Re-send what a dropped socket held; the same key makes a re-run a cache hit."""
        for key in list(instance.in_flight):
            if self.compensator.connection_lost(instance, key):
                continue
            entry = self._pending.get((instance.service_id, key))
            if entry is None:
                continue
            run, step = entry
            if run.finishing or step.status != StepStatus.RUNNING or step.instance is not instance:
                continue
            error = f"the connection to instance {instance.number} of '{step.component}' was lost"
            self._retry(run, step, "connection_lost", error).add_done_callback(_log_failure)
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
        entry = self._pending.pop((instance.service_id, key), None)
        if entry is None:
            return
        run, step = entry
        instance.in_flight.discard(key)
        self._stop_attempt(step)
        error = (
            f"the answer of '{step.component}' was larger than {limit} bytes, the most one "
            "websocket message may carry; make the service return less"
        )
        self._fail_step(run, step, error).add_done_callback(_log_failure)

    # -- results from services ---------------------------------------------------------------
    def on_task_result(self, instance: Instance, payload: dict[str, Any]):
        """Record a ``task_result``; returns the commit future to await before the ACK."""
        key = payload.get("idempotencyKey")
        if not key:
            return None
        if self.compensator.is_waiting(instance.service_id, key):
            return self.compensator.on_result(instance.service_id, key, payload)
        entry = self._pending.pop((instance.service_id, key), None)
        if entry is None:
            return None  # a duplicate or a late answer: already recorded, just ACK it
        run, step = entry
        for other in self.hub.instances(instance.service_id):
            other.in_flight.discard(key)
        self._stop_attempt(step)
        error = payload.get("error")
        result = payload.get("result")
        if error:
            error = str(error)
            if run.finishing:
                return self._record_late(run, step, "step_failed", {"error": error})
            if error.startswith(_NOT_RETRYABLE):
                return self._fail_step(run, step, error)
            return self._retry(run, step, "service_error", error)
        output = result.get("task") if isinstance(result, dict) and "task" in result else result
        step.end_time = now()
        step.status = StepStatus.COMPLETED
        step.output = output
        if step.start_time is not None:
            took = (step.end_time - step.start_time).total_seconds()
            previous = self.step_seconds.get(step.service_id, took)
            self.step_seconds[step.service_id] = 0.8 * previous + 0.2 * took
        step.error = None
        compensation = result.get("compensation") if isinstance(result, dict) else None
        if isinstance(compensation, dict) and "data" in compensation:
            step.compensation = compensation
        ops = self.store.change(
            run.id,
            "step_completed",
            step.end_time,
            {"output": output, "compensation": compensation, "attempt": step.attempts},
            step.id,
            update=[("steps", step.row(run.id))],
        )
        run.completed += 1
        if run.finishing:  # it finished after the run ended: undo it too if it can be undone
            self.compensator.late_completion(run, step)
            return self.store.write(ops)
        for dependent_id in step.dependents:
            dependent = run.steps[dependent_id]
            dependent.remaining -= 1
            if dependent.remaining == 0:
                self._spawn(self._dispatch(run, dependent))
        if run.completed == len(run.steps):
            return self._finish(
                run, OrchestrationStatus.COMPLETED, ops_first=ops
            )  # one commit for both
        return self.store.write(ops)

    def _record_late(self, run: Run, step: StepState, kind: str, payload: Any):
        return self.store.write([self.store.event(run.id, f"{kind}_late", now(), payload, step.id)])

    def on_task_status(self, instance: Instance, payload: dict[str, Any]):
        """``in_progress`` for a re-sent task: the service is alive and still working on it."""
        entry = self._pending.get((instance.service_id, payload.get("idempotencyKey") or ""))
        if entry is not None:
            run, step = entry
            status = {"status": payload.get("status"), "instance": instance.number}
            self.store.write_lazy([self.store.event(run.id, "step_status", now(), status, step.id)])
        return None

    def on_interim_result(self, instance: Instance, payload: dict[str, Any]):
        entry = self._pending.get((instance.service_id, payload.get("idempotencyKey") or ""))
        if entry is None:
            return None
        run, step = entry
        result = payload.get("result")
        update = result.get("task") if isinstance(result, dict) else result
        return self.store.write(
            [self.store.event(run.id, "step_interim_result", now(), update, step.id)]
        )

    def on_abort_result(self, instance: Instance, payload: dict[str, Any]):
        key = payload.get("idempotencyKey") or ""
        entry = self._pending.pop((instance.service_id, key), None)
        if entry is None:
            return None
        run, step = entry
        self._stop_attempt(step)
        result = payload.get("result")
        abort_payload = result.get("task") if isinstance(result, dict) else result
        step.status = StepStatus.ABORTED
        step.end_time = now()
        step.error = "aborted by the service"
        ops: list[Operation] = [
            *self.store.change(
                run.id,
                "step_aborted",
                step.end_time,
                abort_payload,
                step.id,
                update=[("steps", step.row(run.id))],
            ),
        ]
        context = abort_payload if isinstance(abort_payload, dict) else {"payload": abort_payload}
        return self._finish(
            run,
            OrchestrationStatus.ABORTED,
            f"{step.id} ({step.component}) aborted the orchestration",
            ops,
            compensation=("aborted", context),
        )

    # -- ending ------------------------------------------------------------------------------
    def cancel(self, run: Run, reason: str | None, compensate: bool = True):
        """Stop ``run`` at the caller's request; returns the commit future."""
        why = reason or "no reason given"
        return self._finish(
            run,
            OrchestrationStatus.CANCELLED,
            f"cancelled by the caller: {why}",
            compensation=("cancelled", {"reason": why}) if compensate else None,
        )

    def _fail_step(self, run: Run, step: StepState, error: str):
        self._stop_attempt(step)
        self._pending.pop((step.service_id or "", step.idempotency_key or ""), None)
        step.status = StepStatus.FAILED
        step.error = error
        step.end_time = now()
        ops: list[Operation] = [
            *self.store.change(
                run.id,
                "step_failed",
                step.end_time,
                {"error": error, "attempts": step.attempts},
                step.id,
                update=[("steps", step.row(run.id))],
            ),
        ]
        tries = f" after {step.attempts} attempts" if step.attempts > 1 else ""
        return self._finish(
            run,
            OrchestrationStatus.FAILED,
            f"{step.id} ({step.component}) failed{tries}: {error}",
            ops,
            compensation=("failed", {"stepId": step.id, "error": error}),
        )

    def _finish(
        self,
        run: Run,
        status: OrchestrationStatus,
        error: str | None = None,
        ops_first: list[Operation] | None = None,
        compensation: tuple[str, dict[str, Any]] | None = None,
    ) -> asyncio.Future[None]:
        """End ``run``; ``ops_first`` (the step change that ended it) shares the commit.

        Steps still running are told to stop (and marked ``CANCELLED``; a late answer is still
        recorded), steps never started become ``SKIPPED``, and the compensations and webhook
        deliveries this outcome calls for are written in the same commit.
        """
        if run.finishing:
            return self.store.write(ops_first or [])
        run.finishing = True
        run.end_time = now()
        run.error = error
        if status == OrchestrationStatus.COMPLETED:
            run.result = combine_result(run)
        stopped: list[StepState] = []
        changed: list[tuple[str, dict[str, Any]]] = []
        if status != OrchestrationStatus.COMPLETED:
            for step in run.steps.values():
                if step.status == StepStatus.RUNNING:
                    if step.timer is not None:
                        step.timer.cancel()
                        step.timer = None
                    step.status = StepStatus.CANCELLED
                    step.error = f"stopped: the orchestration ended {status}"
                    step.end_time = run.end_time
                    stopped.append(step)
                elif step.status in WAITING:
                    step.status = StepStatus.SKIPPED
                else:
                    continue
                changed.append(("steps", step.row(run.id)))
        if compensation is not None:
            run.compensations = self.compensator.plan(run, *compensation)
        deliveries = self._deliveries(run, status)
        final_row = {**run.row(), "status": status}
        ops = [
            *(ops_first or []),
            *self.store.change(
                run.id,
                f"orchestration_{status.lower()}",
                run.end_time,
                {"error": error} if error else None,
                insert=self.outbox.inserts(deliveries) if deliveries else (),
                update=[("orchestrations", final_row), *changed],
            ),
        ]
        if run.compensations:
            ops += self.compensator.scheduled_ops(run)
        committed = self.store.write(ops)
        self._spawn(self._finalise(run, status, committed, deliveries, stopped))
        return committed

    def _deliveries(self, run: Run, status: OrchestrationStatus) -> list[dict[str, Any]]:
        if not run.webhooks or self.outbox is None:
            return []
        return self.outbox.rows(
            run.project_id, run.id, "orchestration", run.webhooks, run.body(status)
        )

    async def _finalise(
        self,
        run: Run,
        status: OrchestrationStatus,
        committed: asyncio.Future[None],
        deliveries: list[dict[str, Any]],
        stopped: list[StepState],
    ) -> None:
        """The terminal status becomes visible only once it is on disk."""
        await committed
        run.status = status
        run.done.set()
        self.runs.pop(run.id, None)
        self._remember(run)
        if deliveries:
            self.outbox.schedule(deliveries)
        for step in stopped:
            await self._tell_to_stop(run, step, status)
        if run.compensations:
            self.compensator.start(run)
        await self._notify(run)

    async def _tell_to_stop(self, run: Run, step: StepState, status: OrchestrationStatus) -> None:
        """``task_cancel`` (an Orra Studio extension; the orra SDKs log and ignore it)."""
        if step.instance is None:
            return
        message = frames.task_cancel(
            step.id,
            idempotency_key=step.idempotency_key,
            service_id=step.service_id,
            reason=f"the orchestration ended {status}",
        )
        try:
            await step.instance.send(message)
        except Exception:
            pass
        # a late answer is still recorded until the step's timeout; then stop waiting for it
        key = (step.service_id or "", step.idempotency_key or "")
        timeout = self.policy_for(run, step).timeout
        asyncio.get_running_loop().call_later(timeout, self._pending.pop, key, None)

    def _remember(self, run: Run) -> None:
        self.recent[run.id] = run
        while len(self.recent) > self.recent_limit:
            self.recent.popitem(last=False)

    def lookup(self, orchestration_id: str) -> Run | None:
        """A run that is in flight or recently finished (None: read it from the store)."""
        return self.runs.get(orchestration_id) or self.recent.get(orchestration_id)

    async def _notify(self, run: Run) -> None:
        for callback in self.on_finished:
            try:
                await callback(run)
            except Exception:
                log.exception("finished-callback failed for %s", run.id)

    # -- plumbing ----------------------------------------------------------------------------
    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _write_background(self, ops: list[Operation]) -> None:
        future = self.store.write(ops)
        future.add_done_callback(_log_failure)

    async def wait(self, orchestration_id: str, timeout: float) -> None:
        run = self.runs.get(orchestration_id)
        if run is not None and run.status not in TERMINAL:
            try:
                await asyncio.wait_for(run.done.wait(), timeout)
            except TimeoutError:
                pass

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        for run in self.runs.values():
            for step in run.steps.values():
                if step.timer is not None:
                    step.timer.cancel()


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("background write failed: %s", future.exception())
