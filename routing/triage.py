"""Read a question once: its language, the fiches that match it, its topic, answer or route."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.embedder import Embedder
from knowledge.index import FicheHit, FicheIndex
from routing.language import Detection, LanguageDetector
from routing.topics import TopicClassifier, TopicGuess

__all__ = ["Analysis", "Triage"]


@dataclass(frozen=True)
class Analysis:
    """Everything the bot concludes from a question's text."""

    language: Detection
    topic: TopicGuess
    hits: tuple[FicheHit, ...]
    decision: str  # answer | route

    @property
    def best(self) -> FicheHit | None:
        """The best-matching fiche, if any."""
        return self.hits[0] if self.hits else None


class Triage:
    """One detector, one embedder, one index and one classifier, applied in order."""

    def __init__(
        self,
        detector: LanguageDetector,
        embedder: Embedder,
        index: FicheIndex,
        classifier: TopicClassifier,
        *,
        answer_threshold: float,
        max_results: int = 10,
        common_language: str = "en",
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.index = index
        self.classifier = classifier
        self.answer_threshold = answer_threshold
        self.max_results = max_results
        self.common_language = common_language

    def analyse(
        self, text: str, *, hint: str | None = None, preferred: str | None = None
    ) -> Analysis:
        """Analyse ``text``; ``hint`` and ``preferred`` only help with short texts."""
        detection = self.detector.detect(text, preferred=preferred, hint=hint)
        vector = self.embedder.queries([text])
        readable = [detection.language, self.common_language]
        hits = tuple(
            self.index.search(
                text, detection.language, vector, preferred=readable, limit=self.max_results
            )
        )
        topic = self.classifier.classify(text, vector, hits)
        confident = bool(hits) and hits[0].score >= self.answer_threshold
        return Analysis(detection, topic, hits, "answer" if confident else "route")
