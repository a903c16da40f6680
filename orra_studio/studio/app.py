"""The studio's shell: the page template, navigation, and ``pn.serve`` of the page functions.

Each page is a function of one browser session (``pn.serve`` calls it per session), so state is
never shared between two people looking at the same studio. Pages reach the control plane only
through the client. Nothing is loaded from the internet: Bokeh and Panel serve their own assets,
and the one remote asset of the Fast template (a Google font) is switched off here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import panel as pn
from panel.io.server import get_server
from panel.theme.fast import Fast

from ..client import Client
from ..errors import OrraError, Unauthorized
from .context import StudioContext, masked
from .login import Credentials, StudioLogin
from .notices import Literal, Notice

__all__ = ["PAGES", "page", "serve_studio"]

log = logging.getLogger("orra.studio")

# the Fast design imports "Open Sans" from Google Fonts; the studio must work offline
Fast._resources = {**Fast._resources, "font": {}}

#: (route, title) in the order the sidebar lists them
PAGES: list[tuple[str, str]] = [
    ("executions", "Executions"),
    ("compose", "Compose"),
    ("services", "Services"),
    ("analytics", "Analytics"),
    ("replicas", "Replicas"),
]

Page = Callable[[StudioContext, Client], Any]


def _nav(current: str) -> pn.pane.HTML:
    links = "".join(
        f'<li><a href="./{route}" class="{"current" if route == current else ""}">{title}</a></li>'
        for route, title in PAGES
    )
    return pn.pane.HTML(
        f'<nav class="orra-nav"><ul>{links}</ul></nav>',
        sizing_mode="stretch_width",
        stylesheets=[_CSS],  # the pane draws in a shadow root: its styles go in with it
    )


_CSS = """
ul { list-style: none; padding: 0; margin: 0; }
li a { display: block; padding: 8px 12px; border-radius: 6px; color: inherit;
  text-decoration: none; font-size: 15px; }
