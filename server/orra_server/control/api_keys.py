"""API keys: add, list, revoke and rotate a project's keys. Revoking (or rotating) refuses the
old key at once, ends the event streams it opened and closes its service sockets (4001)."""

from __future__ import annotations

from typing import Any

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import hash_api_key, new_api_key, now, to_iso
from ..core.limits import MAX_API_KEYS
from ..store import StoredApiKey
from .runtime import Runtime

__all__ = ["add_api_key", "key_id", "list_api_keys", "revoke_api_key", "rotate_api_key"]


async def add_api_key(runtime: Runtime, project_id: str, name: str | None) -> dict[str, Any]:
    if len(runtime.store.api_keys_of(project_id)) >= MAX_API_KEYS:
        raise BadRequest(
            f"this project already has {MAX_API_KEYS} API keys, the most it may have; revoke "
            "one first (DELETE /apikeys/{id}) or rotate it (POST /apikeys/{id}/rotate)",
            code="too_many_api_keys",
            details={"limit": MAX_API_KEYS},
        )
    key = new_api_key()
    name = name or "unnamed"
    await runtime.store.add_api_key(project_id, hash_api_key(key), name, at=now())
    runtime.key_hashes[hash_api_key(key)] = project_id
    return {"apiKey": key, "name": name}


def list_api_keys(runtime: Runtime, project_id: str) -> list[dict[str, Any]]:
    """The project's keys by name (the keys themselves are only shown when created)."""
    rows = runtime.store.api_keys_of(project_id)
    return [
        {"id": key_id(r.key_hash), "name": r.name, "createdAt": to_iso(r.created_at)} for r in rows
    ]


def key_id(key_hash: str) -> str:
    """A key's public name: a prefix of its hash, which says nothing about the key."""
    return "k_" + key_hash[:16]


def _find_key(runtime: Runtime, project_id: str, ref: str) -> StoredApiKey:
    rows = runtime.store.api_keys_of(project_id)
    matches = [r for r in rows if key_id(r.key_hash) == ref] or [r for r in rows if r.name == ref]
    if not matches:
        raise NotFound(
            f"no API key {ref!r} in this project; 'GET /apikeys' lists their ids and names",
            code="api_key_not_found",
        )
    if len(matches) > 1:
        raise Conflict(
            f"{len(matches)} keys are named {ref!r}; name one by its id: "
            + ", ".join(key_id(r.key_hash) for r in matches),
            code="ambiguous_api_key",
        )
    return matches[0]


async def _revoke(runtime: Runtime, row: StoredApiKey) -> int:
    """Delete the key, forget it at once, and disconnect the services that use it."""
    await runtime.store.revoke_api_key(row.key_hash)
    return runtime.forget_key(row.key_hash)


async def revoke_api_key(runtime: Runtime, project_id: str, ref: str) -> dict[str, Any]:
    """Revoke a key by id or name; never the project's last one (rotate that instead)."""
    row = _find_key(runtime, project_id, ref)
    if len(runtime.store.api_keys_of(project_id)) == 1:
        raise Conflict(
            "this is the project's last API key; revoking it would lock the project out. "
            f"Rotate it instead (POST /apikeys/{ref}/rotate)",
            code="last_api_key",
        )
    await runtime.store.revoke_api_key(row.key_hash)
    disconnected = runtime.forget_key(row.key_hash)
    return {
        "id": key_id(row.key_hash),
        "name": row.name,
        "revoked": True,
        "disconnectedServices": disconnected,
    }


async def rotate_api_key(runtime: Runtime, project_id: str, ref: str) -> dict[str, Any]:
    """A new key with the same name; the old one is revoked in the same step."""
    row = _find_key(runtime, project_id, ref)
    key = new_api_key()
    new_hash = hash_api_key(key)
    await runtime.store.rotate_api_key(project_id, row.key_hash, new_hash, row.name, at=now())
    runtime.key_hashes[new_hash] = project_id
    disconnected = runtime.forget_key(row.key_hash)
    return {
        "apiKey": key,
        "id": key_id(new_hash),
        "name": row.name,
        "revoked": key_id(row.key_hash),
        "disconnectedServices": disconnected,
    }
