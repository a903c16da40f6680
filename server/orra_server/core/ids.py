"""Identifiers, API keys and timestamps: small helpers every part of the control plane shares."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import string
from datetime import UTC, datetime

__all__ = [
    "API_KEY_PREFIX",
    "hash_api_key",
    "is_well_formed_api_key",
    "new_api_key",
    "new_id",
    "now",
    "to_iso",
]

API_KEY_PREFIX = "sk-orra-v1-"
_LOWER = string.ascii_lowercase
_LOWER_DIGITS = string.ascii_lowercase + string.digits


#: ids name things, they grant nothing (every call is authenticated by its API key), so a fast
#: PRNG seeded from the OS is enough; API keys and secrets use ``secrets``
_ids = random.Random(os.urandom(32))


def new_id(prefix: str, length: int = 16, *, letters_only: bool = False) -> str:
    """``s_`` ids are lowercase letters only, as the orra SDKs expect; others may use digits."""
    return prefix + "".join(_ids.choices(_LOWER if letters_only else _LOWER_DIGITS, k=length))


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_hex(32)


def is_well_formed_api_key(key: str) -> bool:
    if not key.startswith(API_KEY_PREFIX):
        return False
    rest = key[len(API_KEY_PREFIX) :]
    return len(rest) == 64 and all(c in string.hexdigits for c in rest)


def hash_api_key(key: str) -> str:
    """Keys are stored only as this hash; a 256-bit random key needs no slow KDF."""
    return hashlib.sha256(key.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
