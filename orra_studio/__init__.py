"""Orra Studio: what people touch — REST client, CLI, notebook magics and widgets, demo.

The notebook part (``%load_ext orra_studio``) needs the ``notebook`` extra and is imported only
when IPython loads the extension.
"""

# ruff: noqa: F401 - the errors imported below are re-exported (__all__ is made from errors)
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from . import errors  # noqa: E402
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

#: the clients, and every error but NotAnOrraServer (a ServerUnreachable: caught as that)
__all__ = ["AsyncClient", "Client", "__version__"]
__all__ += [name for name in errors.__all__ if name != "NotAnOrraServer"]


def load_ipython_extension(ipython: Any) -> None:
    from .notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload_ipython_extension as unload

    unload(ipython)
