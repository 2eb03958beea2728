"""The straight-to-channel "your message waits" notice: ids distinct across runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from bot.intake import Intake
from handlers.events import Delivery, Inbound
from handlers.i18n import Translator


class Recorder:
    """A channel that keeps what it is given to send (the notice's id is what is checked)."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery)


async def _nothing() -> Any:
    return 0


def notice_ids(senders: int) -> list[int]:
    """The outbox ids of the notices one run of the intake sends to ``senders`` people."""
    channel = Recorder()
    intake = Intake(
        handle=lambda event: None,  # type: ignore[arg-type, return-value]
        worker=None,  # type: ignore[arg-type]
        flush=_nothing,
        channels={"matrix": channel},  # type: ignore[dict-item]
        texts=Translator(["fr"]),
        default_language="en",
        clocks_changed=_nothing,
        wake_sender=lambda: None,
    )
    for n in range(senders):
        event = Inbound("matrix", f"$e{n}", f"@p{n}:hs", f"!dm{n}:hs", "Bonjour")
        asyncio.run(intake._tell_delayed(event))
    return [delivery.outbox_id for delivery in channel.sent]


def test_a_restarted_bot_never_reuses_a_notice_id() -> None:
    # Matrix keys its transaction ids on these ids and keeps its id prefix across restarts:
    # an id reused by the next process would be taken as a resend and the notice dropped.
    run = [
        sys.executable,
        "-c",
        "from tests.bot.test_intake_notices import notice_ids as n; print(*n(2))",
    ]
    ids = [
        int(i)
        for _ in range(2)
        for i in subprocess.check_output(run, text=True, timeout=120).split()
    ]
    assert len(ids) == 4 and len(set(ids)) == 4 and all(i < 0 for i in ids), ids
