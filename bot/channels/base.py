"""The narrow interface every channel adapter implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from handlers.events import Delivery, Inbound, Sent

__all__ = ["Channel", "Deliver", "PermanentSendError"]

Deliver = Callable[[Inbound], Awaitable[None]]


class PermanentSendError(Exception):
    """A message the platform will never accept (blocked bot, deleted chat): do not retry."""


class Channel(Protocol):
    """A chat platform: it hands inbound events to ``deliver`` and sends deliveries.

    ``send`` sends to ``delivery.chat_id`` (a private chat) or, when it is None, to the
    channel's experts' space, opening a thread when ``opens_thread`` is set.
    """

    name: str

    async def start(self, deliver: Deliver) -> None:
        """Connect and begin handing inbound events to ``deliver``."""
        ...

    async def send(self, delivery: Delivery) -> Sent:
        """Send one message; raise on failure (PermanentSendError if retrying is pointless)."""
        ...

    async def stop(self) -> None:
        """Stop receiving and release connections."""
        ...
