"""How likely the best fiche answers a question: a logistic model over cheap signals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.index import FicheHit
from routing.cues import cue_kinds
from routing.language import Detection
from routing.linear import load_model, require_weights, weighted_sum
from routing.topics import TopicGuess

__all__ = ["FEATURES", "LEAD_DEPTH", "MODEL_PATH", "AnswerabilityModel", "decide", "features"]

MODEL_PATH = Path(__file__).with_name("answerability.json")

FEATURES = (
    "best",
    "margin",
    "topic_agreement",
    "topic_confidence",
    "topical",
    "term_cover",
    "word_cover",
    "word_cover_squared",
    "specific",
    "gist",
    "margin_elsewhere",
    "lead_share",
)

# The hits the re-ranker's values are compared over for ``lead_share``: its depth.
LEAD_DEPTH = 5

# Tried and left out (grouped CV on 200 questions, then 100 written before and kept unseen):
# - `semantic` equalled `best`, and `lexical` (BM25) was 0 on every question: BM25 is built
#   only when `knowledge.lexical_weight` weighs it in the ranking, 0 by default.
# - agreement of the dense e5 vectors with the latent terms (dense rank and margin of the
#   best fiche): a small gain, for a second forward pass per question (about twice the
#   pipeline's cost) and dense vectors for every fiche.
# - the fiche's language against the asker's and the question's length: on the sample they
#   learnt its make-up (uncovered questions meet English fiches), not answerability.
# - a "practice" cue (has anyone, examples, experience... in ten languages) as a signal for:
#   no gain in grouped CV on 400 questions; the margin of the gist over the next hit's:
#   no gain over the gist itself.
# - on the blind sets (fresh3-fresh5, each scored by a model fitted without it): the best
#   match with one body section, the dense views (whole fiche, gist, margins) and the gist's
#   margin each moved at most one wrong answer of 112. `margin_elsewhere` (the lead measured
#   outside the asker's language, where a fiche's own-language version inflates its match)
#   took wrong answers at 0.85 from 6 to 4 at the same coverage: kept.
# - `word_cover_squared` (2026-12-08): eight blind sets, each scored without it, 0.954 / 0.694
#   / 0.975 at 0.85 before, 0.952 / 0.700 / 0.975 with it; it lets the model weigh a high
#   share of shared words for, not against: "How can very small craft firms in a rural valley
#   share one apprentice between them?" went from 0.89 to 0.99 with the Mayo fiche first.
# - `lead_share` (the re-ranker's softmax share of the first hit among the first five) took
#   six blind sets, each scored with the re-ranker and the model fitted without it, from
#   0.957 precision at coverage 0.611 to 0.963 at 0.644 (answer band 0.85): kept. The
#   re-ranker's raw lead (its value's margin over the second) gained nothing.


def features(
    text: str, detection: Detection, topic: TopicGuess, hits: Sequence[FicheHit]
) -> dict[str, float]:
    """The signals the model weighs, for the best hit of ``hits`` (all zero when none)."""
    if not hits:
        return dict.fromkeys(FEATURES, 0.0)
    best = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    likelihood = dict(topic.scores)
    return {
        "best": best.score,
        "margin": best.score - second,
        "topic_agreement": max(
            (likelihood.get(fiche_topic, 0.0) for fiche_topic in best.topics), default=0.0
        ),
        "topic_confidence": topic.confidence,
        "topical": best.topical,
        "term_cover": best.term_cover,
        "word_cover": best.word_cover,
        # Most questions on a fiche are asked in another language (no shared words), and most
        # that share a few words with one in theirs are not about it: alone, the share
        # counted against any question in a fiche's own language, however well it matched.
        "word_cover_squared": best.word_cover**2,
        "specific": float(min(len(cue_kinds(text)), 3)),
        "gist": best.gist,
        "margin_elsewhere": best.elsewhere - (hits[1].elsewhere if len(hits) > 1 else 0.0),
        "lead_share": lead_share(hits[:LEAD_DEPTH]),
    }


def lead_share(hits: Sequence[FicheHit]) -> float:
    """The first hit's share of the re-ranker's softmax over ``hits``: 1 alone, 1/n when even."""
    values = [hit.rerank for hit in hits]
    top = max(values)
    weights = [math.exp(value - top) for value in values]
    return weights[0] / sum(weights)


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardised features, one weight each and a bias: the probability a fiche answers."""

    means: dict[str, float]
    scales: dict[str, float]
    weights: dict[str, float]
    bias: float

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerabilityModel:
        """Read a model written by bench/fit_answerability.py."""
        return load_model(path, cls.from_dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerabilityModel:
        """A model from its stored form (the file's, or a calibrated one's in the database)."""
        require_weights(data, FEATURES)
        return cls(data["means"], data["scales"], data["weights"], float(data["bias"]))

    def as_dict(self) -> dict[str, Any]:
        """The model's stored form."""
        return {
            "means": dict(self.means),
            "scales": dict(self.scales),
            "weights": dict(self.weights),
            "bias": self.bias,
        }

    def confidence(self, values: dict[str, float]) -> float:
        """The probability (0..1) that the best fiche answers the question."""
        z = self.bias + weighted_sum(values, FEATURES, self.means, self.scales, self.weights)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def decide(confidence: float, answer_at: float, suggest_at: float) -> str:
    """``answer`` from ``answer_at`` up, ``suggest`` from ``suggest_at`` up, else ``route``."""
    if confidence >= answer_at:
        return "answer"
    if confidence >= suggest_at:
        return "suggest"
    return "route"
