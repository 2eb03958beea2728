"""Classify a question into one topic from example questions, fiche matches, keywords and terms.

Each signal gives every topic a score; their weighted sum, through a softmax, is every
topic's likelihood (the routing weighs them all). The weights, and the latent terms learnt
per topic, come from routing/topic_model.json (bench/fit_topics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ground.config import Topic
from knowledge.index import FicheHit
from knowledge.text import fold_accents
from routing.topic_model import LEARNT, TopicModel

__all__ = ["TopicClassifier", "TopicGuess"]

log = logging.getLogger(__name__)

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
    """Scores topics from four signals.

    Nearness to each topic's embedded description and examples, the topics of the
    best-matching fiches (weighed by their match), keyword hits in any language, and the
    latent terms learnt for each topic of the taxonomy the stored model was fitted on.
    """

    def __init__(
        self,
        topics: Sequence[Topic],
        embed: Callable[[list[str]], sparse.csr_matrix],
        *,
        min_confidence: float,
        embedder: str = "",
        model: TopicModel | None = None,
    ) -> None:
        """``embedder`` names the model behind ``embed``: learnt terms apply to it alone."""
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
        model = model or TopicModel.load()
        self._learnt = model.learnt_for(self.topic_ids, embedder, self._vectors.shape[1])
        self.weights = model.weights if self._learnt is not None else model.fallback
        if self._learnt is None and embedder:
            log.info(
                "the stored topic model was learnt for another taxonomy or embedder; "
                "topics are read from their examples, the fiches found and keywords"
            )

    def signals(
        self, text: str, vector: sparse.csr_matrix, hits: Sequence[FicheHit]
    ) -> dict[str, np.ndarray]:
        """Each signal's score for every topic (bench/fit_topics.py fits their weights)."""
        count = len(self.topic_ids)
        similarity = np.full(count, -1.0, dtype=np.float32)
        if self._vectors.shape[0]:
            nearness = np.asarray((self._vectors @ vector.T).todense()).ravel()
            for i, (start, end) in enumerate(self._spans):
                nearest = np.sort(nearness[start:end])[::-1][:NEAREST_EXAMPLES]
                similarity[i] = nearest.mean()
        # Only differences between topics matter, and they are small in cosine terms.
        example = (similarity - similarity.mean()) * 10.0
        # Summed, not shared out: a weak match says little about a question no fiche covers.
        fiche = np.zeros(count, dtype=np.float32)
        for hit in hits[:FICHES_CONSULTED]:
            if hit.topics and hit.topics[0] in self.topic_ids:
                fiche[self.topic_ids.index(hit.topics[0])] += max(hit.score, 0.0)
        folded = " " + fold_accents(text.lower()) + " "
        keyword = np.array(
            [sum(1 for k in keywords if starts_a_word(folded, k)) for keywords in self._keywords],
            dtype=np.float32,
        )
        values = {"example": example, "fiche": fiche, "keyword": keyword}
        if self._learnt is not None:
            learnt = np.asarray((vector @ self._learnt.matrix).todense()).ravel()
            values[LEARNT] = learnt + self._learnt.bias
        return values

    def classify(
        self, text: str, vector: sparse.csr_matrix, hits: Sequence[FicheHit]
    ) -> TopicGuess:
        """Return the best topic for a question embedded as ``vector`` with these fiche hits."""
        values = self.signals(text, vector, hits)
        total = np.asarray(
            sum(self.weights[name] * value for name, value in values.items()), dtype=np.float64
        )
        if self._learnt is not None:
            total += self._learnt.prior
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