li a.current { background: rgba(9, 105, 218, 0.12); font-weight: 600; color: #0969da; }
li a:hover { background: rgba(9, 105, 218, 0.06); }
"""


def page(context: StudioContext, route: str, title: str, build: Page) -> Any:
    """One page in the studio's template; its client is closed when the session ends.

    A banner says so while the control plane does not answer (checked every 3 s), and goes
    once it does again; a refused key shows a panel to enter another (for this session only).
    """
    pn.extension("tabulator")  # a page may show tables only later (after a key is entered)
    client = context.client()
    pn.state.on_session_destroyed(lambda _ctx: client.close())
    where = Literal(
        context.where, css_classes=["orra-where"], styles={"font-size": "12px", "color": "#57606a"}
    )
    template = pn.template.FastListTemplate(
        title=f"Orra Studio — {title}",
        sidebar=[_nav(route), where],
        accent="#0969da",
        sidebar_width=260,
    )
    banner = Notice(css_classes=["orra-banner"])
    body = pn.Column(sizing_mode="stretch_width")
    template.main.append(pn.Column(banner, body, sizing_mode="stretch_width"))

    def show_page(session_context: StudioContext, session_client: Client) -> None:
        where.object = session_context.where  # the project of the key in use, by its name
        try:
            body.objects = [build(session_context, session_client)]
        except Exception as exc:  # one line for the person; the traceback goes to the log
            log.exception("the %s page failed", route)
            failed = Notice()
            failed.show(f"This page could not be built: {type(exc).__name__}: {exc}", "error")
            body.objects = [failed]

    def watch_health() -> None:
        try:
            client.health()
        except OrraError:
            banner.show(
                f"The control plane at {context.url} is not answering; retrying every 3 s…",
                "error",
            )
            return
        banner.hide()

    try:
        project = client.current_project()
    except Unauthorized:
        body.objects = [_key_panel(context, show_page)]
    except OrraError:
        watch_health()
        show_page(context, client)
    else:
        show_page(replace(context, project=project["name"]), client)
    pn.state.add_periodic_callback(watch_health, period=3000)
    return template


def _key_panel(context: StudioContext, show_page: Callable[..., None]) -> pn.viewable.Viewable:
    """The control plane refused the studio's key: ask for another, for this session."""
    refused = Notice(css_classes=["orra-key-refused"])
    refused.show(
        f"Key refused: the control plane at {context.url} does not accept "
        f"{masked(context.api_key)}. Enter a project's API key (it stays in this browser "
        "session).",
        "error",
    )
    key = pn.widgets.PasswordInput(placeholder="sk-orra-v1-…", width=420)
    use = pn.widgets.Button(name="Use this key", button_type="primary", width=140)

    def try_key(_event: Any) -> None:
        candidate = replace(context, api_key=(key.value_input or "").strip())
        trial = candidate.client()
        try:
            project = trial.current_project()
        except OrraError as exc:
            trial.close()
            refused.show(f"Key refused: {exc}", "error")
            return
        pn.state.on_session_destroyed(lambda _ctx: trial.close())
        show_page(replace(candidate, project=project["name"]), trial)

    use.on_click(try_key)
    return pn.Column(refused, pn.Row(key, use), css_classes=["orra-login"])


def serve_studio(
    context: StudioContext,
    credentials: Credentials,
    *,
    host: str = "127.0.0.1",
    port: int = 8006,
    prefix: str = "",
    unix_socket: str | None = None,
    open_browser: bool = False,
    allow_origins: list[str] | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve every page, behind the login, until interrupted (blocks).

    ``ready`` gets the address once it listens (without the token: the caller prints that).
    With ``unix_socket`` it listens there only (the JupyterLab Launcher), never on a port.
    """
    from . import analytics, compose, executions, replicas, run_view, services

    builders: dict[str, tuple[str, Page]] = {
        "executions": ("Executions", executions.executions_page),
        "services": ("Services", services.services_page),
        "compose": ("Compose", compose.compose_page),
        "analytics": ("Analytics", analytics.analytics_page),
        "replicas": ("Replicas", replicas.replicas_page),
        "run": ("Run", run_view.run_page),
    }
    routes = {
        route: (lambda r=route, t=title, b=build: page(context, r, t, b))
        for route, (title, build) in builders.items()
    }
    routes["/"] = routes["executions"]
    # cookies are per host, not per port: two studios on one machine keep a cookie each
    login = StudioLogin(
        credentials,
        cookie_name="orra-studio" if unix_socket else f"orra-studio-{port}",
        prefix=prefix,
    )
    where: dict[str, Any] = {"unix_socket": unix_socket} if unix_socket else {"address": host}
    if not unix_socket:
        where["port"] = port
    origins = allow_origins or [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    server = get_server(
        routes,
        prefix=prefix,
        title="Orra Studio",
        allow_websocket_origin=origins,
        websocket_max_message_size=20 * 1024 * 1024,
        auth_provider=login,
        # the page's Bokeh session token carries the request's headers and cookies to the
        # browser: never the login's
        exclude_headers=["Authorization"],
        exclude_cookies=[login.cookie_name],
        # a closed tab's session (and the event stream its run view follows) ends within
        # seconds, not Bokeh's default of half a minute
        check_unused_sessions_milliseconds=1000,
        unused_session_lifetime_milliseconds=2000,
        start=False,
        show=False,
        **where,
    )
    login.guard(server._tornado)
    server.start()
    url = f"unix:{unix_socket}" if unix_socket else f"http://{host}:{port}{prefix.rstrip('/')}/"
    if ready is not None:
        ready(url)  # listening now: the banner, or a browser
    if open_browser and not unix_socket:
        import webbrowser

        token = f"?token={credentials.token}" if credentials.token else ""
        webbrowser.open(url + token)
    server.io_loop.start()
