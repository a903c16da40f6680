"""A JupyterLab Launcher tile for the Orra Studio web studio, through jupyter-server-proxy.

jupyter-server-proxy starts ``orra studio`` the first time the tile (or ``<lab>/orra-studio/``)
is opened, and proxies it under Jupyter's own URL and login. The studio is told the full path
it lives under (``absolute_url``), so its pages, assets and websocket work behind the proxy.
Which control plane it shows comes from the usual settings (``ORRA_URL`` and ``ORRA_API_KEY``,
or ``orra login``); with none, it starts an embedded demo.

Only a request that came through Jupyter (so from a person logged in to Jupyter) reaches it:

- it listens on a unix socket in a fresh private folder (``unix_socket``), never on a port;
- it requires a token made here, per Jupyter server, given to it in its environment (never its
  command line, which other users can read) and added by the proxy to every request and
  websocket as ``Authorization: token …`` (``request_headers_override``);
- its websocket accepts only the Jupyter server's own origins (``--allow-origin``).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

__all__ = ["jupyter_origins", "setup_studio"]

ICON = Path(__file__).with_name("icon.svg")


def jupyter_origins() -> list[str]:
    """``host:port`` a browser reaches this Jupyter server at: its address (``localhost`` and
    ``127.0.0.1`` both, for a loopback one; those and the machine's names for all interfaces),
    its display URL and its ``allow_origin`` if they name one. Read when the studio starts,
    once the server listens."""
    import socket
    from urllib.parse import urlsplit

    from jupyter_server.serverapp import ServerApp

    if not ServerApp.initialized():
        return ["localhost:8888", "127.0.0.1:8888"]
    app = ServerApp.instance()
    port = app.port
    ip = app.ip or "localhost"
    hosts = {f"[{ip}]" if ":" in ip else ip}
    if ip in ("localhost", "127.0.0.1", "::1", ""):
        hosts |= {"localhost", "127.0.0.1"}
    if ip in ("0.0.0.0", "::", "*"):
        hosts = {"localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn()}
    origins = {f"{host}:{port}" for host in hosts}
    for named in (app.custom_display_url, app.allow_origin):
        netloc = urlsplit(named).netloc if named and named != "*" else ""
        if netloc:
            origins.add(netloc if ":" in netloc.rsplit("]", 1)[-1] else f"{netloc}:80")
    return sorted(origins)


def _command() -> list[str]:
    command = [
        sys.executable,
        "-m",
        "orra_studio",
        "studio",
        "--unix-socket",
        "{unix_socket}",
        "--prefix",
        "{base_url}orra-studio",
        "--no-open",
    ]
    for origin in jupyter_origins():
        command += ["--allow-origin", origin]
    return command


def setup_studio() -> dict[str, Any]:
    token = secrets.token_urlsafe(32)  # one per Jupyter server process
    return {
        "command": _command,
        "environment": {"ORRA_STUDIO_TOKEN": token},
        "request_headers_override": {"Authorization": f"token {token}"},
        "unix_socket": True,
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
