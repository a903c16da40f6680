"""Orra Studio's control plane: API, store, planning and engine.

Run it with ``orra serve`` or ``uvicorn --factory orra_server:create_app``.
"""

__version__ = "0.1.0"

from .api import create_app  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Settings", "__version__", "create_app"]
