"""Route a question to experts: pick them, open its thread, tell the asker who and by when."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scipy import sparse
from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage import conversation_repo, repo
from ground.storage.models import Person, Question
from ground.vocabulary import AssignmentRole, FicheFeedback, QuestionStatus
from handlers.context import Turn
from handlers.copilot import copilot_lines, languages_of
from handlers.deadlines import start_clock
from handlers.directory import candidates, need_of, weights_of
from handlers.i18n import Translator, format_when, language_name
from knowledge.repository import get_version
from routing.matching import Candidate, Reason, RouteDecision, match

__all__ = [
    "SHOWN_ASKED_EXPERT",
    "SHOWN_NOT_ASKED",
    "SHOWN_THEN_WROTE",
    "SHOWN_WHILE_WAITING",
    "assign",
    "reason_text",
    "refer",
    "shown_fiches",
    "space_channels",
    "thread_title",
    "why",
]

# How the thread introduces the fiches the asker was shown, by what the asker did with them.
SHOWN_WHILE_WAITING = "The asker was shown these fiches while waiting for you:"
SHOWN_ASKED_EXPERT = "The asker was shown these fiches and asked for an expert:"
SHOWN_NOT_ASKED = "The asker was shown these fiches and said they are not what they asked:"
SHOWN_THEN_WROTE = "The asker was shown these fiches, then wrote:"


def thread_title(question: Question, topic: str, t: Callable[..., str]) -> str:
    """The thread's name in the space's words: number, topic and language, to scan a list."""
    return f"{t('#{number}', number=question.id)} · {topic} · {question.language.upper()}"


def space_channels(turn: Turn, people: list[Person]) -> list[str]:
    """The running channels whose experts' space reaches at least one of ``people``."""
    running = list(turn.services.channels)
    reached = []
    for channel in running:
        for person in people:
            if any(i.channel == channel for i in repo.identities_of(turn.session, person.id)):
                reached.append(channel)
                break
    return reached or running[:1]


def shown_fiches(session: Session, question_id: int) -> list[tuple[str, str]]:
    """Every fiche the asker was shown for a question, as (title, id), without repeats."""
    shown: dict[str, str] = {}
    for answer in repo.fiche_answers_of(session, question_id):
        for fiche in answer.fiches or []:
            version = get_version(session, fiche["id"], fiche["language"])
            shown.setdefault(fiche["id"], version.title if version else fiche["id"])
    return [(title, fiche_id) for fiche_id, title in shown.items()]


def refer(
    turn: Turn,
    question: Question,
    *,
    excluded: set[int] | None = None,
    asker_wrote: str = "",
    found: Sequence[str] = (),
    vector: sparse.csr_matrix | None = None,
) -> RouteDecision:
    """Route ``question`` (new, or offered a fiche) to experts and tell everyone concerned.

    The thread lists the fiches the asker was shown and what they did with them, then what
    the asker wrote about them (``asker_wrote``), if anything; then the co-pilot's finds:
    the fiches the bot ``found`` (ids) when none was shown, and close earlier answers
    (``vector`` is the question's embedding, looked up or computed when not given).
    """
    session, config = turn.session, turn.config
    experts, coordinators = candidates(session, config)
    if excluded:
        experts = [e for e in experts if e.person_id not in excluded]
    decision = match(
        need_of(config, question),
        experts,
        coordinators,
        mention_others=config.routing.mention_others,
        weights=weights_of(config),
    )
    question.status = QuestionStatus.OPEN
    question.decision = question.decision or "route"
    # A question routed again keeps its first routing time: one clock per question.
    question.routed_at = question.routed_at or turn.now
    question.fallback = decision.fallback
    question.partner_id = decision.primary.partner or None if decision.primary else None
    start_clock(session, config, question, turn.now)
    recipients = assign(session, question, decision, turn)
    asker = conversation_repo.get_person(session, question.asker_id)
    assert asker is not None
    asker.focus_question_id = question.id
    repo.log_event(
        session,
        "routed",
        turn.now,
        question_id=question.id,
        actor_id=asker.id,
        topic=question.topic,
        language=question.language,
        fallback=decision.fallback,
        experts=[c.key for c in decision.everyone],
        # Why each was chosen, in English as the dashboard's question page shows it.
        reasons={
            c.key: reason_text(turn.services.texts, turn.config, reason, "en")
            for c, reason in zip(decision.everyone, decision.reasons, strict=True)
        },
    )
    _post_thread(
        turn, question, asker, decision, recipients, asker_wrote, found=found, vector=vector
    )
    _tell_asker(turn, question, asker, decision)
    return decision


def assign(
    session: Session, question: Question, decision: RouteDecision, turn: Turn
) -> list[Person]:
    """Write the assignments of a routing decision; return the people, primary first."""
    people = []
    for rank, candidate in enumerate(decision.everyone):
        role = AssignmentRole.PRIMARY if rank == 0 else AssignmentRole.MENTIONED
        conversation_repo.add_assignment(session, question.id, candidate.person_id, role, turn.now)
        person = conversation_repo.get_person(session, candidate.person_id)
        if person is not None:
            people.append(person)
    return people


def _names(candidates: tuple[Candidate, ...], turn: Turn) -> str:
    parts = []
    for candidate in candidates:
        partner = turn.config.partner(candidate.partner)
        parts.append(f"{candidate.name} ({partner.name})" if partner else candidate.name)
    return ", ".join(parts)


