"""Topic classification on questions written for this test (not the public sample)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from ground.config import Topic, load_config
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
