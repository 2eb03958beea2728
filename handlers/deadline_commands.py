"""Deadline commands: an asker's /urgent, a coordinator's /priority and /overdue."""

from __future__ import annotations

from collections.abc import Callable

from ground.config import PRIORITIES
from ground.storage import conversation_repo, deadline_repo, repo
from ground.storage.models import Question
from ground.vocabulary import AssignmentRole, QuestionStatus, StepState
from handlers.context import Turn
from handlers.deadlines import replan_clock
from handlers.i18n import language_name

__all__ = ["DEADLINE_ASKER_COMMANDS", "DEADLINE_COORDINATOR_COMMANDS"]


def _number(args: list[str]) -> int | None:
    text = args[0].lstrip("#") if args else ""
    return int(text) if text.isdecimal() else None


def priority_label(level: str, translate: Callable[[str], str]) -> str:
    """A priority level in the reader's words (the command itself takes the English ones)."""
    labels = {
        "low": translate("low"),
        "normal": translate("normal"),
        "high": translate("high"),
        "urgent": translate("urgent"),
    }
    return labels.get(level, level)


def _change_priority(turn: Turn, question: Question, priority: str) -> None:
    """Set the priority, recompute the deadlines from the same start, and tell the thread."""
    previous = question.priority
    question.priority = priority
    replan_clock(turn.session, turn.config, question, turn.now)
    repo.log_event(
        turn.session,
        "priority",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        previous=previous,
        priority=priority,
    )
    due = question.first_response_due
    assert due is not None
    channels = deadline_repo.thread_channels(turn.session, question.id)
    if channels:
        text = turn.t_space(
            "Question #{number} now has priority {priority}; first answer due {when}.",
            number=question.id,
            priority=priority_label(priority, turn.t_space),
            when=turn.space_when(due),
        )
        turn.post_in_thread(question, text, channels=channels)


def urgent(turn: Turn, args: list[str]) -> None:
    """An asker marks a question still waiting for its first answer as urgent."""
    number = _number(args) if args else turn.person.focus_question_id
    question = conversation_repo.get_question(turn.session, number) if number else None
    if question is None or question.asker_id != turn.person.id:
        turn.reply(
            turn.t(
                "I found no question of yours with that number. Send /status to see your questions."
            )
        )
        return
    if question.status != QuestionStatus.OPEN or question.first_response_at is not None:
        turn.reply(
            turn.t(
                "Question #{number} is not waiting for a first answer any more.",
                number=question.id,
            )
        )
        return
    if question.priority == "urgent":
        turn.reply(turn.t("Question #{number} is already urgent.", number=question.id))
        return
    _change_priority(turn, question, "urgent")
    assert question.first_response_due is not None
    turn.reply(
        turn.t(
            "Question #{number} is now urgent. Expect a first answer by {when}.",
            number=question.id,
            when=turn.when(question.first_response_due),
        ),
        question=question,
    )


def set_priority(turn: Turn, args: list[str]) -> None:
    """A coordinator sets a question's priority: ``/priority N LEVEL``."""
    number = _number(args)
    if len(args) != 2 or number is None or args[1] not in PRIORITIES:
        turn.reply(
            turn.t(
                "Usage: /priority QUESTION-NUMBER LEVEL, with one of: {levels}",
                levels=", ".join(PRIORITIES),
            )
        )
        return
    question = conversation_repo.get_question(turn.session, number)
    if question is None or question.status not in repo.ACTIVE:
        turn.reply(turn.t("No open question #{number}.", number=number))
        return
    _change_priority(turn, question, args[1])
    assert question.first_response_due is not None
    turn.reply(
        turn.t(
            "Question #{number} now has priority {priority}; first answer due {when}.",
            number=question.id,
            priority=priority_label(args[1], turn.t),
            when=turn.when(question.first_response_due),
        )
    )


def overdue(turn: Turn, _args: list[str]) -> None:
    """List the questions past a deadline, the longest overdue first."""
    session = turn.session
    questions = deadline_repo.overdue_questions(session, turn.now, repo.ACTIVE)
    if not questions:
        turn.reply(turn.t("No question is late."))
        return
    lines = [turn.t("Late questions ({count}):", count=len(questions))]
    for question in questions:
        primary = next(
            (
                a
                for a in repo.active_assignments(session, question.id)
                if a.role == AssignmentRole.PRIMARY
            ),
            None,
        )
        person = conversation_repo.get_person(session, primary.person_id) if primary else None
        who = person.display_name if person else turn.t("nobody")
        fired = [
            s
            for s in deadline_repo.steps_of(session, question.id)
            if s.kind == "escalation" and s.state == StepState.FIRED
        ]
        if question.first_response_at is None and question.first_response_due:
            late = turn.t(
                "first answer was due {when}", when=turn.when(question.first_response_due)
            )
        else:
            assert question.resolution_due is not None
            late = turn.t("resolution was due {when}", when=turn.when(question.resolution_due))
        topic = (
            turn.config.topic_name(question.topic, turn.language)
            if question.topic
            else turn.t("no topic yet")
        )
        parts = [
            turn.t("#{number}", number=question.id),
            priority_label(question.priority, turn.t),
            topic,
            language_name(question.language, turn.language),
            who,
            late,
            turn.t("escalations: {count}", count=len(fired)),
        ]
        lines.append(" · ".join(parts))
    turn.reply("\n".join(lines))


DEADLINE_ASKER_COMMANDS = {"urgent": urgent}
DEADLINE_COORDINATOR_COMMANDS = {"priority": set_priority, "overdue": overdue}
