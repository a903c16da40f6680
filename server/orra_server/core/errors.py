"""Errors the control plane raises, each mapped to one HTTP answer by the API.

    OrraError                      500  internal (never raised on purpose for bad input)
    ├── BadRequest                 400  the request says something we cannot take
    │   ├── InvalidServiceName     400  name breaks an RFC 1123 rule
    │   ├── DescriptionTooLong     400
    │   ├── InvalidSchema          400  not JSON Schema / not an object schema / bad field type
    │   └── PayloadTooLarge        413
    ├── Unauthorized               401  missing, malformed or unknown API key
    ├── Forbidden                  403  the key is valid but the thing belongs elsewhere
    ├── NotFound                   404
    ├── Conflict                   409
    ├── TooManyRequests            429  a bound on what a project holds (with Retry-After)
    └── ServiceUnavailable         503  ask again later
        └── DatabaseUnavailable    503  PostgreSQL cannot be reached now (with Retry-After)

Every error carries a stable ``code`` (what scripts match on) and a ``message`` that says what
to fix. The API turns them into ``{"error": {"code", "message", "param", "details"}}``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "Conflict",
    "DatabaseUnavailable",
    "DescriptionTooLong",
    "Forbidden",
    "InvalidSchema",
    "InvalidServiceName",
    "NotFound",
    "OrraError",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
]


class OrraError(Exception):
    status_code = 500
    code = "internal_error"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        """A subclass names its HTTP status and stable code in its bases' parentheses, so the
        hierarchy reads as the table drawn above (``class NotFound(OrraError, status=404, …)``)."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.details = details

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(OrraError, status=400, code="invalid_request"):
    """The request says something we cannot take."""


class InvalidServiceName(BadRequest, code="invalid_service_name"):
    """A service name breaks an RFC 1123 rule."""


class DescriptionTooLong(BadRequest, code="description_too_long"):
    """A service's description is over its length limit."""


class InvalidSchema(BadRequest, code="invalid_schema"):
    """Not JSON Schema, not an object schema, or a field of a type we do not take."""


class PayloadTooLarge(BadRequest, status=413, code="payload_too_large"):
    """A body or a value over its size limit."""


class Unauthorized(OrraError, status=401, code="invalid_api_key"):
    """A missing, malformed or unknown API key."""


class Forbidden(OrraError, status=403, code="forbidden"):
    """The key is valid, but the thing belongs elsewhere."""


class NotFound(OrraError, status=404, code="not_found"):
    """No such thing where the caller may look."""


class Conflict(OrraError, status=409, code="conflict"):
    """The thing is not in a state that allows this."""


class TooManyRequests(OrraError, status=429, code="too_many_requests"):
    """The project is at a bound; ``retry_after`` (seconds) goes out as ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: int = 30, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(OrraError, status=503, code="unavailable"):
    """Another replica must act first (the owner of a run); asking again later works."""


class DatabaseUnavailable(ServiceUnavailable, code="database_unavailable"):
    """PostgreSQL did not answer (restarting, unreachable, out of connections). A read can be
    sent again as it is; a write most likely was not recorded (a connection lost during the
    commit itself is the rare exception), so check before sending it again."""

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
