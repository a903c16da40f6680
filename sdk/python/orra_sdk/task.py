"""What a handler receives: the validated input plus ways to report progress or abort."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import TaskAborted

__all__ = ["Task"]

InputT = TypeVar("InputT")


@dataclass
class Task(Generic[InputT]):
    input: InputT
    id: str
    execution_id: str
    idempotency_key: str
    _send_interim: Callable[[Any], Awaitable[None]] | None = field(default=None, repr=False)

    async def push_update(self, update: Any) -> None:
        """Send an interim result; the control plane records it as an event."""
        if self._send_interim is not None:
            await self._send_interim(update)

    def abort(self, payload: Any = None) -> None:
        """Stop the whole orchestration: no result is sent for this task."""
        raise TaskAborted(payload)
