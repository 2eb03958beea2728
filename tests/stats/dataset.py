"""A hand-made set of questions whose figures are worked out by hand in test_figures.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage.models import Assignment, Event, FicheAnswer, Person, Question
from handlers.directory import sync_directory

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
FROM, TO = "2026-03-01", "2026-03-20"  # the period: 1 March to 20 March included


def load(session: Session, config: Config) -> dict[str, int]:
    """Store the dataset; return the question ids by name (q1 … q9)."""
    sync_directory(session, config, T - 30 * D)
    people = {
        p.config_id: p.id
        for p in session.scalars(select(Person).where(Person.config_id != None))  # noqa: E711
    }
    asker = Person(role="asker", display_name="Asker", created_at=T - 30 * D)
    session.add(asker)
    session.flush()
    ids: dict[str, int] = {}

    def question(
        name: str,
        created: dt.datetime,
        channel: str,
        language: str,
        topic: str | None,
        *,
        routed: bool = True,
        partner: str | None = None,
        experts: tuple[str, ...] = (),
        first: float | None = None,
        resolved: float | None = None,
        helpful: bool | None = None,
        status: str | None = None,
        shown: str | None = None,
    ) -> None:
        routed_at = created if routed else None
        q = Question(
            asker_id=asker.id,
            channel=channel,
            text=f"question {name}",
            language=language,
            topic=topic,
            status=status or ("resolved" if resolved is not None else "open"),
            decision="route" if routed else "answer",
            partner_id=partner,
            created_at=created,
            routed_at=routed_at,
            first_response_at=created + first * H if first is not None else None,
            first_response_due=created + 24 * H if routed else None,
            resolution_due=created + 72 * H if routed else None,
            resolved_at=created + resolved * H if resolved is not None else None,
            helpful=helpful,
        )
        session.add(q)
        session.flush()
        ids[name] = q.id
        if shown is not None:
            # Fiches shown, and what the asker said of them ("" for nothing).
            session.add(
                FicheAnswer(
                    question_id=q.id,
                    fiches=[{"id": "some-fiche", "language": language, "score": 0.3}],
                    feedback=shown or None,
                    created_at=created,
                )
            )
        # The last expert named is the one holding the question; earlier ones passed it.
        for index, expert in enumerate(experts):
            last = index == len(experts) - 1
            session.add(
                Assignment(
                    question_id=q.id,
                    person_id=people[expert],
                    role="primary",
                    active=last,
                    created_at=created,
                    ended_at=None if last else created + H,
                    ended_reason=None if last else "passed",
                )
            )

    question(
        "q1",
        T,
        "console",
        "fr",
        "work-based-learning",
        routed=False,
        resolved=10 / 60,
        helpful=True,
        shown="helped",
    )
    question(
        "q2",
        T + D,
        "telegram",
        "en",
        "eu-funding",
        partner="kedivim",
        experts=("eleni",),
        first=2,
        resolved=30,
        helpful=True,
    )
    question(
        "q3",
        T + D,
        "telegram",
        "el",
        "eu-funding",
        partner="kedivim",
        experts=("eleni",),
        first=10,
        resolved=80,
        helpful=False,
    )
    question(
        "q4",
        T + 2 * D,
        "matrix",
        "fr",
        "eu-funding",
        partner="cc-asturias",
        experts=("lucia",),
        first=30,
        status="answered",
    )
    question(
        "q5",
        T + 3 * D,
        "console",
        "it",
        "skills-anticipation",
        partner="ue-torino",
        experts=("claire", "marco"),
        first=4,
        resolved=20,
        shown="expert",  # a fiche answer the asker sent on to an expert
    )
    question(
        "q6",
        dt.datetime(2026, 3, 19, 10, tzinfo=dt.UTC),
        "telegram",
        "fr",
        "eu-funding",
        partner="cc-asturias",
        experts=("lucia",),
    )
    question(
        "q7",
        dt.datetime(2026, 3, 19, 20, tzinfo=dt.UTC),
        "console",
        "en",
        "policy-monitoring",
        partner="wup-krakow",
        experts=("piotr",),
    )
    # A fiche answer the asker never reacted to: shown, not confirmed.
    question("q8", T + 4 * D, "console", "en", None, routed=False, status="offered", shown="")
    # Before the period: counts only in what is open now.
    question(
        "q9",
        dt.datetime(2026, 2, 20, 9, tzinfo=dt.UTC),
        "telegram",
        "en",
        "eu-funding",
        partner="kedivim",
        experts=("eleni",),
        first=1,
        status="answered",
    )
    for name, kind, when in [
        ("q6", "reminder", dt.datetime(2026, 3, 20, 8, tzinfo=dt.UTC)),
        ("q6", "escalation", dt.datetime(2026, 3, 20, 10, 30, tzinfo=dt.UTC)),
        ("q7", "reminder", dt.datetime(2026, 3, 20, 11, tzinfo=dt.UTC)),
        ("q9", "reminder", dt.datetime(2026, 2, 20, 20, tzinfo=dt.UTC)),
        ("q2", "first_response", T + D + 2 * H),
    ]:
        session.add(Event(question_id=ids[name], kind=kind, detail={}, created_at=when))
    session.flush()
    return ids
