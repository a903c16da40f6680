"""Identifiers, API keys and timestamps: small helpers every part of the control plane shares."""

from __future__ import annotations

import hashlib
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


def new_id(prefix: str, length: int = 16, *, letters_only: bool = False) -> str:
    """``s_`` ids are lowercase letters only, as the orra SDKs expect; others may use digits."""
    alphabet = _LOWER if letters_only else _LOWER_DIGITS
    size = len(alphabet)
    # one urandom call per id; the modulo bias (256 % 26 or 36) is irrelevant for identifiers
    return prefix + "".join(alphabet[b % size] for b in secrets.token_bytes(length))


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
    if moment.tzinfo is None:  # the store keeps naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
