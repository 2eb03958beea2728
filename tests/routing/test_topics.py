"""Topic classification on questions written for this test (not the public sample)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import sparse

from ground.config import Topic, load_config
from knowledge.index import FicheHit
from routing.topics import TopicClassifier, starts_a_word
from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture(scope="module")
def classifier(embedder) -> TopicClassifier:  # type: ignore[no-untyped-def]
    config = load_config(EXAMPLE_CONFIG, environ={})
    return TopicClassifier(
        config.topics, embedder.queries, min_confidence=0.25, embedder=embedder.name
    )


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        (
            "Wer kann unserer Stadt beim ersten Erasmus+ Antrag für die Berufsschule helfen?",
            "eu-funding",
        ),
        (
            "Quels indicateurs suivre pour évaluer notre politique de formation professionnelle ?",
            "policy-monitoring",
        ),
        (
            "¿Cómo reconocer la experiencia laboral de adultos sin título para que obtengan una "
            "cualificación?",
            "guidance-lifelong-learning",
        ),
        (
            "Πώς εκπαιδεύουμε τους εκπαιδευτές των επιχειρήσεων που δέχονται μαθητευόμενους;",
            "trainer-competences",
        ),
    ],
)
def test_classifies_in_several_languages(embedder, classifier, text: str, topic: str) -> None:  # type: ignore[no-untyped-def]
    guess = classifier.classify(text, embedder.queries([text]), [])
    assert guess.scores[0][0] == topic, guess.scores[:3]


def test_fiche_topics_count(embedder, classifier) -> None:  # type: ignore[no-untyped-def]
    text = "What did other towns do about this?"
    vector = embedder.queries([text])
    hit = FicheHit("f", "en", "t", "s", ("digital-learning",), score=0.4, semantic=0.4, lexical=0.0)
    with_fiches = dict(classifier.classify(text, vector, [hit, hit, hit]).scores)
    without = dict(classifier.classify(text, vector, []).scores)
    # A question this vague is read from its fiches and the topics' priors (since the fitted
    # priors, a general one such as SME entrepreneurship may still lead): the fiches' topic
    # must gain, well beyond the digits that differ between CPUs.
    assert with_fiches["digital-learning"] > 2 * without["digital-learning"]


def test_unclear_topic_is_none(embedder) -> None:  # type: ignore[no-untyped-def]
    config = load_config(EXAMPLE_CONFIG, environ={})
    strict = TopicClassifier(
        config.topics, embedder.queries, min_confidence=0.99, embedder=embedder.name
    )
    text = "Hello, can someone help me?"
    assert strict.classify(text, embedder.queries([text]), []).topic is None


def test_several_near_examples_outweigh_one_lucky_match() -> None:
    """A topic is as near as its five nearest examples together, not its single nearest."""
    lucky, fair, far = [0.9, np.sqrt(1 - 0.81), 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]
    vectors = {"lucky example": lucky, "fair 1": fair, "fair 2": fair, "fair 3": fair}
    topics = [
        Topic("lucky", "Lucky", "", examples={"en": ("lucky example", "far 1", "far 2")}),
        Topic("steady", "Steady", "", examples={"en": ("fair 1", "fair 2", "fair 3")}),
    ]

    def embed(texts: list[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix(np.array([vectors.get(t, far) for t in texts]))

    classifier = TopicClassifier(topics, embed, min_confidence=0.0)
    question = sparse.csr_matrix(np.array([[1.0, 0.0, 0.0]]))
    # The single nearest example is the lucky topic's (0.9 against 0.6).
    assert classifier.classify("q", question, ()).topic == "steady"


# Letters (with accents and other scripts), digits, the underscore, spaces and punctuation.
PIECES = st.text(alphabet="aäbé_1 -'.Ωω٣", max_size=12)


# No deadline: the shared machine's load, not the search, would set an example's time.
@settings(deadline=None)
@given(text=PIECES, keyword=PIECES)
@example(text=" x_apprentices ", keyword="apprenti")
@example(text="la1apprenti", keyword="apprenti")
@example(text=" apprenti ", keyword="")
def test_a_keyword_begins_a_word_as_the_former_pattern_said(text: str, keyword: str) -> None:
    """``starts_a_word`` finds what the regular expression per keyword found, and only that."""
    pattern = re.compile(r"(?<![^\W_])" + re.escape(keyword))
    assert starts_a_word(text, keyword) == bool(pattern.search(text))


def test_keywords_count_once_each_where_they_begin_a_word() -> None:
    topics = [
        Topic(
            "apprenticeships", "A", "", keywords={"en": ("apprentice", "firm"), "fr": ("Apprenti",)}
        ),
        Topic("other", "O", "", keywords={"en": ("prentice",)}),
    ]

    def embed(texts: list[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix(np.zeros((len(texts), 3)))

    classifier = TopicClassifier(topics, embed, min_confidence=0.0)
    question = sparse.csr_matrix(np.zeros((1, 3)))
    # 'apprentice' and 'apprenti' begin 'Apprentices'; 'prentice' only sits inside it.
    guess = classifier.classify("Firms' Apprentices?", question, ())
    assert guess.topic == "apprenticeships"
    # Three hits against none; every other signal is level.
    per_hit = classifier.weights["keyword"]
    assert dict(guess.scores)["apprenticeships"] == pytest.approx(1 / (1 + np.exp(-3 * per_hit)))
