"""Running services from a script: until Ctrl-C, saying what they do.

``run_forever`` is a program's entry point (as ``uvicorn.run`` is), so it may set up what a
library otherwise leaves to the program: a log handler, when the program set up none.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import Service

__all__ = ["run_forever", "say_what_happens"]

log = logging.getLogger("orra_sdk")


def run_forever(*services: Service) -> None:
    """Serve ``services`` until Ctrl-C, then return without a traceback.

    A script that set up no logging still hears what its services do (registered, connected,
    cannot reach the control plane, retrying): the SDK logs to stderr at INFO then."""
    say_what_happens()

    async def serve() -> None:
        await asyncio.gather(*(service.run() for service in services))

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        log.info("stopped")


def say_what_happens() -> None:
    """Log the SDK's INFO lines to stderr unless the program configured logging itself.

    A library leaves logging to the program, but ``run_forever`` is the program's entry point
    (as ``uvicorn.run`` is): without this, a service that cannot connect says nothing at all."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s orra_sdk %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # logging configured later prints each line once, not twice
