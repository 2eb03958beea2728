"""The people the config names (partners, experts, coordinators) mirrored into the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.storage import repo
from bot.storage.models import Identity, Partner, Person
from routing.matching import Candidate

__all__ = ["candidates", "sync_directory"]


def sync_directory(session: Session, config: Config, now: dt.datetime) -> None:
    """Make partners, experts and coordinators in the database match the config."""
    for spec in config.partners:
        row = session.get(Partner, spec.id) or Partner(id=spec.id)
        row.name, row.country, row.timezone = spec.name, spec.country, spec.timezone
        session.add(row)
    session.flush()
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
    existing: dict[str, Person] = {
        p.config_id or "": p
        for p in session.scalars(select(Person).where(Person.config_id.is_not(None)))
    }
    for key, (role, name, partner, languages, identities) in wanted.items():
        person = existing.get(key)
        if person is None:
            person = Person(config_id=key, created_at=now, away=False)
            session.add(person)
        person.role, person.display_name, person.partner_id = role, name, partner
        person.active = True
        if not person.language_explicit:
            person.language = languages[0]
        session.flush()
        for channel, external_id in identities.items():
            identity = repo.find_identity(session, channel, external_id)
            if identity is None:
                identity = Identity(channel=channel, external_id=external_id)
                session.add(identity)
            identity.person_id = person.id
            identity.display_name = name
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
