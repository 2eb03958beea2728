"""Dashboard login attempts, counted in the database per key (a name and an address)."""

from __future__ import annotations

import datetime as dt

from ground.clock import Clock
from ground.storage.dashboard_accounts import forget_attempts, recent_attempts, record_attempt
from ground.storage.database import Database

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """Beyond ``limit`` attempts within ``window`` for a key, its logins wait.

    Every attempt is written and committed before it is counted and before its password is
    checked: parallel attempts each see the others committed before them, so no more than
    ``limit`` of them can ever get through to the check, whatever the number of workers.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        limit: int = 5,
        window: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self.database = database
        self.clock = clock
        self.limit = limit
        self.window = window

    def attempt(self, key: str) -> dt.timedelta | None:
        """Count an attempt for ``key``: how long it must wait, or None if it may be checked."""
        now = self.clock.now()
        with self.database.sessions.begin() as session:
            record_attempt(session, key, now)
        with self.database.sessions.begin() as session:
            attempts = recent_attempts(session, key, now, self.window)
        if len(attempts) <= self.limit:
            return None
        return max(attempts[0] + self.window - now, dt.timedelta(seconds=1))

    def succeeded(self, key: str) -> None:
        """Forget the attempts of ``key``, and everyone's that are out of the window."""
        with self.database.sessions.begin() as session:
            forget_attempts(session, key, self.clock.now(), self.window)
