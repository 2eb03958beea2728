"""Writes that mirror the config's partners, experts and coordinators into the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.storage.models import Identity, Partner, Person

__all__ = ["configured_people", "link_identity", "save_partner", "save_person"]


def save_partner(session: Session, partner_id: str, name: str, country: str, zone: str) -> None:
    """Create or update one partner."""
    row = session.get(Partner, partner_id) or Partner(id=partner_id)
    row.name, row.country, row.timezone = name, country, zone
    session.add(row)
    session.flush()


def configured_people(session: Session) -> dict[str, Person]:
    """Everyone who came from the config, active or not, by config id."""
    people = session.scalars(select(Person).where(Person.config_id.is_not(None)))
    return {p.config_id or "": p for p in people}


def save_person(
    session: Session,
    person: Person | None,
    config_id: str,
    *,
    role: str,
    name: str,
    partner: str | None,
    languages: Sequence[str],
    now: dt.datetime,
) -> Person:
    """Create or update a person of the config; their own language choice is kept."""
    if person is None:
        person = Person(config_id=config_id, created_at=now, away=False)
        session.add(person)
    person.role, person.display_name, person.partner_id = role, name, partner
    person.active = True
    if not person.language_explicit:
        person.language = languages[0]
    session.flush()
    return person


def link_identity(session: Session, person: Person, channel: str, account: str) -> None:
    """Point a platform account at ``person`` (creating its identity when new)."""
    identity = session.scalar(
        select(Identity).where(Identity.channel == channel, Identity.external_id == account)
    )
    if identity is None:
        identity = Identity(channel=channel, external_id=account)
        session.add(identity)
    identity.person_id = person.id
    identity.display_name = person.display_name
