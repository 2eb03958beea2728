"""The people the config names (partners, experts, coordinators) mirrored into the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage import directory_repo, repo
from ground.storage.models import Question
from routing.locality import is_local
from routing.matching import Candidate, Need, Weights

__all__ = ["asker_country", "candidates", "need_of", "sync_directory", "weights_of"]


def sync_directory(session: Session, config: Config, now: dt.datetime) -> None:
    """Make partners, experts and coordinators in the database match the config."""
    for spec in config.partners:
        directory_repo.save_partner(session, spec.id, spec.name, spec.country, spec.timezone)
    wanted: dict[str, tuple[str, str, str | None, tuple[str, ...], dict[str, str]]] = {}
    for expert in config.experts:
        wanted[expert.id] = (
            "expert",
            expert.name,
            expert.partner,
            expert.languages,
            dict(expert.identities),
        )
    for coordinator in config.coordinators:
        wanted[coordinator.id] = (
            "coordinator",
            coordinator.name,
            coordinator.partner or None,
            coordinator.languages,
            dict(coordinator.identities),
        )
    existing = directory_repo.configured_people(session)
    for key, (role, name, partner, languages, identities) in wanted.items():
        person = directory_repo.save_person(
            session,
            existing.get(key),
            key,
            role=role,
            name=name,
            partner=partner,
            languages=languages,
            now=now,
        )
        for channel, account in identities.items():
            directory_repo.link_identity(session, person, channel, account)
    for key, person in existing.items():
        if key not in wanted and person.active:
            person.active = False
            repo.log_event(session, "person_removed", now, actor_id=person.id, config_id=key)


def candidates(session: Session, config: Config) -> tuple[list[Candidate], list[Candidate]]:
    """Experts and coordinators as routing sees them now: topics, languages, away, load."""
    loads = repo.load_by_person(session)
    experts = {e.id: e for e in config.experts}
    coordinators = {c.id: c for c in config.coordinators}
    found: dict[str, list[Candidate]] = {"expert": [], "coordinator": []}
    for role in found:
        for person in repo.people_by_role(session, role):
            if role == "expert" and (spec := experts.get(person.config_id or "")):
                languages, topics, capacity = spec.languages, spec.topics, spec.capacity
            elif role == "coordinator" and (lead := coordinators.get(person.config_id or "")):
                languages, topics, capacity = lead.languages, (), 10**6
            else:
                continue
            found[role].append(
                Candidate(
                    person_id=person.id,
                    key=person.config_id or "",
                    name=person.display_name,
                    partner=person.partner_id or "",
                    languages=languages,
                    topics=topics,
                    capacity=capacity,
                    away=person.away,
                    load=loads.get(person.id, 0),
                    country=partner.country
                    if (partner := config.partner(person.partner_id or ""))
                    else "",
                )
            )
    return found["expert"], found["coordinator"]


def asker_country(config: Config, language: str) -> str:
    """The asker's country as far as the bot can tell, or "" when it cannot.

    Askers are not asked where they are: it is the one country whose partners work first in
    ``language`` (el: GR, ro: RO …), and none when no partner or several countries do.
    """
    countries = {p.country for p in config.partners if p.languages[:1] == (language,) and p.country}
    return countries.pop() if len(countries) == 1 else ""


def weights_of(config: Config) -> Weights:
    """The configured figures that rank experts."""
    routing = config.routing
    return Weights(routing.near_topic_share, routing.same_country_bonus, routing.load_weight)


def need_of(config: Config, question: Question) -> Need:
    """What ``question`` asks of its experts, from what the bot stored when it was asked."""
    return Need(
        topic=question.topic,
        language=question.language,
        topic_scores=question.topic_scores or {},
        country=asker_country(config, question.language),
        local=is_local(question.text),
    )
