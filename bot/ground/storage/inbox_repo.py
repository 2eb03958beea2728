"""The durable inbox's queries: store a batch of raw events once, read the unhandled, mark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.ground.storage.models import InboxEvent

__all__ = ["NewEvent", "mark_handled", "prune_handled", "store_events", "unhandled"]


@dataclass(frozen=True)
class NewEvent:
    """One raw event as received: the platform's id, its conversation, and its payload."""

    platform_id: str
    conversation: str
    payload: dict[str, Any]


def store_events(
    session: Session, channel: str, events: Sequence[NewEvent], now: dt.datetime
) -> int:
    """Add the events not stored yet (a redelivery is skipped); return how many were new."""
    if not events:
        return 0
    ids = [event.platform_id for event in events]
    known = set(
        session.scalars(
            select(InboxEvent.platform_id).where(
                InboxEvent.channel == channel, InboxEvent.platform_id.in_(ids)
            )
        )
    )
    added = 0
    for event in events:
        if event.platform_id in known:
            continue
        known.add(event.platform_id)
        session.add(
            InboxEvent(
                channel=channel,
                platform_id=event.platform_id,
                conversation=event.conversation,
                payload=event.payload,
                received_at=now,
            )
        )
        added += 1
    return added


def unhandled(session: Session, channel: str, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
    """The oldest unhandled events of ``channel`` (id and payload), in arrival order."""
    rows = session.execute(
        select(InboxEvent.id, InboxEvent.payload)
        .where(InboxEvent.channel == channel, InboxEvent.handled_at.is_(None))
        .order_by(InboxEvent.id)
        .limit(limit)
    )
    return [(row.id, row.payload) for row in rows]


def mark_handled(session: Session, event_id: int, now: dt.datetime) -> None:
    """Record that the event was handled, so a restart does not handle it again.

    The raw payload (names, text) is blanked: what the core keeps of it is in its own tables,
    where privacy erase and retention reach it; the row stays, so a redelivery is still known.
    """
    session.execute(
        update(InboxEvent).where(InboxEvent.id == event_id).values(handled_at=now, payload={})
    )


def prune_handled(session: Session, before: dt.datetime, limit: int = 1000) -> int:
    """Delete up to ``limit`` events handled before ``before``; return how many."""
    ids = list(
        session.scalars(
            select(InboxEvent.id)
            .where(InboxEvent.handled_at.is_not(None), InboxEvent.handled_at < before)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(delete(InboxEvent).where(InboxEvent.id.in_(ids)))
    return len(ids)
