"""What ``orra plan``, ``run`` and ``verify run`` are all asked: an action, its data, maybe a plan
file, the project and how to print the answer. Their options are declared here once and handed
to each command as one :class:`Asked` (as ``shows()`` hands a client to the commands that print
an answer), so the three cannot drift apart; ``--help`` lists them where it always did.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import (
    OUTPUT_OPTIONS,
    Output,
    ProjectOpt,
    command,
    emit,
    option,
    own_options,
    parse_data,
    with_options,
)

__all__ = ["Asked", "asks"]

ActionArg = Annotated[
    str, typer.Argument(metavar="ACTION", help="what to do, e.g. 'Help customer with an order'")
]
DataOpt = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", help="field:value (repeat); field:=JSON for numbers, lists…"),
]
PlanOpt = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        exists=True,
        dir_okay=False,
        help="run this plan instead (JSON: a plan, or what 'orra plan -o json' printed, edited)",
    ),
]


def _read_plan(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text())
    except ValueError as exc:
        raise typer.BadParameter(f"{path} is not JSON ({exc})", param_hint="--plan") from None
    plan = loaded.get("plan", loaded) if isinstance(loaded, dict) else None
    if not isinstance(plan, dict) or "steps" not in plan:
        raise typer.BadParameter(f"{path} holds no plan (no 'steps')", param_hint="--plan")
    return plan


@dataclass(frozen=True, slots=True)
class Asked:
    """What ``plan``, ``run`` and ``verify run`` are asked alike: an action, its data (``-d``),
    maybe a plan (``--plan``), the project, and how to print the answer. The data and the plan
    are read when used: inside the client's ``with``, as every other command reads its input."""

    action: str
    data_fields: list[str] | None
    plan_file: Path | None
    project: str | None
    output: Output
    as_json: bool

    @property
    def data(self) -> dict[str, Any]:
        return parse_data(self.data_fields)

    @property
    def plan(self) -> dict[str, Any] | None:
        return _read_plan(self.plan_file)

    def emit(self, answer: Any, render: Callable[[Any], Any]) -> None:
        emit(answer, self.output, self.as_json, render)


#: what every command that orchestrates takes first (its own options follow, then -o and --json)
_ASKED_FIRST = [
    option("action", ActionArg),
    option("data", DataOpt, None),
    option("plan_file", PlanOpt, None),
    option("project", ProjectOpt, None),
]


def asks(func: Callable[..., None]) -> Callable[..., None]:
    """A command that orchestrates an action: it gets the options they all share as one
    :class:`Asked`, and declares only its own."""

    @functools.wraps(func)
    def wrapper(
        *,
        action: str,
        data: list[str] | None = None,
        plan_file: Path | None = None,
        project: str | None = None,
        output: Output = Output.table,
        as_json: bool = False,
        **own: Any,
    ) -> None:
        func(Asked(action, data, plan_file, project, output, as_json), **own)

    parameters = [*_ASKED_FIRST, *own_options(func, leaving_out=("asked",)), *OUTPUT_OPTIONS]
    return command(with_options(wrapper, parameters))
