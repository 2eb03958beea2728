"""Routing by expertise as a whole, on the example config's people (no database needed)."""

from __future__ import annotations

import dataclasses

from ground.config import Config, load_config
from handlers.directory import asker_country, weights_of
from routing.locality import is_local
from routing.matching import (
    LOAD_WEIGHT,
    NEAR_TOPIC_SHARE,
    SAME_COUNTRY_BONUS,
    Candidate,
    Need,
    Weights,
    match,
)
from tests.conftest import EXAMPLE_CONFIG

CONFIG = load_config(EXAMPLE_CONFIG, environ={})


def directory(
    config: Config = CONFIG, *, loads: dict[str, int] | None = None, away: tuple[str, ...] = ()
) -> list[Candidate]:
    """The example's experts as routing sees them, with the loads and absences given."""
    loads = loads or {}
    people = []
    for number, expert in enumerate(config.experts, 1):
        partner = config.partner(expert.partner)
        people.append(
            Candidate(
                person_id=number,
                key=expert.id,
                name=expert.name,
                partner=expert.partner,
                languages=expert.languages,
                topics=expert.topics,
                capacity=expert.capacity,
                away=expert.id in away,
                load=loads.get(expert.id, 0),
                country=partner.country if partner else "",
            )
        )
    return people


def coordinators(config: Config = CONFIG) -> list[Candidate]:
    return [
        Candidate(100 + n, c.id, c.name, c.partner, c.languages, (), 10**6, False, 0)
        for n, c in enumerate(config.coordinators)
    ]


def scores(**topics: float) -> dict[str, float]:
    return {name.replace("_", "-"): p for name, p in topics.items()}


# A Portuguese question on funding alternance: mostly work-based learning, partly EU funding.
ALTERNANCE_FUNDING = scores(work_based_learning=0.55, eu_funding=0.3, sme_entrepreneurship=0.05)


def test_a_language_nobody_of_the_top_topic_reads_goes_to_a_near_topic_reader() -> None:
    need = Need("work-based-learning", "pt", ALTERNANCE_FUNDING)
    decision = match(need, directory(), coordinators(), mention_others=2)
    # Claire and Jonas (work-based learning) read no Portuguese; Lucía (EU funding) does.
    assert decision.fallback == "near_topic"
    assert decision.primary is not None and decision.primary.key == "lucia"
    [reason] = decision.reasons
    assert (reason.language, reason.topic, reason.same_country) == ("pt", "eu-funding", False)


def test_then_english_when_no_reader_of_a_near_topic_is_free() -> None:
    need = Need("work-based-learning", "pt", ALTERNANCE_FUNDING)
    decision = match(need, directory(away=("lucia",)), coordinators(), mention_others=2)
    assert decision.fallback == "english"
    everyone = [c.key for c in decision.everyone]
    # Every English reader of the topic or a near one, the top topic's experts first.
    assert everyone[:2] == ["claire", "jonas"] and set(everyone[2:]) <= {"eleni", "mila"}
    assert all(r.language == "en" for r in decision.reasons)


def test_a_topic_set_by_hand_is_certain_no_near_topic() -> None:
    # A coordinator's /topic overrides the classifier: its other topics no longer count.
    need = Need("sme-entrepreneurship", "pt", ALTERNANCE_FUNDING)
    decision = match(need, directory(), coordinators(), mention_others=2)
    assert decision.fallback == "english"
    assert {c.key for c in decision.everyone} == {"claire", "piotr"}


def test_every_topic_counts_not_only_the_top_one() -> None:
    # An English question on apprenticeships in small craft firms.
    need = Need(
        "work-based-learning",
        "en",
        scores(work_based_learning=0.5, sme_entrepreneurship=0.3, trainer_competences=0.05),
    )
    # Claire has one question more than Jonas; "least loaded first" would choose Jonas.
    decision = match(need, directory(loads={"claire": 1}), coordinators(), mention_others=1)
    assert decision.fallback == "none"
    assert [c.key for c in decision.everyone] == ["claire", "jonas"]
    assert [r.topic for r in decision.reasons] == ["work-based-learning", "work-based-learning"]
    assert [r.load for r in decision.reasons] == [1, 0]


