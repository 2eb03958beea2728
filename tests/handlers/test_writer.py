"""The writer: which channel a private message takes, and who a thread post mentions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ground.config import Config
from ground.storage.models import Identity, Person
from handlers.i18n import Translator
from handlers.writer import Writer

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CLAIRE = Person(id=1, display_name="Claire Dubois", language="fr")
# Claire on every channel; only her Telegram identity knows the private chat.
IDENTITIES = {
    1: [
        Identity(channel="console", external_id="claire", chat_id=None),
        Identity(channel="matrix", external_id="@claire:example.org", chat_id="!dm:example.org"),
        Identity(channel="telegram", external_id="101", chat_id="9001"),
    ]
}


def writer(
    config: Config, running: Sequence[str], preferred: Sequence[str] = ()
) -> tuple[Writer, list[dict[str, Any]]]:
    """A writer over ``running`` channels, and the rows it writes."""
    rows: list[dict[str, Any]] = []
    texts = Translator(config.languages.supported)
    found = Writer(
        config,
        texts,
        running,
        NOW,
        lambda person_id: IDENTITIES.get(person_id, []),
        rows.append,
        preferred=preferred,
    )
    return found, rows


def test_a_private_message_takes_the_asked_then_the_event_then_the_first_channel(config) -> None:
    running = ("telegram", "matrix", "console")
    first, rows = writer(config, running)
    assert first.tell(CLAIRE, "hello")
    assert (rows[-1]["channel"], rows[-1]["chat_id"]) == ("telegram", "9001")
    # The channel the event came from comes before the order of preference.
    from_matrix, rows = writer(config, running, preferred=("matrix",))
    assert from_matrix.tell(CLAIRE, "hello")
    assert (rows[-1]["channel"], rows[-1]["chat_id"]) == ("matrix", "!dm:example.org")
    # A channel asked for (the question's own) comes before both; no chat: the account's id.
    assert from_matrix.tell(CLAIRE, "hello", channel="console")
    assert (rows[-1]["channel"], rows[-1]["chat_id"]) == ("console", "claire")
    assert rows[-1]["target"] == "person" and rows[-1]["person_id"] == 1


def test_nobody_is_reached_on_a_channel_not_running_here(config) -> None:
    only_matrix, rows = writer(config, ("matrix",))
    assert only_matrix.tell(CLAIRE, "hello", channel="telegram")
    assert [row["channel"] for row in rows] == ["matrix"]
    nowhere, rows = writer(config, ("console",))
    stranger = Person(id=2, display_name="Nobody")
    assert not nowhere.tell(stranger, "hello") and rows == []


def test_a_thread_post_mentions_people_by_their_account_on_that_channel(config) -> None:
    both, rows = writer(config, ("telegram", "matrix"))
    both.post(7, "A question", channels=["matrix", "telegram"], mentions=[CLAIRE])
    assert [(r["channel"], r["target"], r["question_id"]) for r in rows] == [
        ("matrix", "space", 7),
        ("telegram", "space", 7),
    ]
    assert [r["mentions"] for r in rows] == [
        [["@claire:example.org", "Claire Dubois"]],
        [["101", "Claire Dubois"]],
    ]
