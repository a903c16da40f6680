"""Test services written with ``orra_sdk``: ``python sdk_services.py URL KEY KIND``."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from functools import partial

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
    service_at = partial(Service, url=url, api_key=key)
    shouter = service_at(
        "text-shouter",
        description="Shouts text: converts a message to upper case",
    )
    counter = service_at(
        "word-counter",
        description="Counts the words of shouted text",
        concurrency=int(os.environ.get("COUNT_CONCURRENCY", "1")),
    )

    @shouter.handler
    def shout(task: Task[ShoutIn]) -> ShoutOut:  # sync: runs in a worker thread
        if task.input.message == "fail":
            raise ValueError("cannot shout 'fail'")
        return ShoutOut(shouted=task.input.message.upper())

    @counter.handler
    async def count(task: Task[CountIn]) -> CountOut:  # async, slow enough to overlap
        await asyncio.sleep(float(os.environ.get("COUNT_DELAY", "0.3")))
        return CountOut(words=len(task.input.shouted.split()), pid=os.getpid())

    return [shouter, counter]


def schema_services(url: str, key: str) -> list[Service]:
    """Declared with JSON Schema dicts and a plain-dict handler: no pydantic in sight."""
    service_at = partial(Service, url=url, api_key=key)
    greeter = service_at(
        "greeter",
        description="Greets a person by name",
        input={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        output={"type": "object", "properties": {"greeting": {"type": "string"}}},
    )

    @greeter.handler
    def greet(payload: dict) -> dict:
        return {"greeting": f"Hello, {payload['name']}!"}

    return [greeter]


class RepeatIn(BaseModel):
    text: str
    times: int


class RepeatOut(BaseModel):
    repeated: str


def large_services(url: str, key: str) -> list[Service]:
    """Answers as large as asked: ``text`` repeated ``times`` times (non-ASCII makes it big)."""
    service_at = partial(Service, url=url, api_key=key)
    repeater = service_at("text-repeater", description="Repeats a text many times")

    @repeater.handler
    def repeat(task: Task[RepeatIn]) -> RepeatOut:
        return RepeatOut(repeated=task.input.text * task.input.times)

    return [repeater]


async def main(url: str, key: str, kind: str) -> None:
    services = schema_services(url, key) if kind == "schema" else text_services(url, key)
    if kind == "large":
        services = large_services(url, key)
    if kind == "counter-only":
        services = services[1:]
    await asyncio.gather(*(s.run() for s in services))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(*sys.argv[1:4]))
