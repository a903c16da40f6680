"""Errors of the studio (client, CLI, notebook).

OrraError                      the root: catch this to catch everything below
├── ApiError                   the control plane answered 4xx/5xx; .status, .code, .details
│   ├── BadRequest             400 (and 413): the request needs fixing; .code says what
│   ├── Unauthorized           401: missing, malformed or unknown API key
│   ├── NotFound               404
│   ├── Conflict               409: e.g. cancelling a finished orchestration
│   └── TooManyRequests        429: the project is at a bound (e.g. too many unfinished
│                              orchestrations); .retry_after says when to try again
├── ServerUnreachable          no answer at the URL (not started, wrong port, network)
│   └── NotAnOrraServer        something answers there, but not like an Orra control plane
├── OrchestrationTimeout       ``wait=True`` gave up before the orchestration ended
└── ConfigError                no server or project configured, or a bad config file

At the notebook boundary these become one-line ``UsageError``s; the CLI prints the message and
exits 1.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "NotAnOrraServer",
    "NotFound",
    "OrchestrationTimeout",
    "OrraError",
    "ServerUnreachable",
    "TooManyRequests",
    "Unauthorized",
]


class OrraError(Exception):
    """Root of every error this package raises on purpose."""


class ApiError(OrraError):
    #: seconds the server asked to wait (its ``Retry-After``), when it said
    retry_after: int | None = None

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} [{code}]")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class TooManyRequests(ApiError):
    """The project holds as much as it may (``too_many_unfinished``): wait or cancel runs."""

    def __str__(self) -> str:
        later = f" (retry after {self.retry_after} s)" if self.retry_after is not None else ""
        return f"{self.message}{later} [{self.code}]"


class ServerUnreachable(OrraError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"no control plane answers at {url} ({reason}); start one with 'orra serve' "
            "or point to it with 'orra login --url URL'"
        )
        self.url = url


class NotAnOrraServer(ServerUnreachable):
    def __init__(self, url: str, status: int, content_type: str) -> None:
        OrraError.__init__(
            self,
            f"{url} does not answer like an Orra control plane (HTTP {status}, "
            f"{content_type or 'no content type'}); check the URL and port (default "
            "http://localhost:8005)",
        )
        self.url = url


class OrchestrationTimeout(OrraError):
    def __init__(
        self, execution_id: str, status: str, timeout: float, why: str | None = None
    ) -> None:
        because = f" ({why})" if why else ""
        super().__init__(
            f"orchestration {execution_id} is still {status} after {timeout:g} s{because}; it "
            "goes on running — read it later by its id"
        )
        self.execution_id = execution_id
        self.status = status


class ConfigError(OrraError):
    pass


#: HTTP status → the error class the client raises
BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    429: TooManyRequests,
}