def _post_thread(
    turn: Turn,
    question: Question,
    asker: Person,
    decision: RouteDecision,
    recipients: list[Person],
    asker_wrote: str,
    *,
    found: Sequence[str] = (),
    vector: sparse.csr_matrix | None = None,
) -> None:
    # A post for everyone in the experts' space: in the space's language, except each routing
    # reason, which is in the language of the person it names (docs/experts.md).
    t, space = turn.t_space, turn.space_language
    known = turn.config.topic(question.topic or "")
    topic = known.name_in(space) if known else t("topic unclear")
    asker_name = asker.display_name or t("an asker")
    lines = [
        t(
            "Question #{number} · {topic} · language {language}",
            number=question.id,
            topic=topic,
            language=question.language.upper(),
        ),
        t("From: {asker}", asker=asker_name)
        + (f" ({asker.organisation})" if asker.organisation else ""),
    ]
    if question.first_response_due:
        # In the assignee's zone, which is also the calendar the deadline was counted in.
        partner = turn.config.partner(decision.primary.partner) if decision.primary else None
        zone = partner.timezone if partner else turn.config.languages.default_timezone
        due = format_when(question.first_response_due, space, zone)
        lines.append(t("First answer due: {when}", when=due))
    if decision.primary:
        lines.append(t("Assigned to: {name}", name=decision.primary.name))
    if decision.mentioned:
        lines.append(t("Also asked: {names}", names=", ".join(c.name for c in decision.mentioned)))
    if decision.reasons:
        lines.append(t("Why:"))
        readers = {p.id: p for p in recipients}
        for candidate, reason in zip(decision.everyone, decision.reasons, strict=True):
            reader = readers.get(candidate.person_id)
            lines.append(f"• {candidate.name} — {why(turn, reason, reader)}")
    language = question.language.upper()
    if decision.fallback == "english":
        lines.append(
            t(
                "No expert reads {language} on this topic: please answer in English or in the "
                "asker's language.",
                language=language,
            )
        )
    elif decision.fallback == "near_topic":
        lines.append(
            t(
                "No expert of this topic reads {language}: sent to experts of a near topic who do.",
                language=language,
            )
        )
    elif decision.fallback == "coordinators":
        lines.append(
            t("No available expert matched: coordinators, please assign someone (/reassign).")
        )
    lines += [
        "",
        question.text,
    ]
    shown = shown_fiches(turn.session, question.id)
    if shown:
        lines += ["", _shown_heading(turn, question, asker_wrote)]
        lines += [
            f"• {title} ({fiche_id} · {languages_of(turn, fiche_id)})" for title, fiche_id in shown
        ]
    if asker_wrote:
        lines += ["", asker_wrote]
    lines += copilot_lines(turn, question, shown=bool(shown), found=found, vector=vector)
    lines += [
        "",
        t("Reply in this thread to answer. /claim to take it, /pass to hand it on."),
    ]
    # A question routed again (a new topic, say) keeps the threads it has.
    existing = turn.thread_channels(question)
    turn.post_in_thread(
        question,
        "\n".join(lines),
        channels=existing or space_channels(turn, recipients),
        opens=not existing,
        title=thread_title(question, topic, t),
        mentions=recipients,
    )


def why(turn: Turn, reason: Reason, reader: Person | None) -> str:
    """Why someone was chosen, in their own language: "reads Portuguese · EU funding · …"."""
    return reason_text(turn.services.texts, turn.config, reason, turn.writer.reader(reader))


def reason_text(texts: Translator, config: Config, reason: Reason, language: str) -> str:
    """Why someone was chosen, in ``language``, as the thread and ``rrm ask`` say it."""
    parts = []
    if reason.language is None:
        parts.append(texts.translate(language, "network coordinator"))
    else:
        name = language_name(reason.language, language)
        parts.append(texts.translate(language, "reads {language}", language=name))
    if reason.topic:
        parts.append(config.topic_name(reason.topic, language))
    if reason.same_country:
        parts.append(texts.translate(language, "same country"))
    parts.append(
        texts.translate_plural(
            language,
            "{count} open question",
            "{count} open questions",
            reason.load,
            count=reason.load,
        )
    )
    return " · ".join(parts)


def _shown_heading(turn: Turn, question: Question, asker_wrote: str) -> str:
    """How the thread introduces the fiches the asker was shown, in the space's language."""
    if asker_wrote:
        return turn.t_space(SHOWN_THEN_WROTE)
    if question.decision == "suggest":
        return turn.t_space(SHOWN_WHILE_WAITING)
    answers = repo.fiche_answers_of(turn.session, question.id)
    if any(a.feedback == FicheFeedback.NOT_ASKED for a in answers):
        return turn.t_space(SHOWN_NOT_ASKED)
    return turn.t_space(SHOWN_ASKED_EXPERT)


def _tell_asker(turn: Turn, question: Question, asker: Person, decision: RouteDecision) -> None:
    due = question.first_response_due
    assert due is not None
    if decision.fallback == "coordinators" or decision.primary is None:
        text = turn.t_for(
            asker,
            "Your question #{number} has been passed to the network's coordinators, who will "
            "find the right expert. Expect a first answer by {when}.",
            number=question.id,
            when=turn.when(due, asker),
        )
    else:
        text = turn.t_for(
            asker,
            "Your question #{number} went to {experts}. Expect a first answer by {when}.",
            number=question.id,
            experts=_names(decision.everyone[:1], turn),
            when=turn.when(due, asker),
        )
    turn.tell(asker, text, question=question, channel=question.channel)
