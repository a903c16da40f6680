"""The event-driven scheduler: a step is dispatched the moment its last dependency completes.

No polling and no lock-step groups. A step result is recorded through the group-commit writer;
its dependents are dispatched at once while that batch commits, and the service's ACK waits for
the commit (the websocket layer awaits the future this module returns). Recovery after a crash
re-dispatches unfinished steps with the same idempotency key, so a service that already did the
work answers from its cache.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from ..connections import Instance, ServiceHub
from ..ids import new_id, now
from ..settings import Settings
from ..store import Operation, Store
from .references import UnresolvedReference, resolve_input
from .run import TERMINAL, Run, StepState, combine_result, run_from_rows

__all__ = ["Engine", "run_from_rows"]

log = logging.getLogger("orra.engine")

FinishedCallback = Callable[[Run], Awaitable[None]]


def idempotency_key(orchestration_id: str, step_id: str, canonical_input: bytes) -> str:
    """Same orchestration, step and input → same key, across retries and restarts."""
    digest = hashlib.sha256(f"{orchestration_id}\x00{step_id}\x00".encode() + canonical_input)
    return digest.hexdigest()[:40]


class Engine:
    def __init__(self, store: Store, hub: ServiceHub, settings: Settings) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        self.runs: dict[str, Run] = {}
        #: recently finished runs, so reading a result just after it ends never hits the disk
        self.recent: collections.OrderedDict[str, Run] = collections.OrderedDict()
        self.recent_limit = 20_000
        self._pending: dict[tuple[str, str], tuple[Run, StepState]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.on_finished: list[FinishedCallback] = []
        #: measured step duration per service id (seconds, moving average) for estimates
        self.step_seconds: dict[str | None, float] = {}
        hub.on_instance_lost = self._instance_lost

    # -- accepting ---------------------------------------------------------------------------
    async def accept(self, run: Run, planning: list[Operation] = ()) -> None:  # type: ignore[assignment]
        """Record the run durably, then start it. Returns once the acceptance has committed.

        ``planning`` holds the events of how the plan was made; they share the commit.
        """
        run.status = "RUNNING"
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
        run.status = "NOT_ACTIONABLE"
        run.error = reason
        run.end_time = run.created_at
        await self.store.write(
            [
                *planning,
                *self.store.change(
                    run.id,
                    "orchestration_not_actionable",
                    run.created_at,
                    {"reason": reason},
                    insert=[("orchestrations", run.row())],
                ),
            ]
        )
        run.done.set()
        self._remember(run)
        await self._notify(run)

    def resume_unfinished(self) -> int:
        """Start every orchestration the store says was in flight. Call inside the loop."""
        count = 0
        for row in self.store.unfinished_orchestrations():
            run = run_from_rows(row, self.store.steps_of(row["id"]))
            run.status = "RUNNING"
            self.runs[run.id] = run
            for step in run.steps.values():
                if step.status == "COMPLETED":
                    run.completed += 1
                    for dependent in step.dependents:
                        run.steps[dependent].remaining -= 1
                else:
                    step.status = "PENDING"
            for step in run.steps.values():
                if step.status == "PENDING" and step.remaining == 0:
                    self._spawn(self._dispatch(run, step))
            if run.completed == len(run.steps):
                self._finish(run, "COMPLETED")
            count += 1
        return count

    # -- dispatching -------------------------------------------------------------------------
    async def _dispatch(self, run: Run, step: StepState) -> None:
        if run.finishing or step.status not in ("PENDING",):
            return
        try:
            step.input = resolve_input(step.template, run.request, run.outputs())
        except UnresolvedReference as exc:
            self._fail_step(run, step, f"input reference could not be resolved: {exc}")
            return
        if step.service_id is None:
            self._fail_step(run, step, f"service '{step.component}' is not registered")
            return
        canonical = orjson.dumps(step.input, option=orjson.OPT_SORT_KEYS)
        key = idempotency_key(run.id, step.id, canonical)
        message = {
            "type": "task_request",
            "id": step.id,
            "input": step.input,
            "executionId": "",
            "idempotencyKey": key,
            "serviceId": step.service_id,
        }
        size = len(canonical)
        if size > self.settings.max_task_frame_bytes - 1024:
            self._fail_step(
                run,
                step,
                f"task input is {size} bytes; services accept at most "
                f"{self.settings.max_task_frame_bytes - 1024} bytes per task",
            )
            return
        step.idempotency_key = key
        while True:
            instance = self.hub.pick(step.service_id)
            if instance is None:
                if not await self._wait_for_service(run, step):
                    return
                continue
            step.attempts += 1
            step.status = "RUNNING"
            if step.start_time is None:
                step.start_time = now()
            message["executionId"] = new_id("e_", 12)
            self._pending[(step.service_id, key)] = (run, step)
            instance.in_flight.add(key)
            try:
                await instance.send(message)
            except Exception:  # socket went away between pick and send: try another one
                instance.in_flight.discard(key)
                self.hub.remove(instance)
                continue
            break
        dispatched = {"attempt": step.attempts, "executionId": message["executionId"]}
        # no commit of its own: after a crash the step is re-dispatched anyway
        self.store.write_lazy(
            [self.store.event(run.id, "step_dispatched", now(), dispatched, step.id)]
        )

    async def _wait_for_service(self, run: Run, step: StepState) -> bool:
        step.paused = True
        self._set_paused(run)
        grace = self.settings.offline_grace_seconds
        online = await self.hub.wait_online(step.service_id or "", grace)
        step.paused = False
        self._set_paused(run)
        if not online:
            self._fail_step(
                run,
                step,
                f"service '{step.component}' had no connected instance for {grace:g} s",
            )
        return online and not run.finishing

    def _set_paused(self, run: Run) -> None:
        if run.finishing:
            return
        paused = any(s.paused for s in run.steps.values())
        status = "PAUSED" if paused else "RUNNING"
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

    def _instance_lost(self, instance: Instance) -> None:
        """Re-send the tasks a dropped socket held; the same key makes a re-run a cache hit."""
        for key in list(instance.in_flight):
            entry = self._pending.pop((instance.service_id, key), None)
            if entry is None:
                continue
            run, step = entry
            step.status = "PENDING"
            self._spawn(self._dispatch(run, step))
        instance.in_flight.clear()

    # -- results from services ---------------------------------------------------------------
    def on_task_result(self, instance: Instance, payload: dict[str, Any]):
        """Record a ``task_result``; returns the commit future to await before the ACK."""
        key = payload.get("idempotencyKey")
        entry = self._pending.pop((instance.service_id, key), None) if key else None
        if entry is None:
            return None  # a duplicate or a late answer: already recorded, just ACK it
        run, step = entry
        for other in self.hub.instances(instance.service_id):
            other.in_flight.discard(key)
        instance.in_flight.discard(key)
        step.end_time = now()
        error = payload.get("error")
        result = payload.get("result")
        if error:
            return self._fail_step(run, step, str(error))
        output = result.get("task") if isinstance(result, dict) and "task" in result else result
        step.status = "COMPLETED"
        step.output = output
        if step.start_time is not None:
            took = (step.end_time - step.start_time).total_seconds()
            previous = self.step_seconds.get(step.service_id, took)
            self.step_seconds[step.service_id] = 0.8 * previous + 0.2 * took
        step.error = None
        compensation = result.get("compensation") if isinstance(result, dict) else None
        ops = self.store.change(
            run.id,
            "step_completed",
            step.end_time,
            {"output": output, "compensation": compensation},
            step.id,
            update=[("steps", step.row(run.id))],
        )
        run.completed += 1
        if run.finishing:
            return self.store.write(ops)
        for dependent_id in step.dependents:
            dependent = run.steps[dependent_id]
            dependent.remaining -= 1
            if dependent.remaining == 0:
                self._spawn(self._dispatch(run, dependent))
        if run.completed == len(run.steps):
            return self._finish(run, "COMPLETED", ops_first=ops)  # one commit for both
        return self.store.write(ops)

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
        instance.in_flight.discard(key)
        result = payload.get("result")
        abort_payload = result.get("task") if isinstance(result, dict) else result
        step.status = "ABORTED"
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
        return self._finish(
            run, "ABORTED", f"{step.id} ({step.component}) aborted the orchestration", ops
        )

    # -- ending ------------------------------------------------------------------------------
    def _fail_step(self, run: Run, step: StepState, error: str):
        step.status = "FAILED"
        step.error = error
        step.end_time = step.end_time or now()
        ops: list[Operation] = [
            *self.store.change(
                run.id,
                "step_failed",
                step.end_time,
                {"error": error},
                step.id,
                update=[("steps", step.row(run.id))],
            ),
        ]
        return self._finish(run, "FAILED", f"{step.id} ({step.component}) failed: {error}", ops)

    def _finish(
        self,
        run: Run,
        status: str,
        error: str | None = None,
        ops_first: list[Operation] | None = None,
    ) -> asyncio.Future[None]:
        """End ``run``; ``ops_first`` (the step change that ended it) shares the commit."""
        if run.finishing:
            return self.store.write(ops_first or [])
        run.finishing = True
        run.end_time = now()
        run.error = error
        if status == "COMPLETED":
            run.result = combine_result(run)
        final_row = {**run.row(), "status": status}
        ops = [
            *(ops_first or []),
            *self.store.change(
                run.id,
                f"orchestration_{status.lower()}",
                run.end_time,
                {"error": error} if error else None,
                update=[("orchestrations", final_row)],
            ),
        ]
        committed = self.store.write(ops)
        self._spawn(self._finalise(run, status, committed))
        return committed

    async def _finalise(self, run: Run, status: str, committed: asyncio.Future[None]) -> None:
        """The terminal status becomes visible only once it is on disk."""
        await committed
        run.status = status
        run.done.set()
        self.runs.pop(run.id, None)
        self._remember(run)
        await self._notify(run)

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


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("background write failed: %s", future.exception())
