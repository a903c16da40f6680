"""Domain grounding, as the original orra has it: use cases that steer planning.

A grounding spec names the actions a project expects (``"Process refund for order {orderId}"``),
what each is for (its intent), the capabilities a plan for it must use, and the domain's
constraints. The use case that matches an action is handed to the planners, and the validator
checks that the plan covers its capabilities. Matching is deterministic text similarity, so no
embeddings service is needed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .service import PlannedService
from .text import coverage, tokens

__all__ = [
    "CAPABILITY_THRESHOLD",
    "GroundingMatch",
    "GroundingSpec",
    "UseCase",
    "best_service_for",
    "match_use_case",
]

#: a use case matches an action when its words score at least this (see ``match_use_case``)
MATCH_THRESHOLD = 0.6
#: a service provides a capability when it has at least this share of the capability's words
CAPABILITY_THRESHOLD = 0.5
_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")
_VARIABLE = re.compile(r"\{([^{}]+)\}")


def _check_name(value: str, what: str) -> str:
    if not 3 <= len(value) <= 63 or not _NAME.match(value):
        raise ValueError(
            f"{what} must be 3–63 characters of lowercase letters, digits, '-' or '.', starting "
            f"and ending with a letter or digit (got {value!r})"
        )
    return value


def _none_blank(texts: list[str], what: str) -> list[str]:
    """``texts`` unchanged, if none of them is blank; else the first blank one, by position."""
    for i, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"{what} {i} is blank")
    return texts


class UseCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=500)
    params: dict[str, Any] = Field(default_factory=dict)
    capabilities: list[str] = Field(min_length=1, max_length=50)
    intent: str = Field(min_length=1, max_length=1000)

    @field_validator("capabilities")
    @classmethod
    def _capabilities_not_blank(cls, value: list[str]) -> list[str]:
        return _none_blank(value, "capability")

    @model_validator(mode="after")
    def _params_name_every_variable(self) -> UseCase:
        missing = [v for v in _VARIABLE.findall(self.action) if v not in self.params]
        if missing:
            raise ValueError(
                f"action {self.action!r} uses {{{', '.join(missing)}}}; give an example value for "
                "each under params"
            )
        return self

    def variables(self) -> list[str]:
        return _VARIABLE.findall(self.action)


class GroundingSpec(BaseModel):
    """What ``POST /groundings`` takes, as JSON or YAML (``use-cases`` or ``useCases``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    domain: str
    version: str = Field(min_length=1, max_length=64)
    use_cases: list[UseCase] = Field(alias="useCases", min_length=1, max_length=200)
    constraints: list[str] = Field(default_factory=list, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _accept_spellings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for spelling in ("use-cases", "use_cases"):
                if spelling in data and "useCases" not in data:
                    data["useCases"] = data.pop(spelling)
            if isinstance(data.get("version"), int | float):
                data["version"] = str(data["version"])
        return data

    @field_validator("name")
    @classmethod
    def _name_rules(cls, value: str) -> str:
        return _check_name(value, "name")

    @field_validator("domain")
    @classmethod
    def _domain_rules(cls, value: str) -> str:
        return _check_name(value, "domain")

    @field_validator("constraints")
    @classmethod
    def _constraints_not_blank(cls, value: list[str]) -> list[str]:
        return _none_blank(value, "constraint")

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def fingerprint(self) -> str:
        text = json.dumps(self.body(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(slots=True)
class GroundingMatch:
    """The use case an action was matched to, with the values its ``{variables}`` took."""

    spec: str
    version: str
    domain: str
    use_case: UseCase
    score: float
    params: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "version": self.version,
            "domain": self.domain,
            "useCase": self.use_case.action,
            "intent": self.use_case.intent,
            "capabilities": list(self.use_case.capabilities),
            "constraints": list(self.constraints),
            "params": dict(self.params),
            "score": round(self.score, 3),
        }

    def key(self) -> tuple[str, str, str]:
        return (self.spec, self.version, self.use_case.action)


def _pattern(action: str) -> re.Pattern[str]:
    parts = _VARIABLE.split(action.strip().rstrip(".?!"))
    regex = []
    for i, part in enumerate(parts):
        if i % 2:
            regex.append(f"(?P<{_group(part)}>.+?)")
        else:
            regex.append(r"\s+".join(re.escape(w) for w in part.split()) if part.strip() else "")
            if part[:1].isspace() and regex[-1]:
                regex[-1] = r"\s*" + regex[-1]
            if part[-1:].isspace() and regex[-1]:
                regex[-1] += r"\s*"
    return re.compile("".join(regex), re.IGNORECASE)


def _group(variable: str) -> str:
    return "v_" + re.sub(r"\W", "_", variable)


def match_use_case(
    specs: list[GroundingSpec],
    action_type: str,
    content: str,
    *,
    threshold: float = MATCH_THRESHOLD,
) -> GroundingMatch | None:
    """The use case that best matches the action, or None below ``threshold`` (a person who
    picked one spec passes 0: its best use case, however weak the match).

    An action that fits a use case's pattern (``{orderId}`` standing for any words) scores 1.
    Otherwise the score is the larger of the share of the pattern's words and the share of the
    intent's words found in the action. Ties go to the spec and use case listed first.
    """
    words = tokens(f"{action_type} {content}")
    text = content.strip().rstrip(".?!")
    best: GroundingMatch | None = None
    for spec in specs:
        for use_case in spec.use_cases:
            params: dict[str, str] = {}
            found = _pattern(use_case.action).fullmatch(text)
            if found:
                score = 1.0
                params = {v: found.group(_group(v)) for v in use_case.variables()}
            else:
                pattern_words = tokens(_VARIABLE.sub(" ", use_case.action))
                score = max(
                    coverage(pattern_words, words), coverage(tokens(use_case.intent), words)
                )
            if score >= threshold and (best is None or score > best.score):
                best = GroundingMatch(
                    spec=spec.name,
                    version=spec.version,
                    domain=spec.domain,
                    constraints=list(spec.constraints),
                    use_case=use_case,
                    score=score,
                    params=params,
                )
    return best


#: a service of the caller's own type: what it passes in, it gets back
_Service = TypeVar("_Service", bound=PlannedService)


def service_words(service: PlannedService) -> set[str]:
    return tokens(service.name) | tokens(service.description or "")


def best_service_for(
    capability: str, services: Iterable[_Service]
) -> tuple[_Service | None, float]:
    """The service whose name and description cover most of the capability's words."""
    wanted = tokens(capability)
    best: tuple[_Service | None, float] = (None, 0.0)
    for service in sorted(services, key=lambda s: s.name):
        score = coverage(wanted, service_words(service))
        if score > best[1]:
            best = (service, score)
    if best[1] < CAPABILITY_THRESHOLD:
        return None, best[1]
    return best
