"""Service names: the control plane's RFC 1123 rules and wording, in one place.

The SDK refuses a bad name when the service is constructed (not deep in the event loop once it
connects); the control plane refuses it at registration with the same message; the studio
checks it as a person types. The TypeScript SDK's ``names.ts`` says the same.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME", "name_problem", "suggest_name"]

MAX_NAME = 253
_ALLOWED = re.compile(r"[a-z0-9.\-]")


def suggest_name(name: str) -> str | None:
    """A name that passes every rule and looks like ``name``, or None.

    ``My Echo Service`` → ``my-echo-service``: lowercase, every run of other characters a
    single ``-``, no ``-`` or ``.`` at either end.
    """
    lowered = re.sub(r"[^a-z0-9.]+", "-", name.lower())
    lowered = re.sub(r"[-.]*\.[-.]*", ".", lowered).strip("-.")[:MAX_NAME].strip("-.")
    return lowered or None


def name_problem(name: object) -> str | None:
    """What is wrong with ``name`` as a service name (RFC 1123 DNS subdomain), naming the rule
    that was broken and a name that would do; None when it is a good name."""
    if not isinstance(name, str) or not name:
        return "name must not be empty (RFC 1123)"
    if len(name) > MAX_NAME:
        return f"name is {len(name)} characters; RFC 1123 allows at most {MAX_NAME}"
    hint = suggest_name(name)
    tail = f" — try '{hint}'" if hint else ""
    bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return (
            "name may contain only lowercase letters, digits, '-' or '.' (RFC 1123); "
            f"found {shown}{tail}"
        )
    if not name[0].isalnum():
        return "name must start with a lowercase letter or digit (RFC 1123)" + tail
    if not name[-1].isalnum():
        return "name must end with a lowercase letter or digit (RFC 1123)" + tail
    return None
