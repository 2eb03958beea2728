"""What the channel adapters share: files named with the formatting kept, capped memory, retries."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.channels.common import Backoff, Recent, Transient, name_files, retry
from bot.channels.matrix import MatrixChannel
from handlers.events import Attachment, Delivery, Inbound, Span
from tests.fakes.matrix_user import MatrixUser
from tests.fakes.synapse import Synapse, password

PHOTO = Attachment("photo", "telegram", "AgAD-file-id", name="report.jpg")
PDF = Attachment("document", "matrix", "mxc://localhost/abc", name="plan.pdf")


def test_files_another_platform_holds_are_named_and_the_formatting_kept() -> None:
    text = "Read this first.  \n"
    bold = Span("bold", 0, 4)
    past_the_end = Span("italic", 5, len(text))
    named, spans, files = name_files(
        text, (bold, past_the_end), (PHOTO, PDF), lambda a: a.channel == "matrix"
    )
    assert named == "Read this first.\n[attachment: photo report.jpg]"
    assert files == (PDF,)
    # The formatting stays where it was; a span over the trimmed end stops at the text.
    assert spans == (bold, Span("italic", 5, len("Read this first.")))


def test_nothing_to_name_leaves_text_and_formatting_alone() -> None:
    spans = (Span("bold", 0, 2),)
    assert name_files("Hi  ", spans, (PDF,), lambda a: True) == ("Hi  ", spans, (PDF,))


def test_recent_forgets_the_oldest_beyond_its_limit() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.remember("a", 1)
    recent.remember("b", 2)
    recent.remember("a", 3)  # remembered again: now the newest
    recent.remember("c", 4)
    assert dict(recent) == {"a": 3, "c": 4}


class Flaky:
    """Fails with the given errors, in order, then answers."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "sent"


async def test_retry_backs_off_then_succeeds() -> None:
    call = Flaky(Transient(OSError("reset")), Transient(OSError("reset"), wait=0.0))
    assert await retry(call, Backoff(3, 0.0, max_wait=1.0), channel="test") == "sent"
    assert call.calls == 3


async def test_retry_doubles_its_delay_and_waits_what_the_platform_asks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = [Transient(OSError("reset")) for _ in range(2)]
    call = Flaky(*failures, Transient(OSError("flood"), wait=0.0), Transient(OSError("reset")))
    caplog.set_level(logging.WARNING, logger="bot.channels.common")
    assert await retry(call, Backoff(5, 0.01, max_wait=1.0), channel="test") == "sent"
    assert [r.getMessage() for r in caplog.records] == [
        "test: reset; retrying in 0.01 s",
        "test: reset; retrying in 0.02 s",
        "test: rate limited (flood); waiting 0.00 s",
        "test: reset; retrying in 0.08 s",
    ]


async def test_retry_gives_up_with_the_platform_s_error() -> None:
    call = Flaky(*(Transient(OSError(f"reset {n}")) for n in range(3)))
    with pytest.raises(OSError, match="reset 1"):
        await retry(call, Backoff(2, 0.0, max_wait=1.0), channel="test")
    assert call.calls == 2


async def test_a_wait_longer_than_the_maximum_is_left_to_the_outbox() -> None:
    call = Flaky(Transient(OSError("flood"), wait=90.0))
    with pytest.raises(OSError, match="flood"):
        await retry(call, Backoff(5, 0.0, max_wait=60.0), channel="test")
    assert call.calls == 1


async def test_an_error_that_is_not_transient_is_not_retried() -> None:
    call = Flaky(ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        await retry(call, Backoff(5, 0.0, max_wait=60.0), channel="test")
    assert call.calls == 1


async def ignore(_event: Inbound) -> None:
    return None


@pytest.mark.db
async def test_matrix_keeps_the_formatting_of_a_message_whose_files_it_names(
    synapse: Synapse, tmp_path: Path
) -> None:
    """An answer with a Telegram photo reaches a Matrix asker bold, with the photo named."""
    bot = synapse.user_id("eve")
    async with MatrixUser(synapse.url, synapse.user_id("tomas"), password("tomas")) as tomas:
        room = await tomas.create_room([bot], direct=True)
        config = synapse.bot_config("eve", room, tmp_path / "keys")
        channel = MatrixChannel(config)
        await channel.start(ignore)
        try:
            delivery = Delivery(
                outbox_id=1,
                chat_id=room,
                text="Apply by Friday.",
                formatting=(Span("bold", 9, 15),),
                attachments=(PHOTO,),
            )
            await channel.send(delivery)
        finally:
            await channel.stop()
        content = (await tomas.next_event(room)).source["content"]
        assert content["body"] == "Apply by Friday.\n[attachment: photo report.jpg]"
        assert "<b>Friday</b>" in content["formatted_body"]
        assert "[attachment: photo report.jpg]" in content["formatted_body"]
