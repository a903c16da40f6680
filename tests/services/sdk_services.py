"""Test services written with ``orra_sdk``: ``python sdk_services.py URL KEY KIND``.

Kinds: ``text`` (``text-shouter`` and ``word-counter``), ``counter-only``, ``shouter-only``,
``schema`` (``greeter``), ``large`` (``text-repeater``), ``summarizer`` (``slow-summarizer``: a sync
handler that holds a worker thread ``BUSY_SECONDS`` per task), ``roomy`` (``roomy-echo``: 64
tasks at once, each held until a 17th is in hand; it answers the most it held at once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from service_models import ServiceAt, model, services_at

from orra_sdk import Service, Task

ShoutIn = model("ShoutIn", message=str)
ShoutOut = model("ShoutOut", shouted=str)
CountIn = model("CountIn", shouted=str)
CountOut = model("CountOut", words=int, pid=int)
RepeatIn = model("RepeatIn", text=str, times=int)
RepeatOut = model("RepeatOut", repeated=str)
EchoIn = model("EchoIn", text=str)
HeldEchoOut = model("HeldEchoOut", echo=str, most=int)
SummaryOut = model("SummaryOut", summary=str)


def text_services(service_at: ServiceAt) -> list[Service]:
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


def schema_services(service_at: ServiceAt) -> list[Service]:
    """Declared with JSON Schema dicts and a plain-dict handler: no pydantic in sight."""
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


def large_services(service_at: ServiceAt) -> list[Service]:
    """Answers as large as asked: ``text`` repeated ``times`` times (non-ASCII makes it big)."""
    repeater = service_at("text-repeater", description="Repeats a text many times")

    @repeater.handler
    def repeat(task: Task[RepeatIn]) -> RepeatOut:
        return RepeatOut(repeated=task.input.text * task.input.times)

    return [repeater]


def summarizer(service_at: ServiceAt) -> list[Service]:
    service = service_at("slow-summarizer", description="Summarizes a text slowly")

    @service.handler
    def summarize(text: EchoIn) -> SummaryOut:  # sync: runs in a worker thread
        time.sleep(float(os.environ["BUSY_SECONDS"]))
        return SummaryOut(summary="summary of " + text.text)

    return [service]


def roomy(service_at: ServiceAt) -> list[Service]:
    about = "Echoes text, slowly, many at once"
    service = service_at("roomy-echo", description=about, concurrency=64)
    held, most = 0, 0
    more_than_16 = asyncio.Event()

    @service.handler
    async def echo(task: EchoIn) -> HeldEchoOut:
        # every task is held until a 17th is in hand at once (or 20 s pass): the most this
        # instance ever held, returned with each result, shows whether the control plane capped it
        nonlocal held, most
        held += 1
        most = max(most, held)
        if held > 16:
            more_than_16.set()
        try:
            await asyncio.wait_for(more_than_16.wait(), 20)
        except TimeoutError:
            pass
        held -= 1
        return HeldEchoOut(echo=task.text, most=most)

    return [service]


def counter_only(service_at: ServiceAt) -> list[Service]:
    return text_services(service_at)[1:]


def shouter_only(service_at: ServiceAt) -> list[Service]:
    return text_services(service_at)[:1]


KINDS = {
    "text": text_services,
    "counter-only": counter_only,
    "shouter-only": shouter_only,
    "schema": schema_services,
    "large": large_services,
    "summarizer": summarizer,
    "roomy": roomy,
}


async def main(url: str, key: str, kind: str) -> None:
    services = KINDS.get(kind, text_services)(services_at(url, key))
    await asyncio.gather(*(s.run() for s in services))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(*sys.argv[1:4]))
