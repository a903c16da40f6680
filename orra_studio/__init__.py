"""Orra Studio: what people touch — REST client, CLI, demo (notebook and web studio to come)."""

__version__ = "0.1.0"

from .client import AsyncClient, Client  # noqa: E402
from .errors import ApiError, NotFound, OrraError  # noqa: E402

__all__ = ["ApiError", "AsyncClient", "Client", "NotFound", "OrraError", "__version__"]
