"""Orra Studio's service SDK: register a service or agent and serve its tasks.

svc = Service("echo", description="Echoes a message", api_key=KEY)

@svc.handler
async def echo(task: Task[In]) -> Out: ...

svc.run_forever()        # or: await svc.run() inside your own event loop

The service code (websockets, httpx, pydantic) loads on first use of one of its names, so the
control plane and the CLI can import :mod:`orra_sdk.vocabulary` without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import OrraError, RegistrationError, TaskAborted
    from .running import run_forever
    from .service import Agent, Service
    from .task import Task

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "OrraError",
    "RegistrationError",
    "Service",
    "Task",
    "TaskAborted",
    "__version__",
    "run_forever",
]

#: each public name → the module that defines it
_HOME = {
    "Agent": "service",
    "Service": "service",
    "run_forever": "running",
    "OrraError": "errors",
    "RegistrationError": "errors",
    "TaskAborted": "errors",
    "Task": "task",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'orra_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
