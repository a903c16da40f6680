"""``orra studio``: the Panel web studio, against a control plane or an embedded demo."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import Config
from ..errors import ConfigError
from .common import ProjectOpt, UrlOpt, err

__all__ = ["studio"]


def studio(
    url: UrlOpt = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="the project's key (or use -p, ORRA_API_KEY)"),
    ] = None,
    project: ProjectOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65_535, help="port to listen on")] = 8006,
    prefix: Annotated[str, typer.Option(help="URL prefix, e.g. behind a proxy")] = "",
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(help="host:port a browser may open it from (repeat); default: this one"),
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="open a browser")] = False,
) -> None:
    """Serve the web studio. With nothing configured it starts an embedded control plane with
    the demo services (offline planner, temporary data) and says so in its header."""
    try:
        import panel  # noqa: F401
    except ImportError:
        err.print("error: the studio needs Panel: pip install 'orra-studio[studio]'", markup=False)
        raise typer.Exit(1) from None
    from ..studio import StudioContext

    configured = url or api_key or project or os.environ.get("ORRA_API_KEY")
    config = Config.load()
    where = {"host": host, "port": port, "prefix": prefix, "open_browser": open_browser}
    where["allow_origins"] = allow_origin
    if configured or config.current_project or os.environ.get("ORRA_PROJECT"):
        target = config.target(url=url, api_key=api_key, project=project)
        if not target.api_key:
            raise ConfigError(
                "no key for the studio: pass --api-key KEY or -p PROJECT, or set ORRA_API_KEY"
            )
        _serve(StudioContext(target.url, target.api_key, target.project), where)
        return
    _serve_embedded_demo(where)


def _serve(context: Any, where: dict[str, Any]) -> None:
    from ..studio import serve_studio

    def ready(address: str) -> None:
        err.print(f"Orra Studio on {address} ({context.where})", markup=False, highlight=False)

    serve_studio(context, ready=ready, **where)


def _serve_embedded_demo(where: dict[str, Any]) -> None:
    from ..client import Client
    from ..demo import DemoServices, wait_for_demo_services
    from ..embedded import EmbeddedServer
    from ..studio import StudioContext

    with tempfile.TemporaryDirectory(prefix="orra-studio-") as tmp:
        db = str(Path(tmp) / "orra.duckdb")
        with EmbeddedServer(db, offline_planner=True) as server:
            with Client(server.url) as anonymous:
                key = anonymous.create_project("studio-demo")["apiKey"]
            services = DemoServices(server.url, key)
            services.start()
            try:
                with Client(server.url, key) as client:
                    wait_for_demo_services(client)
                note = "embedded demo: offline planner, data kept until the studio stops"
                context = StudioContext(server.url, key, "studio-demo", note)
                _serve(context, where)
            finally:
                services.stop()
