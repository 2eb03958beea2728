"""What every channel adapter needs alike: files named in text, a bounded memory, retries."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from handlers.events import Attachment, Span

__all__ = ["Backoff", "Recent", "Transient", "name_files", "retry"]

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def name_files(
    text: str,
    formatting: Sequence[Span],
    attachments: Sequence[Attachment],
    sendable: Callable[[Attachment], bool],
) -> tuple[str, tuple[Span, ...], tuple[Attachment, ...]]:
    """The text with the files this channel cannot send named after it, and those it can.

    Files from another platform cannot be sent by reference, so their names (and captions)
    are added on lines of their own. The formatting is kept, cut where the text was trimmed.
    """
    files = tuple(a for a in attachments if sendable(a))
    named = [a.label() for a in attachments if not sendable(a)]
    if not named:
        return text, tuple(formatting), files
    kept = text.rstrip()
    spans = tuple(
        Span(s.kind, s.start, min(s.end, len(kept)), s.url)
        for s in formatting
        if s.start < len(kept)
    )
    return kept + "\n" + "\n".join(named), spans, files


class Recent(OrderedDict[K, V]):
    """A mapping that forgets its oldest keys beyond ``limit``: memory that cannot grow."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the newest entry, dropping the oldest over the limit."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class Transient(Exception):
    """A failure that may pass: ``error`` is raised once the retries are spent.

    ``wait`` is how long the platform asked to wait (a rate limit); None backs off.
    """

    def __init__(self, error: Exception, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


@dataclass(frozen=True)
class Backoff:
    """How one call is retried: ``attempts`` in all, ``delay`` doubled after each failure.

    A rate limit's wait longer than ``max_wait`` is not waited: the outbox retries later.
    """

    attempts: int
    delay: float
    max_wait: float


async def retry(call: Callable[[], Awaitable[T]], backoff: Backoff, *, channel: str) -> T:
    """Make ``call`` up to ``backoff.attempts`` times while it fails with ``Transient``.

    Between attempts: the wait the platform asked for, or the back-off's delay doubled each
    time. A wait asked for that is longer than ``backoff.max_wait`` gives up at once.
    """
    for attempt in range(1, backoff.attempts + 1):
        try:
            return await call()
        except Transient as transient:
            asked = transient.wait
            wait = asked if asked is not None else backoff.delay * 2 ** (attempt - 1)
            if attempt == backoff.attempts or (asked is not None and asked > backoff.max_wait):
                raise transient.error from transient.error.__cause__
            if asked is not None:
                log.warning("%s: rate limited (%s); waiting %.2f s", channel, transient.error, wait)
            else:
                log.warning("%s: %s; retrying in %.2f s", channel, transient.error, wait)
            await asyncio.sleep(wait)
    raise ValueError("retry needs at least one attempt")
