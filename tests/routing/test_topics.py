"""Topic classification on questions written for this test (not the public sample)."""

from __future__ import annotations

import pytest

from bot.config import load_config
from knowledge.index import FicheHit
from routing.topics import TopicClassifier
from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture(scope="module")
def classifier(embedder) -> TopicClassifier:  # type: ignore[no-untyped-def]
    config = load_config(EXAMPLE_CONFIG, environ={})
    return TopicClassifier(config.topics, embedder.queries, min_confidence=0.25)


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
    with_fiches = classifier.classify(text, vector, [hit, hit, hit])
    assert with_fiches.scores[0][0] == "digital-learning"


def test_unclear_topic_is_none(embedder) -> None:  # type: ignore[no-untyped-def]
    config = load_config(EXAMPLE_CONFIG, environ={})
    strict = TopicClassifier(config.topics, embedder.queries, min_confidence=0.99)
    text = "Hello, can someone help me?"
    assert strict.classify(text, embedder.queries([text]), []).topic is None
