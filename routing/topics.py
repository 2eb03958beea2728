"""Classify a question into one topic from fiche matches, example questions and keywords."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ground.config import Topic
from knowledge.index import FicheHit
from knowledge.text import fold_accents

__all__ = ["TopicClassifier", "TopicGuess"]

# How much each signal counts; tuned on the public sample (bench/eval_kb.py).
EXAMPLE_WEIGHT = 3.0
FICHE_WEIGHT = 0.6
KEYWORD_WEIGHT = 0.12
FICHES_CONSULTED = 3  # their primary topics count; secondary ones did not help here
# A topic's nearness is the mean of its this many nearest examples. The single nearest one
# was often a lucky match in the question's own language: alone it chose the right topic for
# 68 % of the sample's questions, the mean of five for 83 %.
NEAREST_EXAMPLES = 5


@dataclass(frozen=True)
class TopicGuess:
    """The chosen topic (None when unclear), its confidence and every topic's score."""

    topic: str | None
    confidence: float
    scores: tuple[tuple[str, float], ...]


class TopicClassifier:
    """Scores topics from three signals.

    Nearness to each topic's embedded description and examples, the topics of the
    best-matching fiches, and keyword hits in any language.
    """

    def __init__(
        self,
        topics: Sequence[Topic],
        embed: Callable[[list[str]], sparse.csr_matrix],
        *,
        min_confidence: float,
    ) -> None:
        self.topic_ids = [t.id for t in topics]
        self.min_confidence = min_confidence
        texts: list[str] = []
        # Each topic's description and examples are the rows start:end of the vectors.
        self._spans: list[tuple[int, int]] = []
        for topic in topics:
            start = len(texts)
            texts.append(f"{topic.name}: {topic.description}")
            for examples in topic.examples.values():
                texts.extend(examples)
            self._spans.append((start, len(texts)))
        self._vectors = embed(texts)
        self._keywords = [
            [
                fold_accents(word.lower().strip())
                for words in topic.keywords.values()
                for word in words
                if word.strip()
            ]
            for topic in topics
        ]

    def classify(
        self, text: str, vector: sparse.csr_matrix, hits: Sequence[FicheHit]
    ) -> TopicGuess:
        """Return the best topic for a question embedded as ``vector`` with these fiche hits."""
        count = len(self.topic_ids)
        similarity = np.full(count, -1.0, dtype=np.float32)
        if self._vectors.shape[0]:
            nearness = np.asarray((self._vectors @ vector.T).todense()).ravel()
            for i, (start, end) in enumerate(self._spans):
                nearest = np.sort(nearness[start:end])[::-1][:NEAREST_EXAMPLES]
                similarity[i] = nearest.mean()
        # Only differences between topics matter, and they are small in cosine terms.
        example = (similarity - similarity.mean()) * 10.0
        fiche = np.zeros(count, dtype=np.float32)
        for hit in hits[:FICHES_CONSULTED]:
            if hit.topics and hit.topics[0] in self.topic_ids:
                fiche[self.topic_ids.index(hit.topics[0])] += max(hit.score, 0.0)
        if fiche.sum() > 0:
            fiche = fiche / fiche.sum()
        folded = " " + fold_accents(text.lower()) + " "
        keyword = np.array(
            [sum(1 for k in keywords if starts_a_word(folded, k)) for keywords in self._keywords],
            dtype=np.float32,
        )
        total = EXAMPLE_WEIGHT * example + FICHE_WEIGHT * 10 * fiche + KEYWORD_WEIGHT * 10 * keyword
        order = np.argsort(-total, kind="stable")
        probabilities = np.exp(total - total.max())
        probabilities /= probabilities.sum()
        scores = tuple((self.topic_ids[i], float(probabilities[i])) for i in order)
        best, confidence = scores[0]
        return TopicGuess(best if confidence >= self.min_confidence else None, confidence, scores)


def starts_a_word(text: str, keyword: str) -> bool:
    """Whether ``keyword`` begins a word of ``text``, so 'apprenti' also finds 'apprentices'.

    A word begins where the character before is not a letter or digit (an underscore counts
    as a break). Searched with ``str.find`` rather than a regular expression per keyword: a
    network's topics hold over a thousand keywords, and compiling them cost a third of
    building the triage at every start.
    """
    start = text.find(keyword)
    while start != -1:
        if start == 0 or not text[start - 1].isalnum():
            return True
        start = text.find(keyword, start + 1)
    return False
