"""An asker's messages: a new question answered from fiches or routed, and follow-ups."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping

from ground.storage import conversation_repo, repo
from ground.storage.models import Question
from ground.vocabulary import Priority, QuestionStatus
from handlers.access import may_open_question
from handlers.context import Turn
from handlers.copilot import answered_by, earlier_answers
from handlers.events import Button
from handlers.fiche_search import search_approved
from handlers.follow_up import join_under_fiche, record_follow_up, under_fiche
from handlers.i18n import format_day, language_name
from handlers.referral import refer
from knowledge.index import FicheHit
from knowledge.similar import QUESTION_CHARS, remember
from routing.triage import Analysis

__all__ = [
    "ANALYSED_CHARS",
    "answer_choices",
    "fiche_card",
    "handle_question_text",
    "language_name",
    "offer_fiches",
    "offer_similar",
    "show_fiches",
    "suggest_fiches",
]

# Analysis reads the start of very long messages; the whole text is stored and relayed.
ANALYSED_CHARS = QUESTION_CHARS
MIN_QUESTION_WORDS = 3
WORD = re.compile(r"[^\W_]+", re.UNICODE)
DUPLICATE_WINDOW = dt.timedelta(hours=24)
OTHER_FICHES = 2


def handle_question_text(turn: Turn, text: str) -> None:
    """A plain message from an asker: a follow-up to their current question, or a new one."""
    target, replied = _follow_up_target(turn)
    if target is not None and target.status != QuestionStatus.OFFERED:
        _follow_up(turn, target, text)
        return
    if len(WORD.findall(text)) < MIN_QUESTION_WORDS:
        # "Hello", "thanks", "?": not a question to route to anyone, nor a follow-up.
        turn.reply(
            turn.t(
                "Hello! Please write your question in a sentence or two, in your own "
                "language, and I will look for an answer. Send /help for the "
                "commands."
            )
        )
        return
    duplicate = repo.recent_duplicate(
        turn.session, turn.person.id, text, turn.now - DUPLICATE_WINDOW
    )
    if duplicate is not None:
        turn.reply(
            turn.t(
                "You already asked this as question #{number}; it is {status}. "
                "Send /status to see your questions.",
                number=duplicate.id,
                status=status_label(turn, duplicate.status),
            )
        )
        return
    # Analysed once, if at all: the follow-up rule and a new question read the same analysis.
    analysis = functools.cache(lambda: _analyse(turn, text))
    if target is not None and under_fiche(turn, target, text, replied=replied, analyse=analysis):
        join_under_fiche(turn, target, text)
        return
    if not may_open_question(turn, text):
        return
    _new_question(turn, text, analysis())


def status_label(turn: Turn, status: str) -> str:
    """A question's status in the sender's words."""
    labels: dict[str, str] = {
        QuestionStatus.OFFERED: turn.t("answered from the fiches"),
        QuestionStatus.OPEN: turn.t("with the experts, waiting for an answer"),
        QuestionStatus.ANSWERED: turn.t("answered by an expert"),
        QuestionStatus.RESOLVED: turn.t("resolved"),
    }
    return labels.get(status, status)


def _follow_up_target(turn: Turn) -> tuple[Question | None, bool]:
    """The question a message may follow up, and whether it is a reply to one of its messages.

    An offered question (a fiche answer) is only a candidate: handlers.follow_up decides.
    """
    event, session = turn.event, turn.session
    followable = (*repo.ACTIVE, QuestionStatus.OFFERED)
    if event.reply_to:
        replied = repo.question_for_sent_message(session, event.channel, event.reply_to)
        if replied is not None and replied.asker_id == turn.person.id:
            return (replied, True) if replied.status in followable else (None, True)
    focus = turn.person.focus_question_id
    if focus is None:
        return None, False
    question = conversation_repo.get_question(session, focus)
    if question is None or question.status not in followable:
        return None, False
    return question, False


def _follow_up(turn: Turn, question: Question, text: str) -> None:
    channels = turn.thread_channels(question) or list(turn.services.channels[:1])
    turn.post_in_thread(
        question,
        turn.t_space("Follow-up from the asker:") + f"\n\n{text}",
        channels=[c for c in channels if c in turn.services.channels] or channels,
    )
    record_follow_up(turn, question, text)
    turn.reply(
        turn.t(
            "Added to your question #{number}. (Send /new to ask something else.)",
            number=question.id,
        ),
        question=question,
    )


def _analyse(turn: Turn, text: str) -> Analysis:
    search_approved(turn.services, turn.session)
    return turn.services.triage.analyse(
        text[:ANALYSED_CHARS], hint=turn.event.language_hint, preferred=turn.person.language
    )


def _new_question(turn: Turn, text: str, analysis: Analysis) -> None:
    person = turn.person
    language = analysis.language.language
    turn.learn_language(analysis.language)
    question = repo.add_question(
        turn.session,
        Question(
            asker_id=person.id,
            channel=turn.event.channel,
            text=text,
            language=language,
            topic=analysis.topic.topic,
            topic_confidence=analysis.topic.confidence,
            topic_scores={t: round(p, 4) for t, p in analysis.topic.scores},
            status=QuestionStatus.OFFERED if analysis.decision == "answer" else QuestionStatus.OPEN,
            decision=analysis.decision,
            created_at=turn.now,
            priority=Priority.NORMAL,
        ),
    )
    repo.log_event(
        turn.session,
        "asked",
        turn.now,
        question_id=question.id,
        actor_id=person.id,
        language=language,
        language_source=analysis.language.source,
        topic=analysis.topic.topic,
        topic_confidence=round(analysis.topic.confidence, 3),
        decision=analysis.decision,
        fiches=[[h.fiche_id, round(h.score, 4)] for h in analysis.hits[:3]],
    )
    remember(turn.session, turn.services.triage.embedder, question, analysis.vector)
    if analysis.decision == "answer":
        offer_fiches(turn, question, analysis)
    elif offer_similar(turn, question, analysis):
        return
    elif analysis.decision == "suggest":
        suggest_fiches(turn, question, analysis)
    else:
        refer(
            turn,
            question,
            found=[hit.fiche_id for hit in analysis.hits[: 1 + OTHER_FICHES]],
            vector=analysis.vector,
        )


def offer_fiches(turn: Turn, question: Question, analysis: Analysis) -> None:
    """Answer at once with the best fiche, and offer "this answers it" / "ask an expert"."""
    show_fiches(turn, question, analysis.hits, features=analysis.features)


def show_fiches(
    turn: Turn,
    question: Question,
    hits: tuple[FicheHit, ...],
    heading: str = "",
    *,
    features: Mapping[str, float] | None = None,
) -> None:
    """Show ``hits[0]`` as the answer and the next ones by title, with the asker's choices.

    ``features`` are the answerability model's view of ``hits[0]``, kept for the asker's
    verdict on it.
    """
    best = hits[0]
    _record_shown(turn, question, hits[: 1 + OTHER_FICHES], features)
    # A message typed next may be about this answer (handlers.follow_up decides).
    turn.person.focus_question_id = question.id
    lines = ([heading, ""] if heading else []) + [fiche_card(turn, best)]
    others = hits[1 : 1 + OTHER_FICHES]
    if others:
        lines += ["", turn.t("Other fiches that may help:")]
        lines += [f"• {hit.title}" for hit in others]
    lines += ["", turn.t("Does this answer your question?")]
    turn.reply("\n".join(lines), buttons=answer_choices(turn, question), question=question)


def answer_choices(turn: Turn, question: Question, *, full_fiche: bool = True) -> list[Button]:
    """The asker's choices under a fiche answer."""
    return [
        Button(turn.t("This answers it"), f"helped:{question.id}"),
        Button(turn.t("Ask an expert"), f"expert:{question.id}"),
        *([Button(turn.t("Show the full fiche"), f"fiche:{question.id}")] if full_fiche else []),
        Button(turn.t("Not what I asked"), f"other:{question.id}"),
    ]


