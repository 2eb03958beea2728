"""Rows for tests that fill a database by hand: an asker and their questions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ground.storage.models import Person, Question


def add_asker(session: Session, created_at: dt.datetime, **fields: Any) -> Person:
    """A new asker, flushed so that its id is known."""
    asker = Person(role="asker", created_at=created_at, **fields)
    session.add(asker)
    session.flush()
    return asker


def question_row(asker: Person, text: str, created_at: dt.datetime, **fields: Any) -> Question:
    """A question asked on the console in English, routed and open unless ``fields`` say."""
    values = {"channel": "console", "language": "en", "status": "open", "decision": "route"}
    return Question(asker_id=asker.id, text=text, created_at=created_at, **(values | fields))
