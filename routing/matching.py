"""Choose who receives a routed question: expertise as a whole, language, country and load.

Experts come in tiers, each tried only when the one before has nobody available:

1. ``none``: experts of the question's topic who read its language;
2. ``near_topic``: experts of a near topic (one the classifier finds at least
   ``NEAR_TOPIC_SHARE`` as likely as the chosen one) who read its language;
3. ``english``: experts of the topic or a near one who read the common language;
4. ``coordinators``.

Within a tier, experts are ranked by how likely the question is on any of their topics (the
classifier's probabilities summed over them, not only the top topic), plus
``SAME_COUNTRY_BONUS`` for a local question when their partner is in the asker's country,
minus ``LOAD_WEIGHT`` times the share of their capacity in use. The three figures are the
defaults of ``[routing]`` in the configuration, passed in as ``Weights``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "LOAD_WEIGHT",
    "NEAR_TOPIC_SHARE",
    "SAME_COUNTRY_BONUS",
    "Candidate",
    "Need",
    "Reason",
    "RouteDecision",
    "Weights",
    "match",
]

NEAR_TOPIC_SHARE = 0.25
SAME_COUNTRY_BONUS = 0.3
LOAD_WEIGHT = 0.5


@dataclass(frozen=True)
class Weights:
    """The figures that rank experts (``[routing]`` of the configuration)."""

    near_topic_share: float = NEAR_TOPIC_SHARE
    same_country_bonus: float = SAME_COUNTRY_BONUS
    load_weight: float = LOAD_WEIGHT


@dataclass(frozen=True)
class Candidate:
    """An expert or coordinator as routing sees them, with their current load."""

    person_id: int
    key: str
    name: str
    partner: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    capacity: int
    away: bool
    load: int
    country: str = ""  # their partner's, ISO 3166 alpha-2

    @property
    def available(self) -> bool:
        """Neither away nor at capacity."""
        return not self.away and self.load < self.capacity


@dataclass(frozen=True)
class Need:
    """What a question asks of its experts.

    ``topic_scores`` are the classifier's probabilities of every topic (empty: ``topic`` is
    certain, as when a coordinator set it); ``country`` is the asker's, when known, and
    ``local`` says the question is about their own place (a law, a local authority).
    """

    topic: str | None
    language: str
    topic_scores: Mapping[str, float] = field(default_factory=dict)
    country: str = ""
    local: bool = False

    def likelihood(self) -> dict[str, float]:
        """Each topic's probability, the chosen topic's included even when it was set by hand."""
        if self.topic is None:
            return {}
        scores = dict(self.topic_scores)
        if not scores or max(scores, key=scores.__getitem__) != self.topic:
            return {self.topic: 1.0}
        return scores

    def near_topics(self, share: float = NEAR_TOPIC_SHARE) -> set[str]:
        """Topics other than the chosen one at least ``share`` as likely as it."""
        scores = self.likelihood()
        if self.topic is None:
            return set()
        floor = share * scores[self.topic]
        return {t for t, p in scores.items() if t != self.topic and p >= floor}


@dataclass(frozen=True)
class Reason:
    """Why one candidate was chosen: the language they read, their topic, country, load."""

    language: str | None  # the language they were chosen for reading (None: coordinator)
    topic: str | None  # their topic the question is most likely on
    same_country: bool
    load: int


@dataclass(frozen=True)
class RouteDecision:
    """The primary assignee, the others mentioned, which fallback was needed, and why."""

    primary: Candidate | None
    mentioned: tuple[Candidate, ...]
    fallback: str  # none | near_topic | english | coordinators
    reasons: tuple[Reason, ...] = ()  # one per person of ``everyone``, in the same order

    @property
    def everyone(self) -> tuple[Candidate, ...]:
        """The primary assignee first, then the mentioned ones."""
        return ((self.primary,) if self.primary else ()) + self.mentioned

    @property
    def partners(self) -> tuple[str, ...]:
        """The partners of everyone who receives the question, without repeats."""
        return tuple(dict.fromkeys(c.partner for c in self.everyone if c.partner))


def match(
    need: Need,
    experts: Sequence[Candidate],
    coordinators: Sequence[Candidate],
    *,
    mention_others: int,
    common_language: str = "en",
    weights: Weights = Weights(),
) -> RouteDecision:
    """Rank the directory as it is now for ``need`` (see the module's docstring)."""
    language, topic = need.language, need.topic
    likelihood = need.likelihood()
    near = need.near_topics(weights.near_topic_share)
    pools: list[tuple[str, str | None, list[Candidate]]] = []
    if topic is not None:
        free = [e for e in experts if e.available]
        readers = [e for e in free if language in e.languages]
        pools.append(("none", language, [e for e in readers if topic in e.topics]))
        pools.append(("near_topic", language, [e for e in readers if near & set(e.topics)]))
        english = [e for e in free if common_language in e.languages]
        pools.append(
            ("english", common_language, [e for e in english if ({topic} | near) & set(e.topics)])
        )
    pools.append(("coordinators", None, [c for c in coordinators if not c.away]))

    def same_country(c: Candidate) -> bool:
        return need.local and bool(need.country) and c.country == need.country

    def score(c: Candidate) -> float:
        fit = sum(likelihood.get(t, 0.0) for t in c.topics)
        bonus = weights.same_country_bonus if same_country(c) else 0.0
        return fit + bonus - weights.load_weight * c.load / max(c.capacity, 1)

    for fallback, read, pool in pools:
        if not pool:
            continue
        # Best score first; among equals, who reads the asker's language, then by key.
        ranked = sorted(pool, key=lambda c: (-score(c), language not in c.languages, c.key))
        chosen = ranked[: 1 + mention_others]
        reasons = tuple(
            Reason(
                language=read,
                topic=max(
                    (t for t in c.topics if t in likelihood),
                    key=likelihood.__getitem__,
                    default=None,
                ),
                same_country=same_country(c),
                load=c.load,
            )
            for c in chosen
        )
        return RouteDecision(chosen[0], tuple(chosen[1:]), fallback, reasons)
    return RouteDecision(None, (), "coordinators")
