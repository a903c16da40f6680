"""Errors of the studio (client, CLI, notebook).

OrraError
└── ApiError          the control plane answered 4xx/5xx; carries .status and .code
    └── NotFound      404
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "NotFound", "OrraError"]


class OrraError(Exception):
    pass


class ApiError(OrraError):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} [{code}]")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class NotFound(ApiError):
    pass
