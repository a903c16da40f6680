"""``orra serve | demo | version``: run a control plane here, or the seed example."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from .. import __version__
from ..config import Config
from ..errors import OrraError
from .common import JsonFlag, Output, OutputOpt, UrlOpt, emit, is_loopback

if TYPE_CHECKING:
    from orra_server.settings import LLMSettings

__all__ = ["demo", "serve", "version"]


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65_535, help="port to listen on")] = 8005,
    db: Annotated[
        str | None,
        typer.Option(
            help="DuckDB file (default ~/.orra/orra.duckdb), or a postgresql:// URL (replicas)",
            envvar="ORRA_DB",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
    llm_base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama)"),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(help="model for the LLM planner (turns it on)")
    ] = None,
    llm_api_key: Annotated[str | None, typer.Option(help="key for the LLM endpoint")] = None,
    llm_timeout: Annotated[
        str | None,
        typer.Option(metavar="SECONDS", help="seconds per LLM call before retrying (0.1-3600)"),
    ] = None,
    repair_rounds: Annotated[
        str | None,
        typer.Option(metavar="N", help="times an invalid LLM plan is sent back for repair (0-10)"),
    ] = None,
    offline_planner: Annotated[
        bool, typer.Option("--offline-planner", help="plan with schema-flow only, never an LLM")
    ] = False,
    admin_token: Annotated[
        str | None,
        typer.Option(
            help="token that creating a project requires (send it as a Bearer token)",
            envvar="ORRA_ADMIN_TOKEN",
            show_envvar=True,
        ),
    ] = None,
    open_registration: Annotated[
        bool,
        typer.Option(
            "--open-registration",
            help="let anyone who reaches a non-loopback --host create projects (no admin token)",
        ),
    ] = False,
    allow_private_webhooks: Annotated[
        bool | None,
        typer.Option(
            "--allow-private-webhooks/--public-webhooks-only",
            help="deliver webhooks to loopback/private addresses too; the default is yes on a "
            "loopback --host (local development: only this machine reaches it), no otherwise",
            envvar="ORRA_ALLOW_PRIVATE_WEBHOOKS",
            show_envvar=True,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the control plane.

    The LLM planner is on when a model is given (--llm-model or ORRA_LLM_MODEL); otherwise
    the offline schema-flow planner plans. See docs/planner.md.
    """
    _skip_unused_format_checks()
    from orra_server import Settings
    from orra_server.serving import serve as run_server
    from orra_server.serving import shown_db
    from orra_server.settings import LLMSettings, SettingError, default_db_path

    try:  # ORRA_LLM_TIMEOUT=nan, --repair-rounds 1e9: one line, no traceback
        llm = _llm_settings(LLMSettings(), llm_timeout, repair_rounds)
    except SettingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for name, value in (
        ("base_url", llm_base_url),
        ("model", llm_model),
        ("api_key", llm_api_key),
    ):
        if value is not None:
            setattr(llm, name, value)
            llm.enabled = True
    if offline_planner:
        llm.enabled = False
    if not admin_token and not open_registration and not is_loopback(host):
        typer.echo(
            f"error: --host {host} lets other machines reach this control plane, and anyone who "
            "reaches it could create projects. Set an admin token (--admin-token or "
            "ORRA_ADMIN_TOKEN) that project creation will require, or pass "
            "--open-registration to allow it knowingly.",
            err=True,
        )
        raise typer.Exit(2)
    try:
        settings = Settings(
            db_path=db or default_db_path(),
            llm=llm,
            admin_token=admin_token or None,
            allow_private_webhooks=(
                is_loopback(host) if allow_private_webhooks is None else allow_private_webhooks
            ),
        )
    except SettingError as exc:  # ORRA_DB_MEMORY_LIMIT=lots: one line, no traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    planner = f"LLM {llm.resolved_model()}" if llm.enabled else "offline schema-flow"

    def listening() -> None:
        typer.echo(
            f"orra control plane on http://{host}:{port} (db: {shown_db(settings.db_path)}; "
            f"planner: {planner})",
            err=True,
        )

    run_server(settings, host=host, port=port, log_level=log_level, on_started=listening)


def demo(
    db: Annotated[str | None, typer.Option(help="keep the demo's DuckDB file here")] = None,
) -> None:
    """Run the seed example end to end: embedded server, four services, offline planner."""
    from ..demo import run_demo

    raise typer.Exit(run_demo(db))


def version(
    url: UrlOpt = None, output: OutputOpt = Output.table, as_json: JsonFlag = False
) -> None:
    """Print the client and server version information."""
    from ..client import Client

    answer = {"client": __version__, "server": None, "url": None}
    answer["url"] = server = Config.load().server_url(url)
    try:
        with Client(server, timeout=3) as client:
            answer["server"] = client.health().get("version")
    except OrraError:
        pass
    emit(answer, output, as_json, _versions)


def _versions(answer: dict) -> str:
    server = answer["server"] or "not reachable"
    return f"Client Version: {answer['client']}\nServer Version: {server} ({answer['url']})"


def _skip_unused_format_checks() -> None:
    """Where rfc3987-syntax is installed (Jupyter brings it), jsonschema imports it for its
    "iri" format check, and it builds a lark grammar as it is imported: 1.3 of the 3.8 s a
    control plane took to start. The control plane never checks formats, so in its own
    process the module is marked absent, the ImportError jsonschema already expects. Not in a
    notebook's embedded server: that process is someone else's."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _llm_settings(llm: LLMSettings, timeout: str | None, repair_rounds: str | None) -> LLMSettings:
    """``llm`` with the command line's timeout and repair rounds, read by the same grammar as
    their environment variables (``float`` would take ``nan`` and ``inf``)."""
    from orra_server.settings import seconds, whole_number

    if timeout is not None:
        llm.timeout = seconds(timeout, "--llm-timeout", 0.1, 3600)
    if repair_rounds is not None:
        llm.repair_rounds = whole_number(repair_rounds, "--repair-rounds", 0, 10)
    return llm
