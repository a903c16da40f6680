"""Calling the service author's code: the task handler and the revert, and what comes back.

Separate from :mod:`.service` (the connection: registering, the socket, ACKs, reconnecting)
because this is what a task *means* to the handler: the argument it is given (``Task[Model]``,
``Model`` or a dict), its output checked and made plain JSON, its failure cut to a sane size.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from .errors import TaskAborted
from .task import Task
from .vocabulary import CompensationStatus

__all__ = ["HandlerCall", "handler_shape", "plain", "run_revert", "schema_of"]

log = logging.getLogger("orra_sdk")

#: an error's text in the service's own log, and as sent (the control plane keeps 10,000
#: characters of it): a handler's exception can carry megabytes (a response body, a dump)
LOGGED_ERROR_CHARS = 2_000
SENT_ERROR_CHARS = 10_000

Update = Callable[[Any], Awaitable[None]]


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def plain(value: Any) -> Any:
    """A handler's value as JSON-ready data: pydantic models dumped, the rest as it is."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    return value


def schema_of(model_or_schema: Any) -> dict[str, Any] | None:
    """The JSON Schema of a pydantic model, or the schema given as a dict."""
    if model_or_schema is None:
        return None
    if isinstance(model_or_schema, type) and issubclass(model_or_schema, pydantic.BaseModel):
        return model_or_schema.model_json_schema()
    if isinstance(model_or_schema, dict):
        return model_or_schema
    raise TypeError("schemas are pydantic models or JSON Schema dicts")


def handler_shape(func: Callable[..., Any]) -> tuple[bool, Any, Any]:
    """From ``func``'s annotations: whether it takes a ``Task``, its input model, its output
    model (None where not a pydantic model)."""
    hints = typing.get_type_hints(func)
    params = [p for p in inspect.signature(func).parameters if p in hints]
    arg = hints.get(params[0]) if params else None
    model = None
    wants_task = False
    if typing.get_origin(arg) is Task:
        wants_task = True
        (model,) = typing.get_args(arg) or (None,)
    elif arg is Task:
        wants_task = True
    elif isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
        model = arg
    returned = hints.get("return")
    return wants_task, model, returned


@dataclass
class HandlerCall:
    """One service's handler, as each task request calls it."""

    service_name: str
    handler: Callable[..., Any] | None
    wants_task: bool
    model: Any
    output_model: Any

    async def run(
        self,
        request: dict[str, Any],
        base: dict[str, Any],
        interim: Update,
        aborted: Update,
        revert_ttl_ms: int | None,
    ) -> dict[str, Any]:
        """The task's outcome (``result`` and ``error``, or ``aborted``); ``interim`` and
        ``aborted`` send the handler's updates. ``revert_ttl_ms``: compensation data's life
        when the service is revertible (None: it is not)."""
        raw = request.get("input") or {}
        model = self.model
        try:
            value = model.model_validate(raw) if model is not None else raw
        except pydantic.ValidationError as exc:
            return {"result": None, "error": f"Input validation failed: {exc.errors()[:3]}"}
        argument = (
            Task(
                input=value,
                id=base["taskId"],
                execution_id=base["executionId"] or "",
                idempotency_key=base["idempotencyKey"],
                _send_interim=interim,
            )
            if self.wants_task
            else value
        )
        assert self.handler is not None
        try:
            if inspect.iscoroutinefunction(self.handler):
                output = await self.handler(argument)
            else:
                output = await asyncio.to_thread(self.handler, argument)
            if self.output_model is not None and not isinstance(output, self.output_model):
                output = self.output_model.model_validate(output)  # a dict: check its shape
            output = plain(output)
        except TaskAborted as abort:
            await aborted(abort.payload)
            return {"aborted": True}
        except Exception as exc:
            text = str(exc)
            # one line by default, cut; the traceback with DEBUG on the "orra_sdk" logger
            log.warning(
                "%s: the handler failed on task %s: %s: %s",
                self.service_name,
                base["taskId"],
                type(exc).__name__,
                cut(text, LOGGED_ERROR_CHARS),
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return {"result": None, "error": f"Service error: {cut(text, SENT_ERROR_CHARS)}"}
        compensation = None
        if revert_ttl_ms is not None:
            compensation = {
                "data": {"originalTask": raw, "taskResult": output},
                "ttl": revert_ttl_ms,
            }
        return {"result": {"task": output, "compensation": compensation}, "error": None}


async def run_revert(revert: Callable[..., Any], request: dict[str, Any]) -> dict[str, Any]:
    """The answer to a compensation request: the revert's outcome, or the error it raised."""
    data = request.get("input") or {}
    try:
        args = (
            data.get("originalTask"),
            data.get("taskResult"),
            request.get("compensationContext"),
        )
        if inspect.iscoroutinefunction(revert):
            outcome = await revert(*args)
        else:
            outcome = await asyncio.to_thread(revert, *args)
        done = {"status": CompensationStatus.COMPLETED}
        result = plain(outcome) if outcome is not None else done
        return {"result": result, "error": None}
    except Exception as exc:
        return {"result": None, "error": f"Revert error: {exc}"}