def test_load_still_decides_between_equal_experts() -> None:
    need = Need("work-based-learning", "en", scores(work_based_learning=0.9))
    decision = match(need, directory(loads={"claire": 2}), coordinators(), mention_others=0)
    assert decision.primary is not None and decision.primary.key == "jonas"


def test_a_local_question_prefers_an_expert_of_the_askers_country() -> None:
    # A colleague of Marco's topics at the Lot chamber, reading French as he does.
    colleague = dataclasses.replace(
        next(e for e in CONFIG.experts if e.id == "marco"),
        id="zoe",
        name="Zoé Roux",
        partner="cm-lot",
    )
    config = dataclasses.replace(CONFIG, experts=(*CONFIG.experts, colleague))
    text = "Quel est le délai légal pour contester la décision de la commune ?"
    assert is_local(text)
    country = asker_country(config, "fr")
    assert country == "FR"
    topics = scores(territorial_cooperation=0.6, policy_monitoring=0.2)
    local = Need("territorial-cooperation", "fr", topics, country, local=True)
    decision = match(local, directory(config), coordinators(config), mention_others=1)
    assert [c.key for c in decision.everyone] == ["zoe", "marco"]
    assert [r.same_country for r in decision.reasons] == [True, False]
    # The same question, not local: no bonus, and the two are equal (Marco first by key).
    general = dataclasses.replace(local, local=False)
    decision = match(general, directory(config), coordinators(config), mention_others=1)
    assert [c.key for c in decision.everyone] == ["marco", "zoe"]
    assert not any(r.same_country for r in decision.reasons)


def test_the_weights_come_from_the_config_and_change_the_ranking() -> None:
    # The defaults are the figures the ranking was tuned with.
    assert weights_of(CONFIG) == Weights() == Weights(NEAR_TOPIC_SHARE, SAME_COUNTRY_BONUS, 0.5)
    assert LOAD_WEIGHT == 0.5
    routing = dataclasses.replace(
        CONFIG.routing, near_topic_share=0.6, same_country_bonus=0.0, load_weight=2.0
    )
    weights = weights_of(dataclasses.replace(CONFIG, routing=routing))
    assert weights == Weights(0.6, 0.0, 2.0)

    # Load: with the default weight Claire's second topic outweighs one question more...
    need = Need(
        "work-based-learning",
        "en",
        scores(work_based_learning=0.5, sme_entrepreneurship=0.3, trainer_competences=0.05),
    )
    people = directory(loads={"claire": 1})
    assert match(need, people, coordinators(), mention_others=0).primary.key == "claire"  # type: ignore[union-attr]
    # ... and no longer when load weighs four times as much.
    heavy = match(need, people, coordinators(), mention_others=0, weights=weights)
    assert heavy.primary is not None and heavy.primary.key == "jonas"

    # Near topics: EU funding at 0.3 of 0.55 is near by default, not from a share of 0.6.
    need = Need("work-based-learning", "pt", ALTERNANCE_FUNDING)
    assert match(need, directory(), coordinators(), mention_others=0).fallback == "near_topic"
    assert match(need, directory(), coordinators(), mention_others=0, weights=weights).fallback == (
        "english"
    )


def test_the_askers_country_only_where_one_country_works_in_the_language() -> None:
    assert asker_country(CONFIG, "el") == "GR"
    assert asker_country(CONFIG, "ro") == "RO"
    # English is every partner's second language and Portuguese nobody's first.
    assert asker_country(CONFIG, "en") == ""
    assert asker_country(CONFIG, "pt") == ""


def test_what_counts_as_local() -> None:
    assert is_local("Qual é o prazo legal para recorrer da decisão?")
    assert is_local("Ποια είναι η προθεσμία για την έφεση;")
    assert is_local("Jakie są obowiązki gminy według ustawy?")
    assert not is_local("How do small firms share an apprentice?")
