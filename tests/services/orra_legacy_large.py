"""A service on the original ``orra-sdk`` 0.2.4 whose answers are as large as asked.

That SDK writes frames with ``json.dumps``, which escapes each non-ASCII character to six
bytes: ``python orra_legacy_large.py URL KEY``.
"""

from __future__ import annotations

import asyncio
import sys

from orra import OrraService, Task
from pydantic import BaseModel


class RepeatIn(BaseModel):
    text: str
    times: int


class RepeatOut(BaseModel):
    repeated: str


async def main(url: str, key: str) -> None:
    repeater = OrraService(
        name="text-repeater", url=url, api_key=key, description="Repeats a text many times"
    )

    @repeater.handler()
    async def repeat(task: Task[RepeatIn]) -> RepeatOut:
        return RepeatOut(repeated=task.input.text * task.input.times)

    await repeater.start()
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
