"""An action's data typed as words: ``field:value`` or ``field=value`` (text), and
``field:=JSON`` (as in httpie) for a number, boolean, object or list.

The CLI's ``-d`` options and the notebook's ``%orra run`` words are read here, once; each face
turns :class:`NotFieldValue` into its own usage error.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["NotFieldValue", "parse_fields"]


class NotFieldValue(ValueError):
    """A word that is not ``field:value``, ``field=value`` or ``field:=JSON``."""


def parse_fields(items: list[str] | None) -> dict[str, Any]:
    """The words as the action's data (the first ``:`` or ``=`` separates the field)."""
    data: dict[str, Any] = {}
    for item in items or []:
        sep = ":" if ":" in item and ("=" not in item or item.index(":") < item.index("=")) else "="
        field, found, value = item.partition(sep)
        if not found or not field.strip():
            raise NotFieldValue(
                f"malformed data {item!r}: it is not field:value or field=value "
                "(e.g. customerId:cust12345)"
            )
        if sep == ":" and value.startswith("="):
            try:
                data[field.strip()] = json.loads(value[1:])
            except ValueError:
                raise NotFieldValue(f"{item!r}: after ':=' comes JSON, e.g. amount:=99.5") from None
        else:
            data[field.strip()] = value
    return data
