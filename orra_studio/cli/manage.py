"""``orra services | grounding | comp-fail``: what a project can do and what needs a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..client import Client
from ..render import card, listing, records_table, services_table, visible
from ..types import CompensationFailure, Grounding, Replica, Service
from .common import ProjectOpt, client_for, command, err, shows

__all__ = ["comp_fail", "grounding", "replicas", "services"]

grounding = typer.Typer(help="Apply and manage grounding specs.", no_args_is_help=True)
comp_fail = typer.Typer(help="Compensation failures that need a person.", no_args_is_help=True)


@shows(services_table)
def services(client: Client) -> list[Service]:
    """List registered services and agents, and whether an instance is connected."""
    return client.services()


def replicas_table(rows: list[Replica]) -> Any:
    if not rows:
        return "one control plane on DuckDB: no replicas (docs/scale-out.md)"
    shown = [
        {
            **row,
            "heartbeat": f"{row['silentSeconds']:.1f} s ago",
            "answered": "this one" if row["this"] else "",
        }
        for row in rows
    ]
    return records_table(shown, ["id", "status", "heartbeat", "runs", "answered"])


@shows(replicas_table)
def replicas(client: Client) -> list[Replica]:
    """List the control plane's replicas (PostgreSQL): status, heartbeat age, owned runs."""
    return client.replicas()


@grounding.command("apply")
@shows(lambda g: f"Grounding {g['name']} {g.get('version', '')} applied")
def grounding_apply(
    client: Client,
    file: Annotated[
        Path, typer.Option("--file", "-f", exists=True, dir_okay=False, help="spec, YAML or JSON")
    ],
) -> Grounding:
    """Apply a grounding spec to the project (a new version replaces the old one)."""
    return client.apply_grounding(file.read_text())


_NO_GROUNDINGS = "no grounding specs; apply one: orra grounding apply -f FILE"


@grounding.command("ls")
@shows(
    listing(
        ["name", "domain", "version"], "no grounding specs; apply one: orra grounding apply -f FILE"
    )
)
def grounding_ls(client: Client) -> list[Grounding]:
    """List the project's grounding specs."""
    return client.groundings()


@grounding.command("rm")
@command
def grounding_rm(name: str, project: ProjectOpt = None) -> None:
    """Remove a grounding spec from the project."""
    with client_for(project) as client:
        client.delete_grounding(name)
    err.print(f"Grounding {visible(name)} removed.", markup=False)


_FAILURE_COLUMNS = ["id", "orchestrationId", "stepId", "component", "status", "failure"]


@comp_fail.command("ls")
@shows(listing(_FAILURE_COLUMNS, "no compensation failures"))
def comp_fail_ls(
    client: Client,
    status: Annotated[str | None, typer.Option(help="pending, resolved or ignored")] = None,
    orchestration: Annotated[str | None, typer.Option(help="only this orchestration")] = None,
) -> list[CompensationFailure]:
    """List compensation failures."""
    return client.compensation_failures(status, orchestration)


@comp_fail.command("inspect")
@shows(lambda r: card(r, title="Compensation failure"))
def comp_fail_inspect(client: Client, failure_id: str) -> CompensationFailure:
    """One compensation failure with what was sent and why it failed."""
    return client.compensation_failure(failure_id)


ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="what was done, for the record")]
_settled = shows(lambda r: f"{r['id']} is now {r['status']}")


@comp_fail.command("resolve")
@_settled
def comp_fail_resolve(client: Client, failure_id: str, reason: ReasonOpt) -> CompensationFailure:
    """Mark a compensation failure resolved (someone undid it by hand)."""
    return client.resolve_compensation_failure(failure_id, reason)


@comp_fail.command("ignore")
@_settled
def comp_fail_ignore(client: Client, failure_id: str, reason: ReasonOpt) -> CompensationFailure:
    """Mark a compensation failure ignored (nothing needs undoing)."""
    return client.ignore_compensation_failure(failure_id, reason)
