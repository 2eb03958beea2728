"""Events handed over together: handled in order, and kept in order from the first refused."""

from __future__ import annotations

import asyncio
import concurrent.futures

from sqlalchemy import exc

from bot.intake import Intake
from handlers.conversation import Handled
from handlers.events import Delivery, Inbound, Sent
from handlers.i18n import Translator


class Background:
    """A channel whose replies the sender sends; it keeps the notices sent straight."""

    name = "telegram"
    replies_in_background = True

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    async def send(self, delivery: Delivery) -> Sent:
        self.sent.append(delivery)
        return Sent("1")


async def _nothing() -> int:
    return 0


def event(number: int) -> Inbound:
    return Inbound("telegram", f"e{number}", "42", "42", f"message {number}")


async def test_a_batch_stops_at_the_first_refused_event_and_keeps_the_rest_in_order() -> None:
    handled: list[str] = []
    # The database refuses the batch's second event, and would take the third again: the
    # third must still wait behind the second.
    down = {"e2"}
    wakes: list[None] = []

    def handle(inbound: Inbound) -> Handled:
        if inbound.event_id in down:
            raise exc.OperationalError("UPDATE", {}, Exception("the server went away"))
        handled.append(inbound.event_id)
        return Handled()

    channel = Background()
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        intake = Intake(
            handle,
            worker,
            _nothing,
            {"telegram": channel},  # type: ignore[dict-item]
            Translator(["en"]),
            "en",
            clocks_changed=_nothing,
            wake_sender=lambda: wakes.append(None),
            retry_seconds=0.01,
        )
        intake.open()
        await intake.deliver_many([event(1), event(2), event(3)])
        assert handled == ["e1"]
        assert [e.event_id for e in intake.backlog] == ["e2", "e3"]
        assert len(wakes) == 1  # the handled event's replies go out
        assert len(channel.sent) == 1  # the sender is told once that its messages wait
        # A later batch waits behind the kept events, even with the database back meanwhile.
        await intake.deliver_many([event(4)])
        assert [e.event_id for e in intake.backlog] == ["e2", "e3", "e4"]
        down.clear()
        retrying = asyncio.create_task(intake.run())
        try:
            async with asyncio.timeout(10):
                while intake.backlog:
                    await asyncio.sleep(0.01)
        finally:
            retrying.cancel()
        assert handled == ["e1", "e2", "e3", "e4"]
        assert len(wakes) == 4


async def test_a_fault_in_one_event_does_not_stop_the_others_of_its_batch() -> None:
    handled: list[str] = []

    def handle(inbound: Inbound) -> Handled:
        if inbound.event_id == "e2":
            raise ValueError("a bug in the handling of this one event")
        handled.append(inbound.event_id)
        return Handled()

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        intake = Intake(
            handle,
            worker,
            _nothing,
            {"telegram": Background()},  # type: ignore[dict-item]
            Translator(["en"]),
            "en",
            clocks_changed=_nothing,
            wake_sender=lambda: None,
        )
        intake.open()
        await intake.deliver_many([event(1), event(2), event(3)])
    assert handled == ["e1", "e3"]
    assert not intake.backlog
