"""A grounding spec's document, JSON or YAML: read within bounds, parsed off the event loop.

PyYAML's pure-Python loader took 41 s over a 9.5 MiB YAML, on the event loop, and a few lines
of nested aliases ("billion laughs") expand to gigabytes. So a document is at most
:data:`~..limits.MAX_GROUNDING_BYTES` (413 ``grounding_too_large``), and a YAML one is first
walked as libyaml's events (C): an alias is refused, nesting and the number of values are
bounded — before any object is built. Then libyaml's ``CSafeLoader`` builds it. The caller runs
:func:`parse` in a worker thread.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ..core.errors import BadRequest, PayloadTooLarge
from ..core.limits import (
    MAX_GROUNDING_BYTES,
    MAX_GROUNDING_NODES,
    MAX_JSON_DEPTH,
    check_depth,
    too_deep,
)

__all__ = ["GroundingTooLarge", "check_size", "parse"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class GroundingTooLarge(PayloadTooLarge):
    code = "grounding_too_large"


def check_size(size: int) -> None:
    if size > MAX_GROUNDING_BYTES:
        raise GroundingTooLarge(
            f"the grounding spec is {size} bytes; at most {MAX_GROUNDING_BYTES} (1 MiB) are "
            "allowed: split it into several specs",
            details={"limit": MAX_GROUNDING_BYTES},
        )


def _too_many() -> GroundingTooLarge:
    return GroundingTooLarge(
        f"the grounding spec holds more than {MAX_GROUNDING_NODES} values; split it into "
        "several specs",
        details={"limit": MAX_GROUNDING_NODES},
    )


def _invalid_yaml(exc: Exception) -> BadRequest:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)[:200] or "cannot be parsed"
    return BadRequest(f"the body is not valid YAML{where}: {problem}", code="invalid_grounding")


def _walk(text: str) -> None:
    """Refuse aliases, too deep a nesting, too many values: from the events alone."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise BadRequest(
                f"the body is not valid YAML at line {mark.line + 1}, column {mark.column + 1}: "
                "aliases (*name) are not allowed in grounding specs",
                code="invalid_grounding",
            )
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise too_deep("the spec")
        elif isinstance(event, _CLOSES):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_GROUNDING_NODES:
                raise _too_many()


def _yaml(text: str) -> Any:
    try:
        _walk(text)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        if "nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1000)
            raise too_deep("the spec") from None
        raise _invalid_yaml(exc) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tag's value its type refuses
        raise _invalid_yaml(exc) from None


def _json(text: str) -> Any:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            code="invalid_grounding",
        ) from None
    _refuse_lone_surrogates(document)
    return document


def _refuse_lone_surrogates(document: Any) -> None:
    """``json.loads`` turns an escaped lone surrogate (``"\\ud800"``) into text no UTF-8
    encoder (orjson, DuckDB, the answer) can write; the body is refused here instead. One
    pass of the C encoder, in the worker thread like the parse."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise BadRequest(
            f"the body holds a lone UTF-16 surrogate ({bad}); JSON text must be valid "
            "Unicode: send the character itself or a complete surrogate pair",
            code="invalid_grounding",
        ) from None


def parse(raw: bytes, content_type: str) -> Any:
    """The document in ``raw`` (JSON or YAML), bounded in size and nesting (and a YAML one in
    values); a large one takes a while (≈ 0.3 s a MiB): call it in a worker thread."""
    check_size(len(raw))
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        raise BadRequest(
            "send a grounding spec as JSON or YAML in the body", code="invalid_grounding"
        )
    as_json = "json" in content_type or (text.startswith("{") and "yaml" not in content_type)
    try:
        document = _json(text) if as_json else _yaml(text)
    except RecursionError:
        raise too_deep("the spec") from None
    return check_depth(document, "the spec")
