"""The topic classifier's stored weights: how its signals combine, and terms learnt per topic.

Fitted by bench/fit_topics.py on the public sample and the project's own labelled questions
(a conditional logit over the signals with a prior per topic, and a multinomial logistic
regression over the question's latent terms), stored in topic_model.json. The learnt terms
and priors belong to one taxonomy and one embedder; with any other, the classifier weighs
only the signals every taxonomy has (its examples, the fiches found and its keywords), with
their own weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse

from routing.linear import load_model

__all__ = ["LEARNT", "SIGNALS", "TOPIC_MODEL_PATH", "Learnt", "TopicModel"]

TOPIC_MODEL_PATH = Path(__file__).with_name("topic_model.json")

SIGNALS = ("example", "fiche", "keyword")  # every taxonomy has these
LEARNT = "learnt"  # the latent-term model's log-odds, for the taxonomy it was fitted on


class Learnt(NamedTuple):
    """The learnt terms in one taxonomy's topic order: what they add to each topic's sum."""

    matrix: sparse.csr_matrix  # dimension × topics: each latent term's weight per topic
    bias: np.ndarray  # of the latent-term model, one per topic
    prior: np.ndarray  # added to the signals' weighted sum, one per topic


@dataclass(frozen=True)
class TopicModel:
    """Weights of the signals with and without the learnt terms, those terms and the priors."""

    weights: dict[str, float]  # SIGNALS and LEARNT
    fallback: dict[str, float]  # SIGNALS only: another taxonomy or embedder
    topics: tuple[str, ...]
    embedder: str
    terms: np.ndarray  # latent-term indices with a learnt weight
    coefficients: np.ndarray  # one row per term, one column per topic
    bias: np.ndarray  # one per topic
    # Added to each topic's weighted sum with the learnt terms: the signals alone over-read
    # some topics (a council named in a question is not territorial cooperation).
    prior: np.ndarray  # one per topic

    @classmethod
    def load(cls, path: Path = TOPIC_MODEL_PATH) -> TopicModel:
        """Read the model written by bench/fit_topics.py."""
        return load_model(path, cls.from_dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TopicModel:
        """A model from its stored form; a missing weight or a misshapen table is refused."""
        weights = {name: float(data["weights"][name]) for name in (*SIGNALS, LEARNT)}
        fallback = {name: float(data["fallback"][name]) for name in SIGNALS}
        topics = tuple(str(t) for t in data["topics"])
        terms = np.asarray(data["terms"], dtype=np.int64).reshape(-1)
        coefficients = np.asarray(data["coefficients"], dtype=np.float32).reshape(
            len(terms), len(topics)
        )
        bias = np.asarray(data["bias"], dtype=np.float32)
        prior = np.asarray(data["prior"], dtype=np.float32)
        if bias.shape != (len(topics),) or prior.shape != (len(topics),):
            raise ValueError("one bias and one prior per topic")
        return cls(
            weights, fallback, topics, str(data["embedder"]), terms, coefficients, bias, prior
        )

    def as_dict(self) -> dict[str, Any]:
        """The stored form: weights rounded for a readable file, terms as lists."""
        return {
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "fallback": {k: round(v, 4) for k, v in self.fallback.items()},
            "topics": list(self.topics),
            "embedder": self.embedder,
            "bias": [round(float(b), 4) for b in self.bias],
            "prior": [round(float(p), 4) for p in self.prior],
            "terms": [int(t) for t in self.terms],
            "coefficients": [[round(float(c), 4) for c in row] for row in self.coefficients],
        }

    def learnt_for(self, topic_ids: list[str], embedder: str, dimension: int) -> Learnt | None:
        """The learnt terms' (dimension × topics) matrix, bias and priors in ``topic_ids``' order.

        None when they do not apply: another taxonomy, another embedder or its vectors.
        """
        if sorted(topic_ids) != sorted(self.topics) or embedder != self.embedder:
            return None
        if len(self.terms) and int(self.terms.max()) >= dimension:
            return None
        order = [self.topics.index(t) for t in topic_ids]
        rows = np.repeat(self.terms, len(order))
        columns = np.tile(np.arange(len(order)), len(self.terms))
        values = self.coefficients[:, order].reshape(-1)
        matrix = sparse.csr_matrix(
            (values, (rows, columns)), shape=(dimension, len(order)), dtype=np.float32
        )
        return Learnt(matrix, self.bias[order], self.prior[order])
