"""The offline planner's index of a catalog, built once per catalog rather than at every plan.

A project plans many actions against the same services; building their :class:`ServiceIndex`
(every description stemmed, weighed and read for its acts) was most of a plan's time at 200
services. The index is a pure function of the services' names, descriptions and schemas, so it
is kept by exactly those: a registration that changes any of them is a new catalog. At most
:data:`KEPT` catalogs are kept (the least recently planned go first), so memory stays bounded
whatever projects and registrations there are; each replica keeps its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import orjson

from .relevance import ServiceIndex
from .service import PlannedService

__all__ = ["KEPT", "index_for"]

#: how many catalogs' indexes are kept
KEPT = 32

_kept: OrderedDict[tuple, ServiceIndex] = OrderedDict()
_lock = threading.Lock()  # plans run in worker threads
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def index_for(services: Sequence[PlannedService]) -> ServiceIndex:
    """The index of ``services``: the one built for the same catalog before, or a new one."""
    try:
        key = tuple(
            (
                service.name,
                service.description or "",
                orjson.dumps(service.input_schema, option=_SORTED),
                orjson.dumps(service.output_schema, option=_SORTED),
            )
            for service in services
        )
    except TypeError:  # a schema JSON cannot hold (a hand-built one): not kept
        return ServiceIndex(list(services))
    with _lock:
        if (index := _kept.get(key)) is not None:
            _kept.move_to_end(key)
            return index
    index = ServiceIndex(list(services))  # built outside the lock: another plan may build it too
    with _lock:
        _kept[key] = index
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return index
