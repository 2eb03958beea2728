"""Choose who receives a routed question: topic and language, then English, then coordinators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "RouteDecision", "match"]


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

    @property
    def available(self) -> bool:
        """Neither away nor at capacity."""
        return not self.away and self.load < self.capacity


@dataclass(frozen=True)
class RouteDecision:
    """The primary assignee, the others mentioned, and which fallback was needed."""

    primary: Candidate | None
    mentioned: tuple[Candidate, ...]
    fallback: str  # none | english | coordinators

    @property
    def everyone(self) -> tuple[Candidate, ...]:
        """The primary assignee first, then the mentioned ones."""
        return ((self.primary,) if self.primary else ()) + self.mentioned

    @property
    def partners(self) -> tuple[str, ...]:
        """The partners of everyone who receives the question, without repeats."""
        return tuple(dict.fromkeys(c.partner for c in self.everyone if c.partner))


def match(
    topic: str | None,
    language: str,
    experts: Sequence[Candidate],
    coordinators: Sequence[Candidate],
    *,
    mention_others: int,
    common_language: str = "en",
) -> RouteDecision:
    """Apply the routing rule of PRODUCT.md step 5 to the directory as it is now."""
    pools: list[tuple[str, list[Candidate]]] = []
    if topic is not None:
        on_topic = [e for e in experts if topic in e.topics and e.available]
        pools.append(("none", [e for e in on_topic if language in e.languages]))
        pools.append(("english", [e for e in on_topic if common_language in e.languages]))
    pools.append(("coordinators", [c for c in coordinators if not c.away]))
    for fallback, pool in pools:
        if pool:
            # Least loaded first; among equals, who reads the asker's language, then by key.
            ranked = sorted(pool, key=lambda c: (c.load, language not in c.languages, c.key))
            return RouteDecision(ranked[0], tuple(ranked[1 : 1 + mention_others]), fallback)
    return RouteDecision(None, (), "coordinators")