def suggest_fiches(turn: Turn, question: Question, analysis: Analysis) -> None:
    """Route the question at once, and show the asker the fiches that may help meanwhile."""
    shown = analysis.hits[: 1 + OTHER_FICHES]
    _record_shown(turn, question, shown, analysis.features)
    refer(turn, question, vector=analysis.vector)
    lines = [turn.t("These fiches may help while an expert looks at your question:")]
    for hit in shown:
        line = f"• {hit.title}"
        if hit.language != turn.language:
            line += f" ({language_name(hit.language, turn.language)})"
        lines.append(line)
    turn.reply(
        "\n".join(lines),
        buttons=[
            Button(_button_label(hit.title), f"fiche:{question.id}:{rank}")
            for rank, hit in enumerate(shown)
        ],
        question=question,
    )


def offer_similar(turn: Turn, question: Question, analysis: Analysis) -> bool:
    """Offer the answer to a close earlier question instead of routing; False if none is close.

    The asker can still ask an expert: the question then goes to the experts as it would have.
    """
    if analysis.vector is None:
        return False
    close = earlier_answers(turn, question, analysis.vector, turn.config.knowledge.similar_offered)
    if not close:
        return False
    similar, answer = close[0]
    _, partner = answered_by(turn, answer)
    question.status = QuestionStatus.OFFERED
    question.decision = "similar"
    turn.person.focus_question_id = None
    repo.log_event(
        turn.session,
        "similar_offered",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        similar=similar.question.id,
        score=round(similar.score, 4),
    )
    lines = [
        turn.t(
            "A similar question was answered on {date} by {partner}:",
            date=format_day(
                answer.answered_at, turn.language, turn.services.timezone_of(turn.person)
            ),
            partner=partner,
        ),
        "",
        answer.text,
    ]
    written_in = turn.services.triage.detector.detect(answer.text, preferred=turn.language).language
    if written_in != turn.language:
        lines += [
            "",
            turn.t(
                "(This answer is in {language}.)",
                language=language_name(written_in, turn.language),
            ),
        ]
    lines += ["", turn.t("Does this answer your question?")]
    turn.reply(
        "\n".join(lines),
        buttons=[
            Button(turn.t("This answers it"), f"helped:{question.id}"),
            Button(turn.t("Ask an expert"), f"expert:{question.id}"),
        ],
        question=question,
    )
    return True


def _record_shown(
    turn: Turn,
    question: Question,
    hits: tuple[FicheHit, ...],
    features: Mapping[str, float] | None,
) -> None:
    fiches = [{"id": h.fiche_id, "language": h.language, "score": round(h.score, 4)} for h in hits]
    conversation_repo.add_fiche_answer(
        turn.session, question.id, fiches, turn.now, features=dict(features or {}) or None
    )


def _button_label(title: str, limit: int = 48) -> str:
    """A fiche's title short enough for a button."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def fiche_card(turn: Turn, hit: FicheHit) -> str:
    """A fiche's title and summary, labelled when it is not in the reader's language."""
    text = f"{hit.title}\n{hit.summary}".strip()
    if hit.language != turn.language:
        text += "\n" + turn.t(
            "(This fiche is available in {language}.)",
            language=language_name(hit.language, turn.language),
        )
    return text
