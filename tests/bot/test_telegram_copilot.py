"""The co-pilot on Telegram: earlier answers, /similar and /fiche, a draft approved and used."""

from __future__ import annotations

import dataclasses

import pytest

from tests.bot.test_telegram import (  # noqa: F401 (the config fixture is used by name)
    ASKER,
    CLAIRE,
    GROUP,
    config,
    telegram_bot,
)
from tests.fakes.telegram_server import TelegramUser
from tests.handlers.test_copilot import QUESTION, REWORDED

pytestmark = pytest.mark.db

ANNA = TelegramUser(3000, "Anna", "Schmidt", "en")  # the coordinator
BEA = TelegramUser(555002, "Bea", "Lynch", "en-IE")
CARL = TelegramUser(555003, "Carl", "Berg", "en")
NEXT_QUESTION = (
    "Which lawyers know the public procurement rules for catering contracts of school canteens?"
)
ANSWER = (
    "The national procurement agency keeps a list of lawyers who advise municipalities on "
    "school canteen catering contracts. Ask its helpdesk for the lawyers of your region."
)
TITLE = "Lawyers for school canteen catering contracts"


async def test_copilot_similar_fiche_and_a_draft_on_telegram(config, embedder) -> None:  # noqa: F811
    anna = dataclasses.replace(config.coordinators[0], identities={"telegram": str(ANNA.id)})
    config = dataclasses.replace(config, coordinators=(anna, *config.coordinators[1:]))
    async with telegram_bot(config, embedder) as bot:
        server = bot.server
        # The experts' menu in the group is offered in their languages too.
        french = [
            c
            for c in server.sent("setMyCommands")
            if c.params["scope"].get("chat_id") == GROUP and c.params.get("language_code") == "fr"
        ]
        assert french and "prendre en charge cette question" in str(french[0].params["commands"])

        await server.private_text(ASKER, QUESTION)
        [first] = await server.wait_sent(method="createForumTopic")
        topic = int(first.result["message_thread_id"])
        await server.wait_text("Your question #1 went to", chat_id=ASKER.id)
        await server.group_text(CLAIRE, ANSWER, topic=topic)
        await server.wait_text("answers your question #1", chat_id=ASKER.id)

        # A near-identical question: Bea is offered the earlier answer, and asks an expert.
        await server.private_text(BEA, REWORDED)
        offer = await server.wait_text("A similar question was answered on", chat_id=BEA.id)
        assert ANSWER in offer.text
        await server.press(BEA, offer.message_id, "expert:2")
        posted = await server.wait_text("Earlier answers to close questions:", chat_id=GROUP)
        assert "• #1 · answered 2 March 2026 by Claire Dubois" in posted.text
        second = int(posted.params["message_thread_id"])
        assert second != topic

        await server.group_text(CLAIRE, "/similar 1", topic=second)
        relayed = await server.wait_text("gave to a similar question on", chat_id=BEA.id)
        assert ANSWER in relayed.text
        # The thread's record of what went to the asker is in the space's language, not Claire's.
        await server.wait_text(
            "The answer to question #1 went to the asker of question #2.", message_thread_id=second
        )
        await server.group_text(CLAIRE, "/fiche employer-pool-apprenticeships-mayo", topic=second)
        fiche = await server.wait_text("with this fiche:", chat_id=BEA.id)
        assert "County Mayo" in fiche.text
        await server.group_text(CLAIRE, "/fiche nowhere", topic=second)
        await server.wait_text("Il n’existe pas de fiche nowhere.", message_thread_id=second)

        # Question 1's answer becomes a fiche: drafted in its topic, approved in a private chat.
        await server.group_text(CLAIRE, "/resolve", topic=topic)
        await server.wait_text("Question #1 is resolved.", message_thread_id=topic)
        await server.group_text(CLAIRE, f"/tofiche {TITLE}", topic=topic)
        await server.wait_text("Projet de fiche n°\u00a01", message_thread_id=topic)
        await server.private_text(ANNA, "/approve 1")
        await server.wait_text("the bot answers from it at once", chat_id=ANNA.id)

        # The next close question gets the new fiche at once.
        await server.private_text(CARL, NEXT_QUESTION)
        instant = await server.wait_text(TITLE, chat_id=CARL.id)
        assert "reply_markup" in instant.params
        assert len(server.sent("createForumTopic")) == 2  # Carl's question went to nobody
