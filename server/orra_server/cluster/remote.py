"""A service socket another replica holds, as this replica's engine sees it.

The engine sends tasks to :class:`~orra_server.services.connections.Instance` objects; a
:class:`RemoteInstance` is one whose socket is elsewhere. Its frames go into the ``relay``
table (with a ``NOTIFY`` to the replica that holds the socket, in the same commit), and what
the service answers comes back through the ``inbox`` (``cluster/replica.py``). The hub keeps
remote instances beside local ones, so picking one, waiting for one, and noticing one leave
work as they always have.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..services.connections import Instance, InstanceClosed

__all__ = ["RemoteInstance"]


@dataclass(eq=False)
class RemoteInstance(Instance):
    remote = True
    #: the replica that holds its socket
    replica_id: str = ""
    #: its number on that replica
    remote_number: int = 0
    #: commits a frame for it to the relay; set by the cluster
    relay: Callable[[RemoteInstance, dict[str, Any]], Awaitable[None]] | None = field(
        default=None, repr=False
    )

    @property
    def address(self) -> tuple[str, int]:
        return (self.replica_id, self.remote_number)

    async def send(self, message: dict[str, Any]) -> None:
        """Committed to the relay when this returns (the holder hears of it at commit)."""
        if self.close_reason is not None or self.relay is None:
            raise InstanceClosed(f"instance {self.number} of {self.service_id} is gone")
        await self.relay(self, message)

    def send_nowait(self, message: dict[str, Any]) -> None:
        """Fire and forget (pings, cancels): the relay's commit is not awaited."""
        if self.close_reason is None and self.relay is not None:
            self.relay(self, message)

    def close(self, code: int, reason: str) -> None:
        """Its socket is another replica's to close; here it only stops taking tasks."""
        if self.close_reason is None:
            self.close_reason = (code, reason)
