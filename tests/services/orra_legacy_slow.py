"""A service on the original ``orra-sdk`` 0.2.4 that holds each task inline, so that no pings
or ACKs are read meanwhile and the tasks behind it wait in its socket:
``python orra_legacy_slow.py URL KEY NAME SECONDS`` (echoes ``text`` after ``SECONDS``).
"""

from __future__ import annotations

import asyncio
import sys

from orra import OrraService, Task
from pydantic import BaseModel


class EchoIn(BaseModel):
    text: str


class EchoOut(BaseModel):
    echo: str


async def main(url: str, key: str, name: str, seconds: float) -> None:
    service = OrraService(name=name, description="Echoes text, slowly", url=url, api_key=key)

    @service.handler()
    async def echo(task: Task[EchoIn]) -> EchoOut:
        await asyncio.sleep(seconds)  # inline: nothing else is read from the socket meanwhile
        return EchoOut(echo=task.input.text)

    await service.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4], float(sys.argv[4])))
