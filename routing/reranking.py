"""Re-rank the first fiches found for a question with a pairwise model over cheap signals.

The search orders fiches by one match score, and a neighbouring fiche often leads by a hair
(a tutor-training fiche before the teacher-internship one). Signals the pipeline already has
for every hit (its match score, the topic's lift, whether it has a version in the asker's
language, its match with the fiche's title and summary alone) are weighed by a pairwise
logistic model fitted by bench/fit_reranking.py, whose coefficients live in reranking.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge.index import FicheHit
from routing.linear import load_model, require_weights, weighted_sum

__all__ = ["RANK_FEATURES", "RERANKING_PATH", "Reranker", "hit_features"]

RERANKING_PATH = Path(__file__).with_name("reranking.json")

RANK_FEATURES = ("score", "topical", "own_language", "gist")

# Tried and left out (grouped 5-fold CV on the base set, P@1 0.890 by the search's order):
# term_cover, word_cover, the likelihood of the fiche's primary or of any of its topics, the
# fiche's number of versions and its hubness (mean nearness to the topics' example questions)
# each gained nothing or lost a question over score + topical + own_language (P@1 0.911).
# The gist (the match with the title and summary alone) took P@1 from 0.880 to 0.924 in
# grouped CV on the base set and the first fresh set (400 questions); the best match with
# any one body section, or the mean of the best two, gained at most 0.008.


def hit_features(hit: FicheHit, language: str) -> dict[str, float]:
    """What the re-ranker knows of one hit for a question in ``language``."""
    return {
        "score": hit.score,
        "topical": hit.topical,
        # A version in the asker's own language matches on shared words too, so it scores
        # higher than an equally good fiche in another language; the model learns how much.
        # (The hit is shown in the asker's language only when the fiche has that version.)
        "own_language": float(hit.language == language),
        "gist": hit.gist,
    }


@dataclass(frozen=True)
class Reranker:
    """A linear score over standardised hit features; the first ``depth`` hits are re-ordered."""

    means: dict[str, float]
    scales: dict[str, float]
    weights: dict[str, float]
    depth: int

    @classmethod
    def load(cls, path: Path = RERANKING_PATH) -> Reranker:
        """Read the re-ranker written by bench/fit_reranking.py."""
        return load_model(path, cls.from_dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reranker:
        """A re-ranker from its stored form."""
        require_weights(data, RANK_FEATURES)
        return cls(
            dict(data["means"]),
            dict(data["scales"]),
            dict(data["weights"]),
            int(data["depth"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The re-ranker's stored form."""
        return {
            "means": dict(self.means),
            "scales": dict(self.scales),
            "weights": dict(self.weights),
            "depth": self.depth,
        }

    def value(self, values: dict[str, float]) -> float:
        """The hit's re-ranking score: only its order against the others matters."""
        return weighted_sum(values, RANK_FEATURES, self.means, self.scales, self.weights)

    def rerank(self, hits: Sequence[FicheHit], language: str) -> tuple[FicheHit, ...]:
        """The first ``depth`` hits in the re-ranker's order, the rest as they were.

        Every hit carries its value (``FicheHit.rerank``): how far the first leads the others
        is a signal of the answerability model.
        """
        valued = [replace(hit, rerank=self.value(hit_features(hit, language))) for hit in hits]
        head = sorted(valued[: self.depth], key=lambda hit: -hit.rerank)
        return tuple(head) + tuple(valued[self.depth :])
