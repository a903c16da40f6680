"""Pydantic models for the test services, one line each.

The test services declare many tiny input/output models; written as classes they repeat the same
few lines over and over, so they are built here from ``name=type`` pairs (every field required),
which gives the same JSON Schema as the class statement would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, create_model

from orra_sdk import Service


def model(name: str, **fields: Any) -> type[BaseModel]:
    """A pydantic model called ``name`` whose fields are all required, of the types given."""
    return create_model(name, **{field: (kind, ...) for field, kind in fields.items()})


#: ``Service`` with the control plane's URL and the project's key already given
ServiceAt = Callable[..., Service]

#: the longest a test service waits between two attempts to reach the control plane (the SDK's
#: default, 30 s, would keep a restart test waiting for seconds after the server is back)
RECONNECT_AT_MOST = 1.0


def services_at(url: str, key: str) -> ServiceAt:
    """``Service`` for the control plane at ``url`` and the project of ``key``."""
    return partial(Service, url=url, api_key=key, max_backoff=RECONNECT_AT_MOST)
