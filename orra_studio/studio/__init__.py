"""The Panel web studio (``orra studio``): one module a page, each page a function of one
browser session; it reaches the control plane only through :class:`~orra_studio.Client`."""

from .app import serve_studio
from .context import StudioContext

__all__ = ["StudioContext", "serve_studio"]
