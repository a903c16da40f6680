"""``orra approvals | approve | reject | rerun``: steering a run that waits or has ended.

A step that needs a person waits ``AWAITING_APPROVAL``; these commands list such steps and
decide them. ``rerun`` forks a finished orchestration from one of its steps. Everything goes
through the client, as the notebook and the web studio do.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..client import Client
from ..errors import BadRequest
from ..render import records_table
from ..types import Accepted, Approval, Orchestration
from .common import err, shows

__all__ = ["approvals", "approve", "reject", "rerun"]

approvals = typer.Typer(help="Steps that wait for a person's approval.", no_args_is_help=True)

ExecutionArg = Annotated[str, typer.Argument(help="the orchestration's id")]
StepArg = Annotated[str, typer.Argument(help="the step's id, e.g. step3")]
ApproverOpt = Annotated[str | None, typer.Option("--approver", help="who decides, for the record")]


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"{what} is not JSON: {exc}", code="invalid_json") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object", code="invalid_json")
    return value


def _approvals_table(rows: list[Approval]) -> Any:
    shown = [
        {
            **row,
            "input": f"{row.get('inputPreview')}… ({row.get('inputBytes'):,} bytes; whole in "
            f"'orra inspect {row['executionId']}')",
        }
        if row.get("inputTruncated")
        else row
        for row in rows
    ]
    return records_table(shown, ["executionId", "stepId", "component", "input", "expiresAt"])


@approvals.command("ls")
@shows(_approvals_table)
def approvals_ls(
    client: Client,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="at most this many")] = 50,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", help="the next page (printed when more wait)"),
    ] = None,
) -> list[Approval]:
    """List the steps that wait for approval, with the input each would run with (an input
    over 64 KiB as its start), oldest run first, a page at a time."""
    page = client.approval_page(limit, cursor=cursor)
    if page.get("nextCursor"):
        err.print(
            f"more steps wait than the {len(page['approvals'])} shown; next page: "
            f"orra approvals ls --cursor {page['nextCursor']}",
            highlight=False,
            soft_wrap=True,
        )
    return page["approvals"]


def _decided(body: Orchestration) -> str:
    return f"{body['executionId']} is now {body['status']}"


@shows(_decided)
def approve(
    client: Client,
    execution_id: ExecutionArg,
    step_id: StepArg,
    input: Annotated[
        str | None, typer.Option("--input", "-i", help="run it with this input instead (JSON)")
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", "-c")] = None,
    approver: ApproverOpt = None,
) -> Orchestration:
    """Approve a waiting step: it runs now (with --input instead of the one shown)."""
    edited = _json_object(input, "--input") if input is not None else None
    return client.approve(execution_id, step_id, input=edited, comment=comment, approver=approver)


@shows(_decided)
def reject(
    client: Client,
    execution_id: ExecutionArg,
    step_id: StepArg,
    reason: Annotated[str, typer.Option("--reason", "-r", help="why, for the record")],
    approver: ApproverOpt = None,
) -> Orchestration:
    """Reject a waiting step: it fails, and the run re-plans without it or fails."""
    return client.reject(execution_id, step_id, reason, approver=approver)


@shows(lambda a: f"{a['executionId']} re-runs {a['parentId']}: {a['message']}")
def rerun(
    client: Client,
    execution_id: ExecutionArg,
    from_step: Annotated[
        str | None,
        typer.Option("--from", help="run this step and those after it; reuse the others"),
    ] = None,
    input: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="STEP=JSON: run STEP with this input (repeat)"),
    ] = None,
) -> Accepted:
    """Re-run a finished orchestration as a new one linked to it."""
    inputs: dict[str, dict[str, Any]] = {}
    for item in input or []:
        step, sep, text = item.partition("=")
        if not sep or not step.strip():
            raise BadRequest(f"--input {item!r}: write STEP=JSON", code="invalid_input_option")
        inputs[step.strip()] = _json_object(text, f"--input {step.strip()}")
    return client.rerun(execution_id, from_step=from_step, inputs=inputs or None)
