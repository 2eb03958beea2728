"""The durable inbox's queries: store a batch of raw events once, claim the unhandled, mark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from ground.storage.models import InboxEvent

__all__ = [
    "NewEvent",
    "claim",
    "mark_handled",
    "prune_handled",
    "release",
    "release_receiver_lock",
    "renew",
    "store_events",
    "take_receiver_lock",
]


_STORE = insert(cast(Table, InboxEvent.__table__))
# PostgreSQL session-level advisory locks; the schema is part of the key, so that databases
# in separate schemas (the tests') elect their receivers separately.
_TAKE_LOCK = "SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext(:key))"
_RELEASE_LOCK = "SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext(:key))"


def take_receiver_lock(connection: Connection, key: str) -> bool:
    """Try to become the one receiver of ``key`` for as long as ``connection`` stays open."""
    return bool(connection.scalar(text(_TAKE_LOCK), {"key": key}))


def release_receiver_lock(connection: Connection, key: str) -> None:
    """Stop being the receiver of ``key`` (the server also ends it when the connection dies)."""
    connection.execute(text(_RELEASE_LOCK), {"key": key})


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
    rows = []
    for event in events:
        if event.platform_id in known:
            continue
        known.add(event.platform_id)
        rows.append(
            {
                "channel": channel,
                "platform_id": event.platform_id,
                "conversation": event.conversation,
                "payload": event.payload,
                "received_at": now,
            }
        )
    if rows:
        # One statement for the batch, in arrival order (the ids give the handling order).
        session.connection().execute(_STORE, rows)
    return len(rows)


def claim(
    session: Session,
    channel: str,
    owner: str,
    now: dt.datetime,
    stale_before: dt.datetime,
    limit: int,
) -> list[tuple[int, dict[str, Any]]]:
    """Claim for ``owner`` the oldest unhandled events it may handle now (id and payload).

    Free events are those claimed by nobody, by ``owner`` already, or so long ago that their
    process is taken for dead. Rows another transaction is claiming are skipped (``FOR UPDATE
    SKIP LOCKED`` on PostgreSQL), and an event is claimed only if no earlier unhandled event of
    its conversation is left out, so a conversation's events are handled in arrival order
    however many processes share the inbox.
    """
    free = or_(
        InboxEvent.claimed_by.is_(None),
        InboxEvent.claimed_by == owner,
        InboxEvent.claimed_at < stale_before,
    )
    candidates = session.execute(
        select(InboxEvent.id, InboxEvent.conversation, InboxEvent.payload)
        .where(InboxEvent.channel == channel, InboxEvent.handled_at.is_(None), free)
        .order_by(InboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    ids = [row.id for row in candidates]
    # The first unhandled event of each conversation outside the candidates: claimed by
    # another process, being claimed, or past the limit. Nothing after it may go first.
    blocked_from: dict[str, int] = {
        conversation: first
        for conversation, first in session.execute(
            select(InboxEvent.conversation, func.min(InboxEvent.id))
            .where(
                InboxEvent.channel == channel,
                InboxEvent.handled_at.is_(None),
                InboxEvent.conversation.in_({row.conversation for row in candidates}),
                InboxEvent.id.not_in(ids),
            )
            .group_by(InboxEvent.conversation)
        )
    }
    taken = [row for row in candidates if row.id < blocked_from.get(row.conversation, row.id + 1)]
    if taken:
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_([row.id for row in taken]))
            .values(claimed_by=owner, claimed_at=now)
        )
    return [(row.id, row.payload) for row in taken]


def mark_handled(session: Session, event_ids: Sequence[int], now: dt.datetime) -> None:
    """Record that these events were handled, so no process handles them again.

    The raw payload (names, text) is blanked: what the core keeps of it is in its own tables,
    where privacy erase and retention reach it; the row stays, so a redelivery is still known.
    """
    if event_ids:
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(list(event_ids)))
            .values(handled_at=now, payload={})
        )


def renew(session: Session, channel: str, owner: str, now: dt.datetime) -> None:
    """Keep ``owner``'s claims on unhandled events fresh: it is alive and working on them."""
    session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.channel == channel,
            InboxEvent.claimed_by == owner,
            InboxEvent.handled_at.is_(None),
        )
        .values(claimed_at=now)
    )


def release(session: Session, event_ids: Sequence[int]) -> None:
    """Give claimed events back unhandled (a stopping process), for any process to claim."""
    if event_ids:
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(list(event_ids)), InboxEvent.handled_at.is_(None))
            .values(claimed_by=None, claimed_at=None)
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
