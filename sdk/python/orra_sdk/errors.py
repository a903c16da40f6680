"""Errors of the service SDK.

OrraError
├── RegistrationError   the control plane refused the registration (bad name, schema, key)
└── TaskAborted         raised by ``task.abort()`` to stop the whole orchestration
"""

from __future__ import annotations

from typing import Any

__all__ = ["OrraError", "RegistrationError", "TaskAborted"]


class OrraError(Exception):
    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RegistrationError(OrraError):
    pass


class TaskAborted(OrraError):
    def __init__(self, payload: Any = None) -> None:
        super().__init__("the task aborted its orchestration")
        self.payload = payload
