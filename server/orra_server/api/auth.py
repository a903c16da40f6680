"""``Authorization: Bearer sk-orra-…`` → the project the key belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..core.errors import Unauthorized
from ..core.grammar import bearer_credential
from ..core.ids import API_KEY_PREFIX, hash_api_key, is_well_formed_api_key
from .runtime import runtime_of

__all__ = ["ProjectId", "project_id_from_key"]


def project_id_from_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer sk-orra-v1-…' "
            "(create one with POST /register/project or POST /apikeys)",
            code="missing_api_key",
        )
    key = bearer_credential(header)
    if not is_well_formed_api_key(key):
        raise Unauthorized(
            f"malformed API key: expected 'Authorization: Bearer {API_KEY_PREFIX}<64 hex digits>'",
            code="malformed_api_key",
        )
    project_id = runtime_of(request).project_for_key(key)
    if project_id is None:
        raise Unauthorized("unknown API key: it does not belong to any project on this server")
    request.state.key_hash = hash_api_key(key)  # a stream held open is ended when it is revoked
    return project_id


#: a route parameter: the project of the request's API key (401 without a valid one)
ProjectId = Annotated[str, Depends(project_id_from_key)]
