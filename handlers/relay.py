"""Experts' messages in a question's thread, relayed to the asker; the first one stops the clock."""

from __future__ import annotations

from collections.abc import Sequence

from ground.storage import conversation_repo, repo
from ground.storage.models import Person, Question, Thread
from ground.vocabulary import AssignmentRole, QuestionStatus, RelayDirection
from handlers.context import Turn
from handlers.events import Attachment, Span

__all__ = [
    "answer_footer",
    "author_label",
    "relay_to_asker",
    "relay_withdrawal",
    "send_answer",
]


def relay_to_asker(
    turn: Turn,
    thread: Thread,
    text: str,
    attachments: Sequence[Attachment] = (),
    formatting: Sequence[Span] = (),
) -> None:
    """Relay an expert's message (or its correction) in ``thread`` to the question's asker.

    Files the expert attached go with it; a channel that cannot show them names them.
    """
    session = turn.session
    question = conversation_repo.get_question(session, thread.question_id)
    assert question is not None
    if question.status == QuestionStatus.RESOLVED:
        turn.reply(
            turn.t(
                "Question #{number} is resolved; this message was not relayed.", number=question.id
            ),
            question=question,
        )
        return
    asker = conversation_repo.get_person(session, question.asker_id)
    assert asker is not None
    author = author_label(turn)
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
    footer = answer_footer(turn, asker, question)
    body = f"{heading}\n\n{text}\n\n{footer}" if text else f"{heading}\n\n{footer}"
    # The expert's formatting, moved past the heading put in front of their text.
    spans = [span.shifted(len(heading) + 2) for span in formatting] if text else []
    send_answer(
        turn,
        question,
        body,
        record=text or " ".join(a.label() for a in attachments),
        attachments=attachments,
        formatting=spans,
    )


def author_label(turn: Turn) -> str:
    """The sender as the asker sees them: name and partner."""
    expert = turn.person
    partner = turn.config.partner(expert.partner_id or "")
    return f"{expert.display_name} ({partner.name})" if partner else expert.display_name


def answer_footer(turn: Turn, asker: Person, question: Question) -> str:
    """The line under every answer: how to answer back and to resolve."""
    return turn.t_for(
        asker,
        "Reply here to answer back. Send /resolve {number} when your question is settled.",
        number=question.id,
    )


def send_answer(
    turn: Turn,
    question: Question,
    body: str,
    *,
    record: str,
    attachments: Sequence[Attachment] = (),
    formatting: Sequence[Span] = (),
) -> None:
    """Send the sender's answer ``body`` to the asker, keep ``record`` as what was relayed.

    The first answer stops the first-response clock and marks the question answered.
    """
    session = turn.session
    asker = conversation_repo.get_person(session, question.asker_id)
    assert asker is not None
    expert = turn.person
    turn.tell(
        asker,
        body,
        question=question,
        channel=question.channel,
        attachments=attachments,
        formatting=formatting,
    )
    conversation_repo.add_relayed(
        session,
        question.id,
        RelayDirection.TO_ASKER,
        expert.id,
        turn.event.channel,
        turn.event.message_id,
        record,
        turn.now,
    )
    if question.first_response_at is None and not turn.event.edited:
        question.first_response_at = turn.now
        question.status = QuestionStatus.ANSWERED
        repo.log_event(
            session, "first_response", turn.now, question_id=question.id, actor_id=expert.id
        )
        if not any(a.person_id == expert.id for a in repo.active_assignments(session, question.id)):
            conversation_repo.add_assignment(
                session, question.id, expert.id, AssignmentRole.MENTIONED, turn.now
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


def relay_withdrawal(turn: Turn, message_id: str) -> None:
    """An expert took back (deleted) a message that was relayed: tell the asker to disregard it.

    Messages never relayed (chatter, strangers, the bot's own) are not mentioned to anyone.
    """
    session = turn.session
    relayed = conversation_repo.relayed_to_asker(session, turn.event.channel, message_id)
    if relayed is None or relayed.author_id != turn.person.id:
        return
    question = conversation_repo.get_question(session, relayed.question_id)
    assert question is not None
    asker = conversation_repo.get_person(session, question.asker_id)
    assert asker is not None
    text = turn.t_for(
        asker,
        "{author} withdrew a message they sent on your question #{number}. Please disregard it.",
        author=turn.person.display_name,
        number=question.id,
    )
    turn.tell(asker, text, question=question, channel=question.channel)
    repo.log_event(
        session,
        "withdrawn",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        message_id=message_id,
    )
