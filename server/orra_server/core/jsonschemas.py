"""Service schemas: accept JSON Schema, pydantic output or the seed README's ``fields`` list.

Everything is normalised to one JSON Schema object so the planner and validator read one shape.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import jsonschema.exceptions

from .errors import InvalidSchema

__all__ = [
    "ANY_OBJECT",
    "normalise_schema",
    "properties_of",
    "required_of",
    "validate_instance",
]

ANY_OBJECT: dict[str, Any] = {"type": "object"}

_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


def normalise_schema(schema: Any, *, where: str) -> dict[str, Any]:
    """Return a checked JSON Schema; ``where`` ("input"/"output") names the part in errors."""
    if schema is None:
        return dict(ANY_OBJECT)
    if not isinstance(schema, dict):
        raise InvalidSchema(
            f"schema.{where} must be a JSON object (a JSON Schema), got {type(schema).__name__}",
            param=f"schema.{where}",
        )
    schema = copy.deepcopy(schema)
    if "fields" in schema:
        schema = _from_fields(schema, where)
    try:
        validator_cls = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator
        )
        validator_cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        path = "/".join(str(p) for p in exc.path) or "(root)"
        raise InvalidSchema(
            f"schema.{where} is not valid JSON Schema at {path}: {exc.message}",
            param=f"schema.{where}",
        ) from None
    return schema


def _from_fields(schema: dict[str, Any], where: str) -> dict[str, Any]:
    """The seed README style: ``{"type": "object", "fields": [{"name": ..., "type": ...}]}``."""
    fields = schema.pop("fields")
    if not isinstance(fields, list):
        raise InvalidSchema(f"schema.{where}.fields must be a list", param=f"schema.{where}")
    properties: dict[str, Any] = {}
    for index, item in enumerate(fields):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidSchema(
                f"schema.{where}.fields[{index}] needs a string 'name'",
                param=f"schema.{where}.fields[{index}]",
            )
        spec = {k: v for k, v in item.items() if k != "name"}
        field_type = spec.get("type")
        types = field_type if isinstance(field_type, list) else [field_type]
        if field_type is not None and any(t not in _JSON_TYPES for t in types):
            raise InvalidSchema(
                f"schema.{where}.fields[{index}] ('{item['name']}') has unknown type "
                f"{field_type!r}; use one of {sorted(_JSON_TYPES)}",
                param=f"schema.{where}.fields[{index}].type",
            )
        properties[item["name"]] = spec
    schema.setdefault("type", "object")
    schema["properties"] = {**schema.get("properties", {}), **properties}
    return schema


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (pydantic puts nested models under ``$defs``)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 16:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node
        seen += 1
    return schema if isinstance(schema, dict) else {}


def properties_of(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Top-level properties (``$ref`` and ``allOf`` followed); empty when the schema is open."""
    top = _resolve(schema, schema)
    props: dict[str, dict[str, Any]] = {}
    for part in [top, *top.get("allOf", [])]:
        part = _resolve(part, schema)
        for name, spec in (part.get("properties") or {}).items():
            props[name] = _resolve(spec, schema) if isinstance(spec, dict) else {}
    return props


def required_of(schema: dict[str, Any]) -> list[str]:
    top = _resolve(schema, schema)
    required = list(top.get("required") or [])
    for part in top.get("allOf", []):
        required += list(_resolve(part, schema).get("required") or [])
    return list(dict.fromkeys(r for r in required if isinstance(r, str)))


def validate_instance(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Messages for each way ``instance`` breaks ``schema`` (empty when it fits)."""
    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator = validator_cls(schema)
    return [
        f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
