"""Resolving ``{{...}}`` references in a step's input against the request and recorded outputs."""

from __future__ import annotations

import json
from typing import Any

from ..planning.plan import REFERENCE, follow_path

__all__ = ["UnresolvedReference", "resolve_input"]


class UnresolvedReference(Exception):
    pass


def _lookup(root: str, path: list[str], request: dict[str, Any], outputs: dict[str, Any]) -> Any:
    if root == "request":
        if path[0] == "action":
            node: Any = request["action"]
            rest = path[1:]
        elif path[0] == "data":
            node = request["data"]
            rest = path[1:]
        else:
            raise UnresolvedReference(f"request.{'.'.join(path)}")
    else:
        if root not in outputs:
            raise UnresolvedReference(f"{root} has no recorded output")
        node = outputs[root]
        rest = path[1:] if path and path[0] == "output" else path
    found, missing = follow_path(node, rest)
    if missing is not None:
        raise UnresolvedReference(f"{root}.{'.'.join(path)}: no '{missing}'")
    return found


def _resolve_value(value: Any, request: dict[str, Any], outputs: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return _lookup(whole.group(1), whole.group(2)[1:].split("."), request, outputs)

        def substitute(match) -> str:
            found = _lookup(match.group(1), match.group(2)[1:].split("."), request, outputs)
            return found if isinstance(found, str) else json.dumps(found)

        return REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: _resolve_value(v, request, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_value(v, request, outputs) for v in value]
    return value


def resolve_input(
    template: dict[str, Any], request: dict[str, Any], outputs: dict[str, Any]
) -> dict[str, Any]:
    """``request``: ``{"action": {...}, "data": {field: value}}``; ``outputs``: step id → output."""
    return _resolve_value(template, request, outputs)
