"""Which topic and language pairs have an expert, and how often each pair is asked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage import stats_repo
from handlers.stats.period import Period

__all__ = ["Coverage", "coverage"]


@dataclass(frozen=True)
class Coverage:
    """Experts per topic and language, and questions asked per pair in the period."""

    topics: tuple[str, ...]
    languages: tuple[str, ...]
    experts: dict[tuple[str, str], int]
    asked: dict[tuple[str, str], int]

    def gaps(self) -> list[tuple[str, str, int]]:
        """Pairs with no expert as (topic, language, questions asked), most asked first."""
        found = [
            (topic, language, self.asked.get((topic, language), 0))
            for topic in self.topics
            for language in self.languages
            if not self.experts.get((topic, language))
        ]
        order = {t: i for i, t in enumerate(self.topics)}
        lang = {code: i for i, code in enumerate(self.languages)}
        return sorted(found, key=lambda g: (-g[2], order[g[0]], lang[g[1]]))


def coverage(session: Session, config: Config, period: Period) -> Coverage:
    """The coverage matrix of the configured experts, with the period's demand."""
    experts: dict[tuple[str, str], int] = {}
    for expert in config.experts:
        for topic in expert.topics:
            for language in expert.languages:
                experts[(topic, language)] = experts.get((topic, language), 0) + 1
    asked = stats_repo.asked_by_pair(session, (period.start, period.end))
    return Coverage(
        topics=tuple(t.id for t in config.topics),
        languages=config.languages.supported,
        experts=experts,
        asked=asked,
    )
