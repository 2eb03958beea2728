"""Drive the console channel line by line, waiting until each line is fully handled."""

from __future__ import annotations

import asyncio
import io


class ScriptedLines:
    """An async line source for ConsoleChannel; ``say`` returns once the line is handled.

    The console reader asks for the next line only after it has delivered the previous one
    and the bot has flushed its replies, so "asking again" means "done".
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._said = 0
        self._requested = 0
        self._changed = asyncio.Condition()

    def __aiter__(self) -> ScriptedLines:
        return self

    async def __anext__(self) -> str:
        async with self._changed:
            self._requested += 1
            self._changed.notify_all()
        line = await self._queue.get()
        if line is None:
            raise StopAsyncIteration
        return line

    async def say(self, line: str, timeout: float = 60) -> None:
        self._said += 1
        await self._queue.put(line)
        async with self._changed:
            # The reader asks for line n+1 once line n is handled.
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self._requested > self._said), timeout
            )

    async def close(self) -> None:
        await self._queue.put(None)


class Transcript(io.StringIO):
    """Console output that remembers how much the test has already read."""

    def __init__(self) -> None:
        super().__init__()
        self._read = 0

    def new(self) -> str:
        text = self.getvalue()[self._read :]
        self._read = len(self.getvalue())
        return text
