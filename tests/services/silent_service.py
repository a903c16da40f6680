"""A service that takes tasks and never answers, over a raw websocket.

``python silent_service.py WS_URL TASK_LOG``: connects to ``WS_URL`` (a registered service's
address, key in the query), notes the idempotency key of every ``task_request`` it receives in
``TASK_LOG`` (a line each, written before anything else happens) and reconnects whenever the
socket drops, so the tests can count how often a control plane that keeps crashing sends it
the same task.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import websockets


async def main(url: str, log: Path) -> None:
    while True:
        try:
            async with websockets.connect(url, open_timeout=2) as ws:
                async for raw in ws:
                    message = json.loads(raw)
                    payload = message.get("payload", message)
                    if isinstance(payload, dict) and payload.get("type") == "task_request":
                        with log.open("a") as out:
                            out.write(f"{payload.get('idempotencyKey')}\n")
        except (TimeoutError, OSError, websockets.WebSocketException):
            pass
        await asyncio.sleep(0.1)  # the control plane is down: try again shortly


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
