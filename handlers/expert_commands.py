"""Commands of experts (/claim, /pass, /away, /resolve) and coordinators (/open, /reassign)."""

from __future__ import annotations

from ground.storage import conversation_repo, repo
from ground.storage.models import Person, Question
from ground.vocabulary import AssignmentRole, EndReason, QuestionStatus
from handlers.asker_commands import close
from handlers.assignments import make_primary
from handlers.context import Turn
from handlers.deadline_commands import DEADLINE_COORDINATOR_COMMANDS
from handlers.directory import candidates, need_of, weights_of
from handlers.i18n import language_name
from handlers.people import find_person
from handlers.referral import refer
from handlers.stats_commands import STATS_COMMANDS
from routing.matching import match

__all__ = [
    "COORDINATOR_COMMANDS",
    "EXPERT_COMMANDS",
    "THREAD_COMMANDS",
    "already_resolved",
    "open_thread_question",
    "thread_question",
    "unknown_thread",
]


def thread_question(turn: Turn) -> Question | None:
    """The question of the thread the command was sent in; else say why there is none."""
    event = turn.event
    if not (event.space and event.thread_id):
        turn.reply(turn.t("Use this command inside a question's thread."))
        return None
    thread = repo.find_thread(turn.session, event.channel, event.chat_id, event.thread_id)
    if thread is None:
        unknown_thread(turn)
        return None
    return conversation_repo.get_question(turn.session, thread.question_id)


def open_thread_question(turn: Turn) -> Question | None:
    """The thread's question if it is not resolved yet; else say why there is none."""
    question = thread_question(turn)
    if question is not None and question.status == QuestionStatus.RESOLVED:
        turn.reply(already_resolved(turn, question), question=question)
        return None
    return question


def _make_primary(turn: Turn, question: Question, person: Person, reason: str) -> None:
    assignments = repo.active_assignments(turn.session, question.id)
    make_primary(
        turn.session, question, person, turn.now, assignments, reason, actor_id=turn.person.id
    )


def unknown_thread(turn: Turn) -> None:
    """Say that the thread the sender wrote in is no question's (by number when named so)."""
    number = turn.event.thread_id
    if turn.event.names_question and number is not None:
        turn.reply(turn.t("There is no question #{number}.", number=number))
    else:
        turn.reply(turn.t("This thread is not a question thread."))


def already_resolved(turn: Turn, question: Question) -> str:
    """The sender's words for a question already resolved."""
    return turn.t("Question #{number} is already resolved.", number=question.id)


def claim(turn: Turn, _args: list[str]) -> None:
    """Take the question of this thread as its primary assignee."""
    question = open_thread_question(turn)
    if question is None:
        return
    _make_primary(turn, question, turn.person, "claimed")
    # What the thread reads about who holds a question is for everyone: the space's language.
    turn.reply(
        turn.t_space(
            "{name} takes question #{number}.", name=turn.person.display_name, number=question.id
        ),
        question=question,
    )


def pass_question(turn: Turn, _args: list[str]) -> None:
    """Hand the question of this thread on to the next matching expert."""
    question = thread_question(turn)
    if question is None:
        return
    session = turn.session
    assignments = repo.active_assignments(session, question.id)
    mine = next((a for a in assignments if a.person_id == turn.person.id), None)
    if mine is None:
        turn.reply(turn.t("You are not assigned to this question."), question=question)
        return
    repo.end_assignments(session, question.id, turn.now, EndReason.PASSED, person_id=turn.person.id)
    repo.log_event(session, "passed", turn.now, question_id=question.id, actor_id=turn.person.id)
    if mine.role != AssignmentRole.PRIMARY:
        turn.reply(
            turn.t_space(
                "{name} steps back from question #{number}.",
                name=turn.person.display_name,
                number=question.id,
            ),
            question=question,
        )
        return
    passed = conversation_repo.passed_by(session, question.id)
    experts, coordinators = candidates(session, turn.config)
    decision = match(
        need_of(turn.config, question),
        [e for e in experts if e.person_id not in passed],
        coordinators,
        mention_others=0,
        weights=weights_of(turn.config),
    )
    if decision.primary is None:
        turn.reply(
            turn.t_space(
                "Nobody else is available for question #{number}; the coordinators are asked.",
                number=question.id,
            ),
            question=question,
        )
        return
    successor = conversation_repo.get_person(session, decision.primary.person_id)
    assert successor is not None
    _make_primary(turn, question, successor, "reassigned")
    channels = [turn.event.channel]
    turn.post_in_thread(
        question,
        turn.t_space(
            "{name} passes question #{number} to {successor}.",
            name=turn.person.display_name,
            number=question.id,
            successor=successor.display_name,
        ),
        channels=channels,
        mentions=[successor],
    )


def away(turn: Turn, args: list[str]) -> None:
    """Mark oneself away (no new questions) or back with ``/away off``."""
    back = bool(args) and args[0].lower() in ("off", "no", "back")
    turn.person.away = not back
    repo.log_event(turn.session, "away" if not back else "back", turn.now, actor_id=turn.person.id)
    turn.reply(
        turn.t("You are back: new questions can reach you again.")
        if back
        else turn.t(
            "You are away: no new questions will reach you. Send /away off when you are back."
        )
    )


