"""Ranking fiches with the question's likely topic, and what decides answer or route."""

from __future__ import annotations

from knowledge.index import FicheHit
from routing.topics import TopicGuess
from routing.triage import SECONDARY_TOPIC_SHARE, rank_by_topic


def hit(fiche_id: str, score: float, *topics: str) -> FicheHit:
    return FicheHit(fiche_id, "en", fiche_id, "", topics, score, score, 0.0)


GUESS = TopicGuess(
    "skills-anticipation",
    0.7,
    (("skills-anticipation", 0.7), ("territorial-cooperation", 0.2), ("eu-funding", 0.1)),
)


def test_a_fiche_on_the_questions_topic_overtakes_a_slightly_better_text_match() -> None:
    hits = (
        hit("helpdesk", 0.30, "eu-funding"),
        hit("mentors", 0.29, "trainer-competences"),
        hit("table", 0.26, "territorial-cooperation", "skills-anticipation"),
    )
    ranked = rank_by_topic(hits, GUESS, 0.1)
    assert [h.fiche_id for h in ranked] == ["table", "helpdesk", "mentors"]
    table = ranked[0]
    expected = 0.1 * (0.2 + SECONDARY_TOPIC_SHARE * 0.7)
    assert abs(table.topical - expected) < 1e-9
    assert table.score == 0.26  # the match score, which the answer threshold reads, is kept
    assert abs(table.rank_score - (0.26 + expected)) < 1e-9


def test_a_weight_of_zero_keeps_the_text_order() -> None:
    hits = (hit("a", 0.3, "eu-funding"), hit("b", 0.2, "skills-anticipation"))
    assert rank_by_topic(hits, GUESS, 0.0) == hits
    assert rank_by_topic((), GUESS, 0.1) == ()


def test_a_far_better_text_match_keeps_its_place() -> None:
    hits = (hit("strong", 0.45, "eu-funding"), hit("on-topic", 0.25, "skills-anticipation"))
    assert [h.fiche_id for h in rank_by_topic(hits, GUESS, 0.075)] == ["strong", "on-topic"]
