"""A JupyterLab Launcher tile for the Orra Studio web studio, through jupyter-server-proxy.

jupyter-server-proxy starts ``orra studio`` on a free port the first time the tile (or
``<lab>/orra-studio/``) is opened, and proxies it under Jupyter's own URL and login. The studio
is told the full path it lives under (``absolute_url``), so its pages, assets and websocket
work behind the proxy. Which control plane it shows comes from the usual settings (``ORRA_URL``
and ``ORRA_API_KEY``, or ``orra login``); with none, it starts an embedded demo.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["setup_studio"]

ICON = Path(__file__).with_name("icon.svg")


def setup_studio() -> dict[str, Any]:
    return {
        "command": [
            sys.executable,
            "-m",
            "orra_studio",
            "studio",
            "--port",
            "{port}",
            "--prefix",
            "{base_url}orra-studio",
            "--no-open",
            # the browser reaches it through Jupyter's host, which Jupyter authenticates
            "--allow-origin",
            "*",
        ],
        "absolute_url": True,
        "timeout": 30,
        "new_browser_tab": False,
        "launcher_entry": {
            "enabled": True,
            "title": "Orra Studio",
            "icon_path": str(ICON),
            "category": "Notebook",
        },
    }
