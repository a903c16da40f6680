"""The explicit grammars of identifiers and numbers that arrive as text.

Python's ``str.isdigit()`` and regex ``\\d``/``\\w`` accept far more than ASCII: ``'²'``,
``'٣'`` and ``'①'`` are digits to them, and ``int('²')`` then raises. Text that a client sends
is therefore matched against the ASCII grammars below before anything is computed from it,
and a mismatch is a 4xx that names the field (docs/security.md, "Grammars").
"""

from __future__ import annotations

import re

from .errors import BadRequest

__all__ = [
    "STEP_ID",
    "STEP_ID_RULE",
    "bearer_credential",
    "decimal",
    "is_step_id",
    "parse_decimal",
]

#: a plan step's id: an ASCII letter or ``_``, then up to 63 ASCII letters, digits, ``_`` or
#: ``-`` (``step1``, ``fetch_customer``). References name steps by it (``{{step1.output.x}}``).
STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
STEP_ID_RULE = (
    "an ASCII letter or '_' followed by at most 63 ASCII letters, digits, '_' or '-' (e.g. 'step1')"
)
#: a non-negative decimal integer written with ASCII digits only
_DECIMAL = re.compile(r"[0-9]{1,19}")


def is_step_id(text: object) -> bool:
    """Whether ``text`` is a string in the step-id grammar."""
    return isinstance(text, str) and STEP_ID.fullmatch(text) is not None


def decimal(text: str, low: int = 0, high: int = 2**62) -> int | None:
    """``text`` (spaces and tabs around it allowed) as an int in ``[low, high]`` when it is
    written with the ASCII digits 0-9 only; else None."""
    stripped = text.strip(" \t")
    if _DECIMAL.fullmatch(stripped) is None or not low <= int(stripped) <= high:
        return None
    return int(stripped)


def parse_decimal(
    text: str,
    *,
    field: str,
    low: int = 0,
    high: int = 2**62,
    code: str = "invalid_number",
    error: type[BadRequest] = BadRequest,
) -> int:
    """``text`` as an int in ``[low, high]``, or ``error`` naming ``field`` and the grammar."""
    number = decimal(text, low, high)
    if number is None:
        shown = text[:40].encode("unicode_escape").decode("ascii")
        raise error(
            f"{field} must be a whole number from {low} to {high} written with the ASCII "
            f"digits 0-9; got '{shown}'",
            code=code,
            param=field,
        )
    return number


def bearer_credential(header: str | None) -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header (the scheme in any
    case, spaces around the credential dropped), or ``""`` for any other header or none: the
    API key, the admin token and a socket's key are all read by this one rule."""
    scheme, _, credential = (header or "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""
