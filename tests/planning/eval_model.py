"""What an eval case and a catalog's service look like (shared by the catalog modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "service", "services_from"]


def service(
    name: str,
    description: str,
    inputs: dict[str, str],
    outputs: dict[str, str],
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "schema": {
            "input": {
                "type": "object",
                "properties": {k: {"type": t} for k, t in inputs.items()},
                "required": [k for k in inputs if k not in optional],
            },
            "output": {
                "type": "object",
                "properties": {k: {"type": t} for k, t in outputs.items()},
            },
        },
    }


def services_from(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """A catalog's registrations from its rows in a TOML table (catalogs.toml):
    [name, description, {input: type}, {output: type}, optional inputs (if any)]."""
    return [
        service(name, about, inputs, outputs, tuple(*optional))
        for name, about, inputs, outputs, *optional in rows
    ]


@dataclass(frozen=True)
class Case:
    catalog: str
    type: str
    content: str
    data: dict[str, Any]
    must_use: frozenset[str]
    avoid: frozenset[str] = field(default_factory=frozenset)
    #: the plan must use exactly ``must_use``, nothing more
    exact: bool = False
    #: no plan should be made: nothing in the catalog serves the action
    refuse: bool = False

    def request(self) -> dict[str, Any]:
        return {
            "action": {"type": self.type, "content": self.content},
            "data": [{"field": k, "value": v} for k, v in self.data.items()],
        }
