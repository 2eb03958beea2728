"""Failed dashboard logins, counted per key (an account name and an address), to slow guessing."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable

from bot.clock import Clock

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """After ``limit`` failures within ``window`` for a key, its logins wait.

    Kept in memory: a restart forgets the failures, which costs a guesser one more window,
    while nothing about them needs to outlive the process.
    """

    MAX_KEYS = 10_000  # beyond this, keys whose failures are all old are dropped

    def __init__(
        self, clock: Clock, *, limit: int = 5, window: dt.timedelta = dt.timedelta(minutes=15)
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, collections.deque[dt.datetime]] = {}

    def wait(self, keys: Iterable[str]) -> dt.timedelta | None:
        """How long these keys must still wait before a login is checked; None if not."""
        now = self.clock.now()
        longest: dt.timedelta | None = None
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self.limit:
                remaining = failures[-self.limit] + self.window - now
                longest = remaining if longest is None else max(longest, remaining)
        return longest

    def failed(self, keys: Iterable[str]) -> None:
        """Count one failed login against each key."""
        now = self.clock.now()
        if len(self._failures) > self.MAX_KEYS:
            for key in [k for k in self._failures if not self._recent(k, now)]:
                del self._failures[key]
        for key in keys:
            self._failures.setdefault(key, collections.deque(maxlen=self.limit)).append(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        """Forget the failures of these keys."""
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: dt.datetime) -> collections.deque[dt.datetime]:
        failures = self._failures.get(key, collections.deque())
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        return failures
