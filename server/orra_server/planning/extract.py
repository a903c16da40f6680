"""Getting a JSON object out of what a model wrote.

Endpoints without structured output answer in prose: reasoning models put their thinking in
``<think>…</think>`` first, most models wrap the JSON in a fenced block, some add a sentence
after it. We keep the reasoning (it is part of the plan's trace) and parse the first JSON object.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["NoJSONFound", "extract_json", "split_reasoning"]

_THINK = re.compile(r"<(think|thinking|reasoning)>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
#: a reasoning block whose closing tag was cut off (the model ran out of tokens mid-thought)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>(.*)$", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|jsonc)?[ \t]*\n(.*?)```", re.DOTALL)


class NoJSONFound(ValueError):
    """The answer holds no JSON object we can read; the message says what was seen."""


def split_reasoning(text: str) -> tuple[str, str]:
    """``(answer, reasoning)``: the ``<think>`` blocks taken out of ``text``."""
    thoughts = [m.group(2).strip() for m in _THINK.finditer(text)]
    answer = _THINK.sub("", text)
    dangling = _THINK_OPEN.search(answer)
    if dangling:
        thoughts.append(dangling.group(2).strip())
        answer = answer[: dangling.start()]
    return answer.strip(), "\n\n".join(t for t in thoughts if t)


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``: a fenced block first, then the first ``{…}`` span."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    candidates.append(text)
    for candidate in candidates:
        found = _first_object(candidate)
        if found is not None:
            return found
    shown = text.strip().replace("\n", " ")
    shown = shown[:160] + ("…" if len(shown) > 160 else "")
    raise NoJSONFound(f"the answer holds no JSON object: {shown!r}" if shown else "empty answer")


def _first_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None
