"""The co-pilot: what the bot found for a routed question, shown to the experts in its thread."""

from __future__ import annotations

from collections.abc import Sequence

from scipy import sparse

from ground.storage.answers_repo import EarlierAnswer, answer_of
from ground.storage.models import Question
from handlers.context import Turn
from handlers.i18n import format_day
from knowledge.repository import question_vectors
from knowledge.similar import SimilarQuestion, remember

__all__ = [
    "answered_by",
    "copilot_lines",
    "earlier_answers",
    "languages_of",
    "question_vector",
]

# Fiches and earlier questions listed in a thread at most.
SHOWN = 3
EXCERPT = 120


def question_vector(turn: Turn, question: Question) -> sparse.csr_matrix:
    """The question's embedding: the stored one, else computed now and stored."""
    embedder = turn.services.triage.embedder
    stored = question_vectors(turn.session, embedder.name, [question.id]).get(question.id)
    if stored is not None:
        indices, values = stored
        return sparse.csr_matrix(
            (values, indices, [0, len(indices)]), shape=(1, embedder.dimension)
        )
    return remember(turn.session, embedder, question, None)


def earlier_answers(
    turn: Turn, question: Question, vector: sparse.csr_matrix, min_score: float
) -> list[tuple[SimilarQuestion, EarlierAnswer]]:
    """Earlier questions near ``question`` from ``min_score`` up, with the answer each got.

    Searched once per event and question, from the lower of the two thresholds: the offer to
    the asker and the thread's co-pilot then share it.
    """
    pairs = turn.earlier.get(question.id)
    if pairs is None:
        knowledge = turn.config.knowledge
        found = turn.services.answered.search(
            turn.session,
            vector,
            min_score=min(knowledge.similar_shown, knowledge.similar_offered, min_score),
            exclude=question.id,
            limit=SHOWN,
        )
        pairs = []
        for similar in found:
            answer = answer_of(turn.session, similar.question.id)
            if answer is not None:
                pairs.append((similar, answer))
        turn.earlier[question.id] = pairs
    return [(similar, answer) for similar, answer in pairs if similar.score >= min_score]


def answered_by(turn: Turn, answer: EarlierAnswer) -> tuple[str, str]:
    """Who answered (name, and partner when known) and the partner alone (else the name)."""
    partner = turn.config.partner(answer.author.partner_id or "")
    name = answer.author.display_name
    return (f"{name} ({partner.name})" if partner else name), (partner.name if partner else name)


def copilot_lines(
    turn: Turn,
    question: Question,
    *,
    shown: bool = False,
    found: Sequence[str] = (),
    vector: sparse.csr_matrix | None = None,
) -> list[str]:
    """The co-pilot's lines for a question's thread, in the experts' space's language.

    When the asker was shown no fiche (``shown``), the fiches the bot ``found`` (ids), with
    their languages; then earlier answered questions that are close, with who answered them
    and when; and how to send either to the asker.
    """
    t, space = turn.t_space, turn.space_language
    lines: list[str] = []
    listed = []
    if not shown:
        for fiche_id in list(dict.fromkeys(found))[:SHOWN]:
            versions = turn.services.triage.index.versions_of(fiche_id)
            if versions:
                title = next(
                    (v for code in (space, "en") for v in versions if v.language == code),
                    versions[0],
                ).title
                listed.append(f"• {title} ({fiche_id} · {languages_of(turn, fiche_id)})")
        if listed:
            lines += ["", t("Fiches the bot found for this question:"), *listed]
    vector = vector if vector is not None else question_vector(turn, question)
    earlier = earlier_answers(turn, question, vector, turn.config.knowledge.similar_shown)
    if earlier:
        lines += ["", t("Earlier answers to close questions:")]
        zone = turn.config.languages.default_timezone
        for similar, answer in earlier:
            who, _ = answered_by(turn, answer)
            day = format_day(answer.answered_at, space, zone)
            excerpt = " ".join(similar.question.text.split())
            if len(excerpt) > EXCERPT:
                excerpt = excerpt[: EXCERPT - 1].rstrip() + "…"
            line = t(
                "#{number} · answered {day} by {who}: {excerpt}",
                number=similar.question.id,
                day=day,
                who=who,
                excerpt=excerpt,
            )
            lines.append(f"• {line}")
    if shown or listed or earlier:
        lines += ["", t("/fiche ID sends a fiche to the asker; /similar N an earlier answer.")]
    if shown:
        lines.append(
            t("/verdict right or /verdict wrong tells the bot whether the fiche shown fit.")
        )
    return lines


def languages_of(turn: Turn, fiche_id: str) -> str:
    """The languages a fiche is written in, as the thread shows them: "DE, EN"."""
    versions = turn.services.triage.index.versions_of(fiche_id)
    return ", ".join(sorted(v.language.upper() for v in versions)) or "?"
