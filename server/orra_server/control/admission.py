"""What every plan and every edited input passes before the engine sees it.

Four doors take a plan or a step's input from a caller: ``POST /orchestrations`` (a plan, run
or previewed with ``dryRun``), a re-run (its plan and edited inputs), and an approval with an
edited input. Each goes through the same bounds here — references counted in C, nesting — and
the same validators, run on a worker thread once the value is large enough to cost the event
loop more than a millisecond or so (a 10 MiB input takes seconds of jsonschema).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from ..core.errors import BadRequest
from ..core.jsonschemas import validate_instance
from ..core.limits import MAX_PLAN_REFERENCES, check_depth
from ..engine import Run
from ..planning import Plan, PlanError, PlanMaker, PlanningRequest
from ..settings import Settings

__all__ = ["admitted", "check_input", "check_plan", "count_references", "room_for_one_more"]

T = TypeVar("T")

#: a value whose JSON is larger than this is validated on a worker thread
_OFF_LOOP_BYTES = 32 * 1024


def count_references(*values: Any, where: str = "plan") -> int:
    """The ``{{…}}`` references in ``values`` together; past the limit, a 400 naming ``where``."""
    written = (orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS) for value in values)
    count = sum(text.count(b"{{") for text in written)
    if count > MAX_PLAN_REFERENCES:
        raise BadRequest(
            f"the {where} holds {count} references ({{{{…}}}}); at most {MAX_PLAN_REFERENCES} "
            "are allowed",
            code="too_many_references",
            param=where,
            details={"limit": MAX_PLAN_REFERENCES, "found": count},
        )
    return count


async def _run(work: Callable[[], T], *, off_loop: bool) -> T:
    """``work()``, on a worker thread when it may take long enough to stall the loop."""
    return await asyncio.to_thread(work) if off_loop else work()


async def check_plan(
    plan: Plan, request: PlanningRequest, *, extra_inputs: dict[str, Any] | None = None
) -> list[PlanError]:
    """The validator's errors for ``plan``; ``extra_inputs`` (step id → an edited input that
    replaces the step's) count against its limits as the plan will run them."""
    edits = extra_inputs or {}
    inputs = [edits.get(step.id, step.input) for step in plan.steps]
    references = count_references(*inputs, *(v for k, v in edits.items() if k not in plan.by_id()))
    large = references > 200 or len(plan.steps) > 20  # the seed's plans stay on the loop
    return await _run(lambda: PlanMaker.check(plan, request), off_loop=large)


async def check_input(
    value: dict[str, Any], schema: dict[str, Any], *, step_id: str, component: str, param: str
) -> None:
    """A 400 unless ``value`` fits ``schema`` (nesting and references bounded first)."""
    check_depth(value, param)
    size = len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    count_references(value, where=param)
    problems = await _run(lambda: validate_instance(value, schema), off_loop=size > _OFF_LOOP_BYTES)
    if problems:
        raise BadRequest(
            f"the edited input of {step_id} does not fit the input schema of "
            f"'{component}': {'; '.join(problems[:3])}",
            code="invalid_step_input",
            param=param,
            details=problems[:20],
        )


def _bounds(settings: Settings) -> dict[str, int]:
    return {"max_runs": settings.max_unfinished, "max_bytes": settings.max_unfinished_bytes}


def room_for_one_more(engine: Any, project_id: str) -> None:
    """A 429 ``too_many_unfinished`` now, before planning, when the project is already full."""
    engine.runs.check(project_id, 0, **_bounds(engine.settings))


def admitted(engine: Any, run: Run) -> contextlib.AbstractContextManager[None]:
    """Hold room for ``run`` while the block accepts it: a 429 ``too_many_unfinished`` when its
    project already holds as many unfinished runs, or bytes of their data, as it may."""
    return engine.runs.reserve(run, **_bounds(engine.settings))
