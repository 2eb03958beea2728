"""The follow-up rule's test of a clearly new question, case by case, without a database."""

from __future__ import annotations

from ground.storage.models import Question
from handlers.follow_up import clearly_new
from knowledge.index import FicheHit
from routing.language import Detection
from routing.topics import TopicGuess
from routing.triage import Analysis

ASKED = Question(
    text="How can small firms share an apprentice between several employers?",
    topic="work-based-learning",
)


def analysis(decision: str, fiche: str, topic: str | None) -> Analysis:
    """What the triage concluded of a message: its decision, best fiche and topic."""
    hit = FicheHit(fiche, "en", "A title", "A summary", (), 0.9, 0.9, 0.9)
    return Analysis(Detection("en", "text"), TopicGuess(topic, 0.9, ()), (hit,), decision)


def test_an_instant_answer_from_a_fiche_not_shown_is_a_new_question() -> None:
    text = "Which grants pay for a village broadband network?"
    fresh = analysis("answer", "broadband-grants", "work-based-learning")
    assert clearly_new(text, ASKED, fresh, shown={"employer-pool"})
    # The fiche already shown answering again: the message stays with the question.
    again = analysis("answer", "employer-pool", "work-based-learning")
    assert not clearly_new(text, ASKED, again, shown={"employer-pool"})


def test_another_topic_is_new_only_when_the_words_are_not_shared() -> None:
    # One content word shared ("small"): too few, a question of its own.
    unrelated = "Which grants pay for broadband in small villages?"
    assert clearly_new(unrelated, ASKED, analysis("route", "x", "digital"), shown=set())
    # Two shared ("small", "employers" as "emplo"): a follow-up despite the topic.
    related = "Do small employers get grants for broadband?"
    assert not clearly_new(related, ASKED, analysis("route", "x", "digital"), shown=set())


def test_the_same_topic_or_no_topic_keeps_the_message_with_the_question() -> None:
    unrelated = "Which grants pay for a village broadband network?"
    same = analysis("route", "x", "work-based-learning")
    assert not clearly_new(unrelated, ASKED, same, shown=set())
    assert not clearly_new(unrelated, ASKED, analysis("suggest", "x", None), shown=set())
