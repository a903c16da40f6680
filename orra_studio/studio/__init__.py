"""The Panel web studio (``orra studio``): one module a page, each page a function of one
browser session; it reaches the control plane only through :class:`~orra_studio.Client`.

Importing this package loads no Panel: ``drawings`` (the SVG plan graph and timeline) is shared
with the notebook, which must not pay for a web server it does not start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["StudioContext", "serve_studio"]


def __getattr__(name: str) -> Any:
    if name == "serve_studio":
        from .app import serve_studio

        return serve_studio
    if name == "StudioContext":
        from .context import StudioContext

        return StudioContext
    raise AttributeError(name)
