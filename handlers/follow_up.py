"""A message typed under a fiche answer: a follow-up of that question, unless clearly new.

The rule, in order (docs/knowledge.md tells operators the same):

1. A reply (Telegram's reply-to, Matrix's in-reply-to) to a message about one of the asker's
   questions answered from the fiches joins that question, whatever it says.
2. Otherwise, within ``knowledge.follow_up_minutes`` (30; 0 skips this rule) of the fiche
   answer the asker has not yet accepted, refused or sent on, the message joins it unless it
   is clearly a new question: analysed on its own it gets an instant answer from a fiche not
   shown, or a confident topic other than the question's, at least ``OTHER_TOPIC_RATIO``
   times as likely as the question's own, while sharing fewer than ``SHARED_WORDS`` content
   words with it.
3. Otherwise it is a new question; /new makes the next message a new question at once.

Joined, it goes to an expert in the same question, with the fiches shown and what the asker
wrote. A message of fewer than three words ("thanks", "ok") joins nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ground.storage import conversation_repo, repo
from ground.storage.models import Question
from ground.vocabulary import (
    FicheFeedback,
    LabelSource,
    QuestionStatus,
    RelayDirection,
    Verdict,
)
from handlers.context import Turn
from handlers.outcomes import label_fiche_answer
from handlers.referral import refer
from knowledge.text import word_starts
from routing.triage import Analysis

__all__ = [
    "OTHER_TOPIC_RATIO",
    "SHARED_WORDS",
    "clearly_new",
    "join_under_fiche",
    "record_follow_up",
    "under_fiche",
]

SHARED_WORDS = 2
# A message read on another topic only just over the threshold ("I need the legal deadline",
# 0.27 against 0.19 for the question's own) says little about its subject: not clearly new.
OTHER_TOPIC_RATIO = 2.0
# Words this long carry content in every network language; shorter ones are mostly
# articles, pronouns and prepositions.
CONTENT_LETTERS = 5


def under_fiche(
    turn: Turn, question: Question, text: str, *, replied: bool, analyse: Callable[[], Analysis]
) -> bool:
    """Whether ``text`` is a follow-up of the offered ``question`` (see the module's rule).

    ``analyse`` gives the analysis ``text`` gets as a new question, asked for only when needed.
    """
    if question.status != QuestionStatus.OFFERED or question.asker_id != turn.person.id:
        return False
    if replied:
        return True
    answer = repo.latest_fiche_answer(turn.session, question.id)
    if answer is None or answer.feedback is not None:
        return False
    minutes = turn.config.knowledge.follow_up_minutes
    if not minutes or turn.now - answer.created_at > dt.timedelta(minutes=minutes):
        return False
    shown = {f["id"] for a in repo.fiche_answers_of(turn.session, question.id) for f in a.fiches}
    return not clearly_new(text, question, analyse(), shown)


def clearly_new(text: str, question: Question, analysis: Analysis, shown: set[str]) -> bool:
    """Whether ``text`` stands as a question of its own beside ``question`` (see module doc)."""
    best = analysis.best
    if analysis.decision == "answer" and best is not None and best.fiche_id not in shown:
        return True
    topic = analysis.topic.topic
    if topic is None or topic == question.topic:
        return False
    own = dict(analysis.topic.scores).get(question.topic or "", 0.0)
    if analysis.topic.confidence < OTHER_TOPIC_RATIO * own:
        return False
    shared = word_starts(text, CONTENT_LETTERS) & word_starts(question.text, CONTENT_LETTERS)
    return len(shared) < SHARED_WORDS


def join_under_fiche(turn: Turn, question: Question, text: str) -> None:
    """Send the offered ``question`` on to an expert with the fiches shown and ``text``."""
    answer = repo.latest_fiche_answer(turn.session, question.id)
    if answer is not None and answer.feedback is None:
        # As "Ask an expert": the fiche shown did not settle the question.
        answer.feedback, answer.feedback_at = FicheFeedback.EXPERT, turn.now
        label_fiche_answer(turn, question, answer, Verdict.NEGATIVE, LabelSource.ASKER_FOLLOW_UP)
    record_follow_up(turn, question, text, under="fiche")
    refer(turn, question, asker_wrote=text)


def record_follow_up(turn: Turn, question: Question, text: str, **detail: object) -> None:
    """Keep what the asker added to ``question`` as relayed to the experts, and log it."""
    conversation_repo.add_relayed(
        turn.session,
        question.id,
        RelayDirection.TO_EXPERTS,
        turn.person.id,
        turn.event.channel,
        turn.event.message_id,
        text,
        turn.now,
    )
    repo.log_event(
        turn.session,
        "follow_up",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        **detail,
    )
