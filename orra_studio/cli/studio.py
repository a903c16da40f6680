"""``orra studio``: the Panel web studio, against a control plane or an embedded demo."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Config
from ..errors import ConfigError
from .common import ProjectOpt, UrlOpt, env_option, err, is_loopback

if TYPE_CHECKING:
    from ..studio.login import Credentials

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
    token: Annotated[
        str | None,
        env_option(
            "ORRA_STUDIO_TOKEN",
            "the login token (default: a new one each start, printed in the URL)",
        ),
    ] = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help="log in with a password instead of a printed token (asked for, or "
            "ORRA_STUDIO_PASSWORD)",
        ),
    ] = False,
    unix_socket: Annotated[
        str | None,
        typer.Option(help="listen on this unix socket only, not on --host/--port", hidden=True),
    ] = None,
) -> None:
    """Serve the web studio, behind a login. With nothing configured it starts an embedded
    control plane with the demo services (offline planner) on ~/.orra/demo.duckdb, the file
    `orra demo` writes (a temporary one while another process holds it), and says so in its
    header."""
    try:
        import panel  # noqa: F401
    except ImportError:
        err.print("error: the studio needs Panel: pip install 'orra-studio[studio]'", markup=False)
        raise typer.Exit(1) from None
    from ..studio import StudioContext

    login = _credentials(token, password, host if not unix_socket else "127.0.0.1")
    configured = url or api_key or project or os.environ.get("ORRA_API_KEY")
    config = Config.load()
    where: dict[str, Any] = {"host": host, "port": port, "prefix": prefix}
    where |= {"open_browser": open_browser, "allow_origins": allow_origin}
    where |= {"unix_socket": unix_socket, "credentials": login, "printed": token is None}
    if configured or config.current_project or os.environ.get("ORRA_PROJECT"):
        target = config.target(url=url, api_key=api_key, project=project)
        if not target.api_key:
            raise ConfigError(
                "no key for the studio: pass --api-key KEY or -p PROJECT, or set ORRA_API_KEY"
            )
        # a key given outright may be any project's: the header names the key's own project
        # (asked of the server when a page opens), not the config's current one
        named = None if api_key or os.environ.get("ORRA_API_KEY") else target.project
        _serve(StudioContext(target.url, target.api_key, named), where)
        return
    _serve_embedded_demo(where)


def _credentials(token: str | None, password: bool, host: str) -> Credentials:
    """The login: a token given or made here, a password; refuse a host others reach
    without a credential the person chose."""
    from ..studio.login import Credentials, Password, new_token, valid_token

    secret = os.environ.get("ORRA_STUDIO_PASSWORD") or None
    if password and secret is None:
        secret = typer.prompt("Studio password", hide_input=True, confirmation_prompt=True)
    if secret is not None and not secret.strip():
        err.print("error: the studio's password is empty", markup=False)
        raise typer.Exit(2)
    if token is not None and not valid_token(token):
        err.print(
            "error: --token (ORRA_STUDIO_TOKEN) must be 16 to 256 characters of A-Z a-z 0-9 "
            "and . _ ~ - (it goes into a URL as it is)",
            markup=False,
        )
        raise typer.Exit(2)
    if token is None and secret is None and not is_loopback(host):
        err.print(
            f"error: --host {host} lets other machines reach this studio, which acts with the "
            "project's key. Choose its login: a token (--token or ORRA_STUDIO_TOKEN, 16+ "
            "characters) or a password (--password or ORRA_STUDIO_PASSWORD).",
            markup=False,
        )
        raise typer.Exit(2)
    if token is None and secret is None:
        token = new_token()
    return Credentials(token, Password.of(secret) if secret is not None else None)


def _serve(context: Any, where: dict[str, Any]) -> None:
    from ..studio import serve_studio

    where = dict(where)
    printed = where.pop("printed")
    credentials: Credentials = where.pop("credentials")

    def ready(address: str) -> None:
        login = "log in with the password"
        if credentials.token and printed:
            address, login = f"{address}?token={credentials.token}", "open this URL to log in"
        elif credentials.token:
            login = "log in with the token you set"
            login += " or the password" if credentials.password else ""
        err.print(
            f"Orra Studio on {address} ({context.where}) — {login}",
            markup=False,
            highlight=False,
            soft_wrap=True,  # the URL stays whole, to click or copy
        )

    serve_studio(context, credentials, ready=ready, **where)


def _serve_embedded_demo(where: dict[str, Any]) -> None:
    """Nothing configured: a control plane in this process on ``orra demo``'s database (its
    runs are there to look at) with the demo's four services."""
    from ..client import Client
    from ..demo import DemoServices, demo_server, wait_for_demo_services
    from ..studio import StudioContext

    with demo_server() as demo:
        services = DemoServices(demo.server.url, demo.api_key)
        services.start()
        try:
            with Client(demo.server.url, demo.api_key) as client:
                wait_for_demo_services(client)
            note = f"embedded demo on {demo.db}: offline planner"
            if demo.fallback:
                note += f" ({demo.fallback}: a temporary file until the studio stops)"
            _serve(StudioContext(demo.server.url, demo.api_key, "demo", note), where)
        finally:
            services.stop()
