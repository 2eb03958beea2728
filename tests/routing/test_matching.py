"""The routing rule: topic and language, then English, then coordinators; least loaded first.

The ranking by expertise as a whole, on the example config's people, is in test_ranking.py.
"""

from __future__ import annotations

from routing.matching import Candidate, Need, match


def person(
    key: str,
    languages: tuple[str, ...],
    topics: tuple[str, ...] = ("eu-funding",),
    load: int = 0,
    capacity: int = 3,
    away: bool = False,
) -> Candidate:
    return Candidate(
        person_id=hash(key) % 10_000,
        key=key,
        name=key.title(),
        partner="p-" + key,
        languages=languages,
        topics=topics,
        capacity=capacity,
        away=away,
        load=load,
    )


COORDINATORS = [person("coord", ("en",), topics=())]


def test_topic_and_language_least_loaded_primary() -> None:
    experts = [
        person("a", ("el", "en"), load=2),
        person("b", ("el",), load=0),
        person("c", ("el",), load=1),
        person("d", ("el",), load=1),
    ]
    decision = match(Need("eu-funding", "el"), experts, COORDINATORS, mention_others=2)
    assert decision.fallback == "none"
    assert decision.primary.key == "b"
    assert [c.key for c in decision.mentioned] == ["c", "d"]
    assert decision.partners == ("p-b", "p-c", "p-d")


def test_english_fallback_then_coordinators() -> None:
    experts = [person("a", ("fr", "en")), person("b", ("de",))]
    decision = match(Need("eu-funding", "el"), experts, COORDINATORS, mention_others=2)
    assert decision.fallback == "english" and decision.primary.key == "a"
    decision = match(
        Need("eu-funding", "el"), [person("b", ("de",))], COORDINATORS, mention_others=2
    )
    assert decision.fallback == "coordinators" and decision.primary.key == "coord"


def test_away_and_full_experts_are_skipped() -> None:
    experts = [
        person("away", ("el",), away=True),
        person("full", ("el",), load=3),
        person("free", ("en",), load=2),
    ]
    decision = match(Need("eu-funding", "el"), experts, COORDINATORS, mention_others=2)
    assert decision.fallback == "english"
    assert decision.primary.key == "free" and decision.mentioned == ()


def test_unclear_topic_goes_to_coordinators() -> None:
    decision = match(Need(None, "el"), [person("a", ("el",))], COORDINATORS, mention_others=2)
    assert decision.fallback == "coordinators" and decision.primary.key == "coord"


def test_nobody_at_all() -> None:
    decision = match(Need("eu-funding", "el"), [], [], mention_others=2)
    assert decision.primary is None and decision.fallback == "coordinators"