def resolve_thread(turn: Turn, _args: list[str]) -> None:
    """Close the question of this thread."""
    question = open_thread_question(turn)
    if question is None:
        return
    close(turn, question, by_asker=False)


def open_questions(turn: Turn, _args: list[str]) -> None:
    """List the routed questions still waiting, most urgent first."""
    questions = repo.open_questions(turn.session)
    if not questions:
        turn.reply(turn.t("No open questions."))
        return
    lines = [turn.t("Open questions: {count}", count=len(questions))]
    for question in questions:
        assignees = repo.active_assignments(turn.session, question.id)
        primary = next((a for a in assignees if a.role == AssignmentRole.PRIMARY), None)
        holder = conversation_repo.get_person(turn.session, primary.person_id) if primary else None
        who = holder.display_name if holder else turn.t("nobody")
        number = turn.t("#{number}", number=question.id)
        lines.append(" · ".join([number, *_open_line(turn, question, who)]))
    turn.reply("\n".join(lines))


def _open_line(turn: Turn, question: Question, who: str) -> list[str]:
    """State, topic, language, assignee and deadline of an open question, in the reader's words."""
    answered = question.status == QuestionStatus.ANSWERED
    parts = [
        turn.t("answered, not yet resolved") if answered else turn.t("waiting for a first answer"),
        turn.config.topic_name(question.topic, turn.language)
        if question.topic
        else turn.t("no topic yet"),
        language_name(question.language, turn.language),
        who,
    ]
    due = question.first_response_due
    if due and question.first_response_at is None:
        parts.append(turn.t("first answer due {when}", when=turn.when(due)))
        if due < turn.now:
            parts.append(turn.t("overdue"))
    return parts


def reassign(turn: Turn, args: list[str]) -> None:
    """Give question N to an expert: ``/reassign N expert-id-or-name``."""
    if len(args) < 2 or not args[0].lstrip("#").isdecimal():
        turn.reply(turn.t("Usage: /reassign QUESTION-NUMBER EXPERT-ID-OR-NAME"))
        return
    number = int(args[0].lstrip("#"))
    question = conversation_repo.get_question(turn.session, number)
    if question is None or question.status not in repo.ACTIVE:
        turn.reply(turn.t("No open question #{number}.", number=number))
        return
    wanted = " ".join(args[1:])
    expert, closest = find_person(repo.staff(turn.session), wanted)
    if expert is None:
        if closest is None:
            turn.reply(turn.t("No expert is called {name}.", name=wanted))
        else:
            turn.reply(
                turn.t(
                    "No expert is called {name}. Did you mean {suggestion}?",
                    name=wanted,
                    suggestion=closest.display_name,
                )
            )
        return
    _make_primary(turn, question, expert, "reassigned")
    channels = turn.thread_channels(question)
    turn.post_in_thread(
        question,
        turn.t_space(
            "{name} assigns question #{number} to {expert}.",
            name=turn.person.display_name,
            number=question.id,
            expert=expert.display_name,
        ),
        channels=channels or list(turn.services.channels[:1]),
        mentions=[expert],
    )
    turn.reply(
        turn.t(
            "Question #{number} is now assigned to {name}.",
            number=question.id,
            name=expert.display_name,
        )
    )


def set_topic(turn: Turn, args: list[str]) -> None:
    """Set the topic of question N and route it again: ``/topic N topic-id``."""
    topics = [t.id for t in turn.config.topics]
    if len(args) != 2 or not args[0].lstrip("#").isdecimal() or args[1] not in topics:
        turn.reply(
            turn.t(
                "Usage: /topic QUESTION-NUMBER TOPIC-ID, with one of: {topics}",
                topics=", ".join(topics),
            )
        )
        return
    question = conversation_repo.get_question(turn.session, int(args[0].lstrip("#")))
    if question is None or question.status not in repo.ACTIVE:
        turn.reply(turn.t("No open question #{number}.", number=args[0].lstrip("#")))
        return
    previous = question.topic
    question.topic = args[1]
    repo.log_event(
        turn.session,
        "topic_set",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        previous=previous,
        topic=args[1],
    )
    repo.end_assignments(turn.session, question.id, turn.now, EndReason.REROUTED)
    decision = refer(turn, question)
    who = decision.primary.name if decision.primary else turn.t("the coordinators")
    turn.reply(
        turn.t(
            "Question #{number} is now on {topic} and went to {who}.",
            number=question.id,
            topic=turn.config.topic_name(args[1], turn.language),
            who=who,
        )
    )


THREAD_COMMANDS = {"claim": claim, "pass": pass_question, "resolve": resolve_thread}
EXPERT_COMMANDS = {"away": away, **THREAD_COMMANDS}
COORDINATOR_COMMANDS = {
    "open": open_questions,
    "reassign": reassign,
    "topic": set_topic,
    **DEADLINE_COORDINATOR_COMMANDS,
    **STATS_COMMANDS,
}
