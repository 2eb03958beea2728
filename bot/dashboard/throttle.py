"""Failed dashboard logins, counted per key (an account name and an address), to slow guessing."""

from __future__ import annotations

import collections
import datetime as dt

from bot.ground.clock import Clock

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

    def wait(self, key: str) -> dt.timedelta | None:
        """How long logins for ``key`` must still wait before they are checked; None if not."""
        failures = self._recent(key, self.clock.now())
        if len(failures) < self.limit:
            return None
        return failures[0] + self.window - self.clock.now()

    def failed(self, key: str) -> None:
        """Count one failed login against ``key``."""
        now = self.clock.now()
        if len(self._failures) > self.MAX_KEYS:
            for old in [k for k in self._failures if not self._recent(k, now)]:
                del self._failures[old]
        self._failures.setdefault(key, collections.deque(maxlen=self.limit)).append(now)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key``."""
        self._failures.pop(key, None)

    def _recent(self, key: str, now: dt.datetime) -> collections.deque[dt.datetime]:
        failures = self._failures.get(key, collections.deque())
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        return failures
