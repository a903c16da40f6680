"""What reaches a replica for runs it does not own, and what reaches the owner.

A service answers on the socket it holds, which may be on a replica that does not own the run:
:meth:`Inbox.route` puts the answer in the ``inbox`` table (ACKed to the service once that
commits), and the owner applies it as if the service had answered there. Decisions taken on
another replica (approve, reject, cancel) travel the same way (:meth:`Inbox.forward`). An item
is dropped only once applied; applied twice (a crash between), the run refuses the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from typing import Any

from orra_sdk.vocabulary import ServiceFrame, StepStatus

from ..engine import Engine
from ..services.connections import Instance
from ..services.frames import Frame
from ..store.postgres.cluster import INBOX_CHANNEL, ClusterTables, InboxItem, inbox_ops
from ..store.postgres.writer import Fenced
from .remote import RemoteInstance

__all__ = ["INBOX_CHANNEL", "Inbox"]


#: tasks relayed here whose owner is remembered (each a few hundred bytes)
MAX_RELAYED = 100_000

#: frames of a service that answer a task
_ANSWERS = {
    ServiceFrame.TASK_RESULT,
    ServiceFrame.TASK_INTERIM_RESULT,
    ServiceFrame.TASK_ABORT_RESULT,
    ServiceFrame.TASK_STATUS,
}


class Inbox:
    def __init__(
        self,
        replica_id: str,
        store: Any,
        engine: Engine,
        remote: dict[tuple[str, int], RemoteInstance],
        spawn: Callable[[Any], None],
    ) -> None:
        self.id = replica_id
        self.store = store
        self.tables: ClusterTables = store.cluster
        self.engine = engine
        #: the cluster's remote instances, by (replica, number)
        self.remote = remote
        self._spawn = spawn
        #: (service id, idempotency key) → run id, for tasks relayed to sockets held here
        #: (an entry goes with the task's result; see :meth:`relayed_task` for the bound)
        self.relayed: dict[tuple[str, str], str] = {}
        #: inbox rows being applied (a second notification must not apply them twice)
        self._applying: set[int] = set()

    def relayed_task(self, service_id: str, key: str, run: str) -> None:
        """Remember whose task this is, so its answer goes to the owner. A task never answered
        (its socket dropped, its owner timed it out) would stay for ever: past
        :data:`MAX_RELAYED` the oldest go (a late answer to one then reaches no owner, which
        has retried it by then)."""
        self.relayed[(service_id, key)] = run
        while len(self.relayed) > MAX_RELAYED:
            del self.relayed[next(iter(self.relayed))]

    def route(self, instance: Instance, frame: Frame) -> asyncio.Future[None] | None:
        """A service's answer to a task relayed here: into its run owner's inbox (the future
        resolves once committed; the ACK waits for it). None: the engine here takes it."""
        if frame.kind not in _ANSWERS or instance.remote:
            return None
        key = (instance.service_id, str(frame.payload.get("idempotencyKey") or ""))
        if key in self.engine.dispatcher.pending:
            return None  # a task this replica sent itself
        orchestration_id = self.relayed.get(key)
        if orchestration_id is None:
            return None
        if frame.kind == ServiceFrame.TASK_RESULT or frame.kind == ServiceFrame.TASK_ABORT_RESULT:
            self.relayed.pop(key, None)
        body = {
            "replica": self.id,
            "instance": instance.number,
            "service_id": instance.service_id,
            "frame": frame.kind,
            "payload": frame.payload,
        }
        dedup = f"{key[0]}:{key[1]}:{frame.message_id or ''}"
        return self.store.writer.submit(inbox_ops(orchestration_id, frame.kind, dedup, body))

    async def apply_all(self) -> None:
        items = await asyncio.to_thread(self.tables.inbox_of, self.id)
        for item in items:
            if item.id in self._applying:
                continue
            self._applying.add(item.id)
            self._spawn(self._apply(item))

    async def forward(self, orchestration_id: str, kind: str, body: dict[str, Any]) -> None:
        """A decision for a run another replica owns, into its inbox (committed on return)."""
        decision = {"command": kind, **body}
        ops = inbox_ops(orchestration_id, kind, secrets.token_hex(8), decision)
        await self.store.writer.submit(ops)

    def _decide(self, orchestration_id: str, body: dict[str, Any]) -> Any:
        """Apply a decision another replica took for a run of ours, if it still applies."""
        run = self.engine.runs.get(orchestration_id)
        if run is None or run.finishing:
            return None
        command = body["command"]
        if command == "cancel":
            return self.engine.cancel(run, body.get("reason"), bool(body.get("compensate")))
        step = run.steps.get(str(body.get("step")))
        if step is None or step.status != StepStatus.AWAITING_APPROVAL:
            return None
        if command == "approve":
            return self.engine.approve(run, step, body.get("input"), body["by"], body["comment"])
        return self.engine.reject(run, step, str(body.get("reason")), body["by"])

    async def _apply(self, item: InboxItem) -> None:
        try:
            body = item.body
            if "command" in body:
                committed = self._decide(item.orchestration_id, body)
                if committed is not None:
                    with contextlib.suppress(Fenced):
                        await committed
                await asyncio.to_thread(self.tables.drop_inbox, [item.id])
                return
            instance = self.remote.get((body["replica"], body["instance"]))
            if instance is None:  # the socket is gone already: the answer still counts
                instance = RemoteInstance(
                    service_id=body["service_id"],
                    project_id="",
                    socket=None,  # type: ignore[arg-type]
                    replica_id=body["replica"],
                    remote_number=body["instance"],
                )
            committed = self._to_engine(instance, body["frame"], body["payload"])
            if committed is not None:
                with contextlib.suppress(Fenced):
                    await committed
            await asyncio.to_thread(self.tables.drop_inbox, [item.id])
        finally:
            self._applying.discard(item.id)

    def _to_engine(self, instance: Instance, kind: str, payload: dict[str, Any]) -> Any:
        engine = self.engine
        if kind == ServiceFrame.TASK_RESULT:
            return engine.on_task_result(instance, payload)
        if kind == ServiceFrame.TASK_INTERIM_RESULT:
            return engine.on_interim_result(instance, payload)
        if kind == ServiceFrame.TASK_ABORT_RESULT:
            return engine.on_abort_result(instance, payload)
        return engine.on_task_status(instance, payload)
