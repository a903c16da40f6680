"""The grammar of ``%orra``: each sub-command a function with its own ``magic_arguments`` parser.

Separate from :mod:`.magics` (which does the work of each sub-command) because these are what a
person types and reads (``%orra?`` joins their docstrings): the arguments, their help and usage
lines, and which sub-commands are line or cell ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.core.magic_arguments import argument, magic_arguments

__all__ = ["CELL_COMMANDS", "INTRO", "LINE_COMMANDS"]


def _named(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make the parser's usage line read ``%orra <command> …``."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.argcmd_name = f"orra {command}"  # type: ignore[attr-defined]
        return func

    return mark


@magic_arguments()
@argument("url", nargs="?", help="control plane URL (default: the configured one, or embedded)")
@argument("--api-key", help="a project's API key")
@argument("-p", "--project", help="a project name from ~/.orra/config.toml")
@argument("--embedded", action="store_true", help="start a control plane in this kernel")
@argument("--db", help="DuckDB file for the embedded control plane (default: temporary)")
@argument(
    "--demo",
    action="store_true",
    help="also serve the seed example's four services from this kernel (as orra demo does)",
)
@_named("connect")
def _connect(line: str) -> None:
    """%orra connect [URL]: talk to a control plane; with none configured, start one here."""


@magic_arguments()
@_named("services")
def _services(line: str) -> None:
    """%orra services: registered services as a DataFrame."""


@magic_arguments()
@argument("action", help="what to do, e.g. 'customer-inquiry: tell me more'")
@argument("data", nargs="*", default=[], help="field=value …")
@_named("plan")
def _plan(line: str) -> None:
    """%orra plan ACTION field=value…: preview the plan in a widget; edit inputs, then Run."""


@magic_arguments()
@argument("action", help="what to do")
@argument("data", nargs="*", default=[], help="field=value …")
@argument("--timeout", type=float, default=None, help="seconds to wait for the result")
@argument("--quiet", action="store_true", help="no live progress display")
@argument(
    "--approve", action="append", default=None, metavar="STEP", help="wait for approval (repeat)"
)
@_named("run")
def _run(line: str) -> None:
    """%orra run ACTION field=value…: run it with live progress; returns the result."""


@magic_arguments()
@argument("--status", help="only this status, e.g. FAILED")
@argument("--limit", type=int, default=50, help="at most this many, newest first")
@_named("ps")
def _ps(line: str) -> None:
    """%orra ps: the project's orchestrations as a DataFrame."""


@magic_arguments()
@argument("execution_id", help="the orchestration's id")
@_named("inspect")
def _inspect(line: str) -> None:
    """%orra inspect ID: one orchestration (steps, outputs, timings)."""


@magic_arguments()
@argument("execution_id", help="the orchestration's id")
@_named("logs")
def _logs(line: str) -> None:
    """%orra logs ID: its log lines as a DataFrame."""


@magic_arguments()
@argument("-o", "--out", help="also store the DataFrame in this variable")
@argument("--no-refresh", action="store_true", help="query the last export, do not fetch again")
@_named("sql")
def _sql(line: str) -> None:
    """%%orra sql [-o NAME]: SQL over tables orchestrations, steps, events (a local DuckDB
    fed by the export API); returns a DataFrame."""


@magic_arguments()
@argument("name", help="service name (lowercase letters, digits, '-' or '.')")
@argument("-d", "--description", help="what it does (default: the function's docstring)")
@argument("--revertible", action="store_true", help="it can undo its work")
@argument("--concurrency", type=int, default=1, help="tasks at once")
@_named("service")
def _service(line: str) -> None:
    """%%orra service NAME: serve the function the cell defines (pydantic-typed input and
    output) as a service, from this kernel, over the real websocket."""


@magic_arguments()
@argument("execution_id", nargs="?", help="an orchestration's id: its run view (default: all)")
@_named("studio")
def _studio(line: str) -> None:
    """%orra studio [ID]: the web studio's run view of ID, or its executions page, inline (the
    same Panel views as ``orra studio``; live while the notebook's kernel runs)."""


@magic_arguments()
@_named("approvals")
def _approvals(line: str) -> None:
    """%orra approvals: the steps that wait for a person, each with Approve and Reject."""


@magic_arguments()
@argument("execution_id", help="the orchestration's id")
@argument("step_id", help="the step, e.g. step3")
@argument("--input", help="run it with this input instead (JSON)")
@argument("--comment", help="for the record")
@_named("approve")
def _approve(line: str) -> None:
    """%orra approve ID STEP [--input JSON]: run a waiting step now."""


@magic_arguments()
@argument("execution_id", help="the orchestration's id")
@argument("step_id", help="the step, e.g. step3")
@argument("--reason", required=True, help="why, for the record")
@_named("reject")
def _reject(line: str) -> None:
    """%orra reject ID STEP --reason WHY: fail a waiting step (the run re-plans or fails)."""


@magic_arguments()
@argument("execution_id", help="the finished orchestration to re-run")
@argument("--from", dest="from_step", help="run this step and those after it; reuse the others")
@argument("inputs", nargs="*", default=[], help="STEP=JSON: run STEP with this input")
@argument("--timeout", type=float, default=None, help="seconds to wait for the result")
@_named("rerun")
def _rerun(line: str) -> None:
    """%orra rerun ID [--from STEP] [STEP=JSON…]: a new run of it, with live progress."""


@magic_arguments()
@_named("disconnect")
def _disconnect(line: str) -> None:
    """%orra disconnect: stop the kernel's services and any embedded control plane."""


LINE_COMMANDS = {
    "connect": _connect,
    "services": _services,
    "plan": _plan,
    "run": _run,
    "ps": _ps,
    "inspect": _inspect,
    "logs": _logs,
    "studio": _studio,
    "approvals": _approvals,
    "approve": _approve,
    "reject": _reject,
    "rerun": _rerun,
    "disconnect": _disconnect,
}
CELL_COMMANDS = {"sql": _sql, "service": _service}

INTRO = """Orra Studio from a notebook: %orra SUB-COMMAND … (line) or %%orra SUB-COMMAND … (cell).

"""
