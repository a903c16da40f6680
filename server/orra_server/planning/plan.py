"""The plan: steps over registered services, references between them, and the DAG's levels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_serializer

from ..core.grammar import STEP_ID_RULE, is_step_id
from ..core.limits import MAX_PLAN_STEPS

__all__ = [
    "REFERENCE",
    "Plan",
    "PlanStep",
    "Reference",
    "StepId",
    "execution_levels",
    "follow_path",
    "references_in",
]

#: ``{{request.action.content}}``, ``{{request.data.customerId}}``, ``{{step1.output.profile}}``:
#: the root is ``request`` or a step id (ASCII, the step-id grammar without ``-``); the path's
#: parts are field names (any word characters, as data fields may be named) or list indexes
REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[\w\-]+)+)\s*\}\}")


def _step_id(value: str) -> str:
    if not is_step_id(value):
        shown = value[:40].encode("unicode_escape").decode("ascii")
        raise ValueError(f"'{shown}' is not a step id: use {STEP_ID_RULE}")
    return value


#: a step id as a request may carry it (plan steps, dependencies, groups, approve, fromStep)
StepId = Annotated[str, AfterValidator(_step_id)]


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StepId = Field(min_length=1, max_length=64)
    component: str = Field(min_length=1, max_length=253, description="the service's name")
    action: str = Field(default="", max_length=200, description="what the step does")
    input: dict[str, Any] = Field(default_factory=dict)
    expectedOutput: str = Field(default="", max_length=200)
    dependencies: list[StepId] = Field(default_factory=list, max_length=MAX_PLAN_STEPS)
    #: wait for a person's approval before this step runs (a plan edited in the studio or a
    #: notebook may mark any step); left out of the plan's JSON unless set
    requiresApproval: bool | None = None

    @model_serializer(mode="wrap")
    def _without_unset_approval(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if data.get("requiresApproval") is None:
            data.pop("requiresApproval", None)
        return data


class Plan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    steps: list[PlanStep] = Field(max_length=MAX_PLAN_STEPS)
    parallelExecutionGroups: list[list[StepId]] = Field(
        default_factory=list, max_length=MAX_PLAN_STEPS
    )
    estimatedCompletionTime: str | None = None

    def by_id(self) -> dict[str, PlanStep]:
        return {s.id: s for s in self.steps}


class Reference(BaseModel):
    root: str  # "request" or a step id
    path: list[str]  # e.g. ["data", "customerId"] or ["output", "profile"]
    text: str


#: a list index in a reference's path: ASCII digits only (``'²'.isdigit()`` is true, and
#: ``int('²')`` raises)
_INDEX = re.compile(r"[0-9]{1,9}")


def follow_path(value: Any, parts: list[str]) -> tuple[Any, str | None]:
    """``value`` followed along ``parts`` (object keys, list indexes): (what is there, None),
    or (None, the first part that is not there)."""
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _INDEX.fullmatch(part) and int(part) < len(value):
            value = value[int(part)]
        else:
            return None, part
    return value, None


def _walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)


def references_in(value: Any) -> list[Reference]:
    found = []
    for text in _walk_strings(value):
        for match in REFERENCE.finditer(text):
            found.append(
                Reference(
                    root=match.group(1), path=match.group(2)[1:].split("."), text=match.group(0)
                )
            )
    return found


def execution_levels(steps: list[PlanStep]) -> list[list[str]]:
    """Kahn's levels over ``dependencies`` (display only; the engine runs each step ASAP).

    Steps left in a cycle or behind an unknown dependency are not placed; the validator reports
    them.
    """
    remaining = {s.id: set(s.dependencies) for s in steps}
    placed: set[str] = set()
    levels: list[list[str]] = []
    while remaining:
        ready = [sid for sid, deps in remaining.items() if deps <= placed]
        if not ready:
            break
        levels.append(ready)
        placed.update(ready)
        for sid in ready:
            del remaining[sid]
    return levels
