"""What every ``orra`` command shares: options, the client, output, errors and exit codes.

Exit codes scripts can rely on:

    0  done (for ``run``/``verify run``: the orchestration COMPLETED)
    1  an error: the server refused, is unreachable, or the config is missing or wrong
    2  usage: an unknown command or option, a malformed ``-d field:value``
    3  the orchestration ended but not COMPLETED (FAILED, ABORTED, CANCELLED, NOT_ACTIONABLE)
    4  ``--timeout`` passed while the orchestration was still running
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import json
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..client import Client
from ..config import Config
from ..data_text import NotFieldValue, parse_fields
from ..errors import ConfigError, OrraError
from ..render import literal, visible

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_COMPLETED",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "EXIT_WAITING",
    "OUTPUT_OPTIONS",
    "JsonFlag",
    "Output",
    "OutputOpt",
    "ProjectOpt",
    "UrlOpt",
    "client_for",
    "command",
    "emit",
    "env_option",
    "err",
    "is_loopback",
    "option",
    "out",
    "own_options",
    "parse_data",
    "shows",
    "with_options",
]

EXIT_ERROR, EXIT_USAGE, EXIT_NOT_COMPLETED, EXIT_TIMEOUT = 1, 2, 3, 4
#: ``orra run`` stopped because a step waits for a person (``orra approve`` / ``orra reject``)
EXIT_WAITING = 5
#: Ctrl-C while ``orra run`` waited (the shell's 128 + SIGINT): the orchestration goes on
EXIT_INTERRUPTED = 130

out = Console(soft_wrap=False)
err = Console(stderr=True)


class Output(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", "-p", help="project name from the config (default: current)"),
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="control plane URL", envvar="ORRA_URL", show_envvar=False),
]
OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="table for people; json or jsonl for scripts")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="same as -o json")]

F = TypeVar("F", bound=Callable[..., Any])


def is_loopback(host: str) -> bool:
    """Only this machine reaches an interface of this name (``orra serve``, ``orra studio``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def command(func: F) -> F:
    """Turn :class:`OrraError` into one line on stderr and exit 1 (``--debug`` keeps the
    traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OrraError as exc:
            if _debug():
                raise
            err.print(f"[red]error:[/] {escape(visible(str(exc)))}", highlight=False)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _debug() -> bool:
    import click

    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def shows(
    render: Callable[[Any], Any] | None = None,
    *,
    lines: Callable[[Any], list[Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """For a command that asks the API and prints the answer.

    The command takes a ``client`` (for the chosen project) and returns what to print; this adds
    the ``--project``, ``--output`` and ``--json`` options every such command has, and prints
    the answer as JSON or through ``render`` (``-o jsonl`` prints ``lines(answer)`` one per
    line, when given). A command that needs the project's name as well declares a ``project``
    parameter of its own and gets it.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., None]:
        own = inspect.signature(func).parameters
        kept = own_options(func, leaving_out=("client", "project"))
        shared = [option("project", ProjectOpt, None), *OUTPUT_OPTIONS]

        @functools.wraps(func)
        def wrapper(
            *args: Any,
            project: str | None = None,
            output: Output = Output.table,
            as_json: bool = False,
            **kwargs: Any,
        ) -> None:
            if "project" in own:
                kwargs["project"] = project
            with client_for(project) as client:
                answer = func(*args, client=client, **kwargs)
            if lines is not None and output is Output.jsonl and not as_json:
                answer = lines(answer)
            emit(answer, output, as_json, render)

        return command(with_options(wrapper, [*kept, *shared]))

    return decorate


def option(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """One option (or argument) of a command a decorator adds, as typer reads it."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


#: ``--output`` and ``--json``, last in every command that prints an answer
OUTPUT_OPTIONS = [option("output", OutputOpt, Output.table), option("as_json", JsonFlag, False)]


def own_options(func: Callable[..., Any], leaving_out: tuple[str, ...]) -> list[inspect.Parameter]:
    """``func``'s parameters but ``leaving_out`` (what a decorator hands it), with their
    annotations resolved (this package's modules use ``from __future__ import annotations``)."""
    hints = typing.get_type_hints(func, include_extras=True)
    return [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.name not in leaving_out
    ]


def with_options(wrapper: F, parameters: list[inspect.Parameter]) -> F:
    """``wrapper`` with these parameters, in this order, where typer reads a command's options."""
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


@contextmanager
def client_for(project: str | None = None, url: str | None = None) -> Iterator[Client]:
    """A client with the chosen project's key (flag > environment > config file)."""
    chosen = Config.load().target(url=url, project=project)
    if not chosen.api_key:
        raise ConfigError(
            "no project selected: run 'orra projects add NAME' (or 'orra login --api-key KEY'), "
            "or pass -p NAME, or set ORRA_API_KEY"
        )
    with Client(chosen.url, chosen.api_key) as client:
        yield client


def emit(
    data: Any,
    output: Output,
    as_json: bool = False,
    render: Callable[[Any], Any] | None = None,
) -> None:
    """Print ``data`` as JSON (nothing else on stdout) or through ``render`` for people."""
    if as_json:
        output = Output.json
    if output is Output.jsonl:
        rows = data if isinstance(data, list) else [data]
        sys.stdout.write("".join(json.dumps(r, default=str) + "\n" for r in rows))
    elif output is Output.json or render is None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        # never cropped: a line wider than the terminal wraps there, and a pipe gets it whole
        out.print(literal(render(data)), highlight=False, crop=False)


def env_option(envvar: str, help: str) -> Any:
    """An option that may come from the environment, which ``--help`` names (for tokens and
    switches a deployment sets once)."""
    return typer.Option(help=help, envvar=envvar, show_envvar=True)


def parse_data(items: list[str] | None) -> dict[str, Any]:
    """``-d`` options as the action's data (:mod:`orra_studio.data_text`)."""
    try:
        return parse_fields(items)
    except NotFieldValue as exc:
        raise typer.BadParameter(str(exc), param_hint="-d") from None
