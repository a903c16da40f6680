"""What an operator asks of the control plane itself: which backend, which replica, whether it
is ready for traffic, and (on PostgreSQL) the replicas of the cluster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .runtime import Runtime

__all__ = ["Health", "ReplicaInfo", "health", "list_replicas"]


@dataclass(frozen=True, slots=True)
class Health:
    #: ``duckdb`` (one process, one file) or ``postgresql`` (replicas)
    backend: str
    #: this replica's id (None on DuckDB)
    replica: str | None
    #: ``single`` (DuckDB), or a replica's ``starting``, ``serving``, ``recovering``
    role: str

    @property
    def ready(self) -> bool:
        """Whether a load balancer should send it requests."""
        return self.role in ("single", "serving")


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    id: str
    status: str  # alive, dead, left
    started_at: datetime
    heartbeat_at: datetime
    silent_for: float
    #: unfinished runs it owns
    runs: int
    #: the replica that answers
    this: bool


def health(runtime: Runtime) -> Health:
    cluster = runtime.cluster
    if cluster is None:
        return Health("duckdb", None, "single")
    return Health("postgresql", cluster.id, cluster.role)


async def list_replicas(runtime: Runtime) -> list[ReplicaInfo]:
    """The replicas alive now or seen within the hour (none on DuckDB: one process)."""
    cluster = runtime.cluster
    if cluster is None:
        return []
    rows = await cluster.replicas()
    return [
        ReplicaInfo(
            r.id, r.status, r.started_at, r.heartbeat_at, r.silent_for, r.runs, r.id == cluster.id
        )
        for r in rows
    ]
