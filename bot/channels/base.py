"""The narrow interface every channel adapter implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from handlers.events import Delivery, Inbound, Progress, Sent

if TYPE_CHECKING:
    from bot.channels.inbox import Inbox
    from handlers.notices import NewDevice

__all__ = [
    "BatchChannel",
    "Channel",
    "ChannelStartError",
    "Deliver",
    "DeliverMany",
    "InboxChannel",
    "PermanentSendError",
    "RecordProgress",
    "ResumingChannel",
    "StateStore",
    "StatefulChannel",
]

Deliver = Callable[[Inbound], Awaitable[None]]
# Hands several events over at once, handled in order, each in its own transaction.
DeliverMany = Callable[[Sequence[Inbound]], Awaitable[None]]
# Stores a delivery's progress (by outbox id) durably, before the next platform call.
RecordProgress = Callable[[int, Progress], Awaitable[None]]


class PermanentSendError(Exception):
    """A message the platform will never accept (blocked bot, deleted chat): do not retry."""


class ChannelStartError(Exception):
    """A channel could not start; the channels started before it were stopped again."""

    def __init__(self, channel: str, cause: BaseException) -> None:
        detail = str(cause) or type(cause).__name__
        super().__init__(f"the {channel} channel could not start: {detail}")
        self.channel = channel


class StateStore(Protocol):
    """A channel's small key/value memory in the database (sync tokens, device ids)."""

    async def get(self, key: str) -> str | None:
        """The stored value, or None."""
        ...

    async def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier one."""
        ...


@runtime_checkable
class StatefulChannel(Protocol):
    """A channel that keeps state across restarts: it is given its store before ``start``."""

    name: str

    def use_state(self, state: StateStore) -> None:
        """Keep ``state`` for reading at start and writing while running."""
        ...


class Channel(Protocol):
    """A chat platform: it hands inbound events to ``deliver`` and sends deliveries.

    ``send`` sends to ``delivery.chat_id`` (a private chat) or, when it is None, to the
    channel's experts' space, opening a thread when ``opens_thread`` is set.

    With ``replies_in_background`` False, ``deliver`` returns once the event's replies are
    sent (a terminal shows them in order); with True, as soon as the event is handled,
    while the outbox sender sends the replies, still in order.
    """

    name: str
    replies_in_background: bool

    async def start(self, deliver: Deliver) -> None:
        """Connect and begin handing inbound events to ``deliver``."""
        ...

    async def send(self, delivery: Delivery) -> Sent:
        """Send one message; raise on failure (PermanentSendError if retrying is pointless)."""
        ...

    async def stop(self) -> None:
        """Stop receiving and release connections."""
        ...


@runtime_checkable
class InboxChannel(Protocol):
    """A channel that stores what it receives before confirming it: given its inbox first."""

    name: str
    # The platform account it receives for (a bot, a Matrix user): one process receives each.
    account: str

    def use_inbox(self, inbox: Inbox) -> None:
        """Keep ``inbox`` for storing what arrives and handling it from there."""
        ...

    async def stop_receiving(self) -> None:
        """Take no new events; the event in hand finishes, the rest stays in the inbox."""
        ...


@runtime_checkable
class BatchChannel(Protocol):
    """A channel that hands over what it took from its inbox several events at a time.

    One trip to the worker thread for them all: each trip costs about as much as a statement.
    """

    name: str

    def use_batches(self, deliver_many: DeliverMany) -> None:
        """Keep ``deliver_many`` for handing over events together (else ``deliver`` is used)."""
        ...


@runtime_checkable
class ResumingChannel(Protocol):
    """A channel that sends one delivery in several calls (a topic, then parts, then files).

    It records its ``Progress`` after each call but the last, and resumes from
    ``delivery.progress``, so a crash repeats at most the call that was in flight.
    """

    name: str

    def use_progress(self, record: RecordProgress) -> None:
        """Keep ``record`` for storing each delivery's progress as it is made."""
        ...


@runtime_checkable
class EncryptingChannel(Protocol):
    """A channel with end-to-end encryption keys, which may take a new session at start."""

    name: str

    def new_device(self) -> NewDevice | None:
        """The session taken at this start because the old one's keys were lost, if any."""
        ...
