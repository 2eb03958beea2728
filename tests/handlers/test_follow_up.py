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


def analysis(
    decision: str,
    fiche: str,
    topic: str | None,
    confidence: float = 0.9,
    scores: tuple[tuple[str, float], ...] = (),
) -> Analysis:
    """What the triage concluded of a message: its decision, best fiche and topic."""
    hit = FicheHit(fiche, "en", "A title", "A summary", (), 0.9, 0.9, 0.9)
    guess = TopicGuess(topic, confidence, scores)
    return Analysis(Detection("en", "text"), guess, (hit,), decision)


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


def test_another_topic_only_just_ahead_of_the_question_s_own_keeps_the_message() -> None:
    """Read on another topic at 0.27 against 0.19 for the question's: not clearly new."""
    text = "This is not about my case, I need the legal deadline for signing the contract."
    close = (("sme-entrepreneurship", 0.27), ("work-based-learning", 0.19))
    weak = analysis("route", "x", "sme-entrepreneurship", 0.27, close)
    assert not clearly_new(text, ASKED, weak, shown=set())
    far = (("sme-entrepreneurship", 0.54), ("work-based-learning", 0.05))
    strong = analysis("route", "x", "sme-entrepreneurship", 0.54, far)
    assert clearly_new(text, ASKED, strong, shown=set())
