"""The ``orra`` command line (typer + rich)."""

from __future__ import annotations

from typing import Annotated

import typer

from . import __version__

app = typer.Typer(
    name="orra",
    help="Orra Studio: plan and run actions over your services and agents.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8005,
    db: Annotated[
        str | None, typer.Option(help="DuckDB file (default ~/.orra/orra.duckdb)", envvar="ORRA_DB")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Run the control plane."""
    from orra_server import Settings
    from orra_server.__main__ import serve as run_server
    from orra_server.settings import default_db_path

    settings = Settings(db_path=db or default_db_path())
    typer.echo(f"orra control plane on http://{host}:{port} (db: {settings.db_path})", err=True)
    run_server(settings, host=host, port=port, log_level=log_level)


@app.command()
def demo(
    db: Annotated[str | None, typer.Option(help="keep the demo's DuckDB file here")] = None,
) -> None:
    """Run the seed example end to end: embedded server, four services, offline planner."""
    from .demo import run_demo

    raise typer.Exit(run_demo(db))


@app.command()
def version() -> None:
    """Print the client version (and the server's, when one answers)."""
    typer.echo(f"orra-studio {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
