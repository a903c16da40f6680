"""The ``orra`` command line (typer + rich): one module per group of commands.

server.py    serve, demo, version
studio.py    studio (the Panel web studio)
account.py   login, logout, projects, webhooks, api-keys
manage.py    services, grounding, comp-fail
runs.py      plan, run, verify run, ps, inspect, logs
adapt.py     approvals ls, approve, reject, rerun
common.py    options, output, errors and exit codes every command shares
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import account, adapt, manage, runs, server, studio
from .common import command

__all__ = ["app", "main"]

app = typer.Typer(
    name="orra",
    help="Orra Studio: plan and run actions over your services and agents.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="print the client version and exit")
    ] = False,
) -> None:
    """Orra Studio: plan and run actions over your services and agents."""
    if version:
        typer.echo(f"orra-studio {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


app.command()(server.serve)
app.command()(server.demo)
app.command()(command(studio.studio))
app.command()(command(server.version))
app.command()(account.login)
app.command()(account.logout)
app.add_typer(account.projects, name="projects")
app.add_typer(account.webhooks, name="webhooks")
app.add_typer(account.api_keys, name="api-keys")
app.command()(manage.services)
app.command()(manage.replicas)
app.add_typer(manage.grounding, name="grounding")
app.add_typer(manage.comp_fail, name="comp-fail")
app.command()(runs.plan)
app.command()(runs.run)
app.add_typer(runs.verify, name="verify")
app.command()(runs.ps)
app.command()(runs.inspect)
app.command()(runs.logs)
app.add_typer(adapt.approvals, name="approvals")
app.command()(adapt.approve)
app.command()(adapt.reject)
app.command()(adapt.rerun)


def main() -> None:
    app()
