"""Start the real Application on the console channel with scripted input and a moved clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.app import Application
from bot.channels.console import ConsoleChannel
from ground.clock import FixedClock
from ground.config import Config
from tests.conftest import START
from tests.fakes.console import ScriptedLines, Transcript
from tests.fakes.embedder import MemoEmbedder


class ConsoleSession:
    """A running bot and the terminal talking to it."""

    def __init__(self, app: Application, lines: ScriptedLines, out: Transcript) -> None:
        self.app = app
        self.lines = lines
        self.out = out
        self.clock: FixedClock = app.clock  # type: ignore[assignment]

    async def say(self, line: str) -> str:
        """Type a line; return everything printed in answer to it."""
        await self.lines.say(line)
        return self.out.new()


@contextlib.asynccontextmanager
async def console_bot(
    config: Config,
    embedder: MemoEmbedder,
    *,
    clock: FixedClock | None = None,
    console_type: type[ConsoleChannel] = ConsoleChannel,
) -> AsyncIterator[ConsoleSession]:
    """The bot on the console channel (at START unless a clock is given); stopped at the end."""
    lines, out = ScriptedLines(), Transcript()
    staff = {
        person.identities["console"]: person.name
        for person in (*config.experts, *config.coordinators)
        if "console" in person.identities
    }
    console = console_type(lines, out, staff)
    app = Application(config, [console], clock=clock or FixedClock(START), embedder=embedder)
    await app.start()
    out.new()
    try:
        yield ConsoleSession(app, lines, out)
    finally:
        await lines.close()
        await app.stop()
