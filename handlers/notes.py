"""Internal notes in a question's thread: kept in its history, acknowledged, never relayed."""

from __future__ import annotations

import re

from ground.storage import conversation_repo, repo
from ground.storage.models import Thread
from handlers.context import Turn

__all__ = ["addressed_colleague", "keep_note"]

# A hand-over: a colleague's name (full, or first name) opening the message, then "," or ":".
_OPENING = re.compile(r"^\s*@?([^\n,:]{1,80}?)\s*[,:]")


def addressed_colleague(turn: Turn, text: str) -> str | None:
    """The configured expert or coordinator a thread message opens by addressing, if any."""
    opening = _OPENING.match(text)
    if opening is None:
        return None
    said = opening.group(1).casefold()
    for person in repo.staff(turn.session):
        name = person.display_name.strip()
        if name and said in (name.casefold(), name.split()[0].casefold()):
            return name
    return None


def keep_note(turn: Turn, thread: Thread, text: str, reason: str) -> None:
    """Keep ``text`` as an internal note on the thread's question and say so in the thread."""
    question = conversation_repo.get_question(turn.session, thread.question_id)
    assert question is not None
    if not text:
        turn.reply(turn.t("Write the note after /note, for example: /note Asked the tax office."))
        return
    repo.log_event(
        turn.session,
        "note",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        text=text,
        reason=reason,
    )
    turn.reply(
        turn.t(
            "Internal note kept on question #{number}; it was not sent to the asker.",
            number=question.id,
        ),
        question=question,
    )
