"""``orra services | grounding | comp-fail``: what a project can do and what needs a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import card, records_table, services_table
from .common import JsonFlag, Output, OutputOpt, ProjectOpt, client_for, command, emit, err

__all__ = ["comp_fail", "grounding", "services"]

grounding = typer.Typer(help="Apply and manage grounding specs.", no_args_is_help=True)
comp_fail = typer.Typer(help="Compensation failures that need a person.", no_args_is_help=True)


@command
def services(
    project: ProjectOpt = None, output: OutputOpt = Output.table, as_json: JsonFlag = False
) -> None:
    """List registered services and agents, and whether an instance is connected."""
    with client_for(project) as client:
        rows = client.services()
    emit(rows, output, as_json, services_table)


@grounding.command("apply")
@command
def grounding_apply(
    file: Annotated[
        Path, typer.Option("--file", "-f", exists=True, dir_okay=False, help="spec, YAML or JSON")
    ],
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """Apply a grounding spec to the project (a new version replaces the old one)."""
    with client_for(project) as client:
        applied = client.apply_grounding(file.read_text())
    emit(
        applied, output, as_json, lambda g: f"Grounding {g['name']} {g.get('version', '')} applied"
    )


@grounding.command("ls")
@command
def grounding_ls(
    project: ProjectOpt = None, output: OutputOpt = Output.table, as_json: JsonFlag = False
) -> None:
    """List the project's grounding specs."""
    with client_for(project) as client:
        rows = client.groundings()
    emit(rows, output, as_json, lambda r: records_table(r, ["name", "domain", "version"]))


@grounding.command("rm")
@command
def grounding_rm(name: str, project: ProjectOpt = None) -> None:
    """Remove a grounding spec from the project."""
    with client_for(project) as client:
        client.delete_grounding(name)
    err.print(f"Grounding {name} removed.", markup=False)


_FAILURE_COLUMNS = ["id", "orchestrationId", "stepId", "component", "status", "failure"]


@comp_fail.command("ls")
@command
def comp_fail_ls(
    status: Annotated[str | None, typer.Option(help="pending, resolved or ignored")] = None,
    orchestration: Annotated[str | None, typer.Option(help="only this orchestration")] = None,
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """List compensation failures."""
    with client_for(project) as client:
        rows = client.compensation_failures(status, orchestration)
    emit(rows, output, as_json, lambda r: records_table(r, _FAILURE_COLUMNS))


@comp_fail.command("inspect")
@command
def comp_fail_inspect(
    failure_id: str,
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """One compensation failure with what was sent and why it failed."""
    with client_for(project) as client:
        record = client.compensation_failure(failure_id)
    emit(record, output, as_json, lambda r: card(r, title="Compensation failure"))


def _settle(failure_id: str, reason: str, project: str | None, ignore: bool, output, as_json):
    with client_for(project) as client:
        settle = (
            client.ignore_compensation_failure if ignore else client.resolve_compensation_failure
        )
        record = settle(failure_id, reason)
    emit(record, output, as_json, lambda r: f"{r['id']} is now {r['status']}")


ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="what was done, for the record")]


@comp_fail.command("resolve")
@command
def comp_fail_resolve(
    failure_id: str,
    reason: ReasonOpt,
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """Mark a compensation failure resolved (someone undid it by hand)."""
    _settle(failure_id, reason, project, False, output, as_json)


@comp_fail.command("ignore")
@command
def comp_fail_ignore(
    failure_id: str,
    reason: ReasonOpt,
    project: ProjectOpt = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """Mark a compensation failure ignored (nothing needs undoing)."""
    _settle(failure_id, reason, project, True, output, as_json)
