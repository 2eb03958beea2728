"""Experts' messages in a question's thread, relayed to the asker; the first one stops the clock."""

from __future__ import annotations

from bot.storage import repo
from bot.storage.models import Assignment, Person, Question, RelayedMessage, Thread
from handlers.context import Turn

__all__ = ["relay_to_asker"]


def relay_to_asker(turn: Turn, thread: Thread, text: str) -> None:
    """Relay an expert's message (or its correction) in ``thread`` to the question's asker."""
    session = turn.session
    question = session.get(Question, thread.question_id)
    assert question is not None
    if question.status == "resolved":
        turn.reply(
            f"Question #{question.id} is resolved; this message was not relayed.", question=question
        )
        return
    asker = session.get(Person, question.asker_id)
    assert asker is not None
    expert = turn.person
    partner = turn.config.partner(expert.partner_id or "")
    author = f"{expert.display_name} ({partner.name})" if partner else expert.display_name
    if turn.event.edited:
        heading = turn.t_for(
            asker,
            "Correction from {author} to the answer on your question #{number}:",
            author=author,
            number=question.id,
        )
    else:
        heading = turn.t_for(
            asker, "{author} answers your question #{number}:", author=author, number=question.id
        )
    footer = turn.t_for(
        asker,
        "Reply here to answer back. Send /resolve {number} when your question is settled.",
        number=question.id,
    )
    turn.tell(
        asker, f"{heading}\n\n{text}\n\n{footer}", question=question, channel=question.channel
    )
    session.add(
        RelayedMessage(
            question_id=question.id,
            direction="to_asker",
            author_id=expert.id,
            channel=turn.event.channel,
            external_id=turn.event.message_id,
            text=text,
            created_at=turn.now,
        )
    )
    if question.first_response_at is None and not turn.event.edited:
        question.first_response_at = turn.now
        question.status = "answered"
        repo.log_event(
            session, "first_response", turn.now, question_id=question.id, actor_id=expert.id
        )
        if not any(a.person_id == expert.id for a in repo.active_assignments(session, question.id)):
            session.add(
                Assignment(
                    question_id=question.id,
                    person_id=expert.id,
                    role="mentioned",
                    active=True,
                    created_at=turn.now,
                )
            )
    else:
        repo.log_event(
            session,
            "correction" if turn.event.edited else "expert_message",
            turn.now,
            question_id=question.id,
            actor_id=expert.id,
        )
    asker.focus_question_id = question.id
