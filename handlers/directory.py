"""The people the config names (partners, experts, coordinators) mirrored into the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.ground.config import Config
from bot.ground.storage import directory_repo, repo
from routing.matching import Candidate

__all__ = ["candidates", "sync_directory"]


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
                )
            )
    return found["expert"], found["coordinator"]
