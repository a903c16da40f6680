"""The control plane's :class:`~..control.runtime.Runtime` of the app a request reached."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ..control.runtime import Runtime

__all__ = ["runtime_of"]


def runtime_of(connection: HTTPConnection) -> Runtime:
    return connection.app.state.runtime
