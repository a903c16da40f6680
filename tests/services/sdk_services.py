"""Test services written with ``orra_sdk``: ``python sdk_services.py URL KEY KIND``."""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import BaseModel

from orra_sdk import Service, Task


class ShoutIn(BaseModel):
    message: str


class ShoutOut(BaseModel):
    shouted: str


class CountIn(BaseModel):
    shouted: str


class CountOut(BaseModel):
    words: int
    pid: int


def text_services(url: str, key: str) -> list[Service]:
    shouter = Service(
        "text-shouter",
        description="Shouts text: converts a message to upper case",
        url=url,
        api_key=key,
    )
    counter = Service(
        "word-counter",
        description="Counts the words of shouted text",
        url=url,
        api_key=key,
        concurrency=1,
    )

    @shouter.handler
    def shout(task: Task[ShoutIn]) -> ShoutOut:  # sync: runs in a worker thread
        if task.input.message == "fail":
            raise ValueError("cannot shout 'fail'")
        return ShoutOut(shouted=task.input.message.upper())

    @counter.handler
    async def count(task: Task[CountIn]) -> CountOut:  # async, slow enough to overlap
        await asyncio.sleep(0.3)
        return CountOut(words=len(task.input.shouted.split()), pid=os.getpid())

    return [shouter, counter]


async def main(url: str, key: str, kind: str) -> None:
    services = text_services(url, key)
    if kind == "counter-only":
        services = services[1:]
    await asyncio.gather(*(s.run() for s in services))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
