"""Orra Studio: what people touch — REST client, CLI, notebook magics and widgets, demo.

The notebook part (``%load_ext orra_studio``) needs the ``notebook`` extra and is imported only
when IPython loads the extension.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from .client import AsyncClient, Client  # noqa: E402
from .errors import (  # noqa: E402
    ApiError,
    BadRequest,
    ConfigError,
    Conflict,
    NotFound,
    OrchestrationTimeout,
    OrraError,
    ServerUnreachable,
    TooManyRequests,
    Unauthorized,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ConfigError",
    "Conflict",
    "NotFound",
    "OrchestrationTimeout",
    "OrraError",
    "ServerUnreachable",
    "TooManyRequests",
    "Unauthorized",
    "__version__",
]


def load_ipython_extension(ipython: Any) -> None:
    from .notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload_ipython_extension as unload

    unload(ipython)
