"""One bot process per SQLite database: a second ``rrm run`` on it is refused, and says why."""

from __future__ import annotations

import fcntl
import os

from sqlalchemy.engine import make_url

from ground.storage.database import Database

__all__ = ["AnotherProcessRuns", "RunLock"]


class AnotherProcessRuns(RuntimeError):
    """A second bot process was started on a SQLite database another one is using."""


class RunLock:
    """An exclusive lock on ``<database>.run-lock`` beside a SQLite file, held while running.

    SQLite cannot share the handling of the inbox between processes (PostgreSQL can, see
    docs/operations.md). The kernel releases the lock when the process ends, however it ends.
    """

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    @classmethod
    def take(cls, database: Database) -> RunLock | None:
        """Lock a SQLite file's run lock; None for PostgreSQL or an in-memory database."""
        path = make_url(database.url).database
        if database.backend != "sqlite" or not path or path == ":memory:":
            return None
        if path.startswith("file:"):
            return None
        descriptor = os.open(f"{path}.run-lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise AnotherProcessRuns(
                f"another bot process is running on the SQLite database {path}: SQLite takes "
                "one process (stop the other one first); to share the handling between "
                "processes, use PostgreSQL (docs/operations.md)"
            ) from None
        return cls(descriptor)

    def release(self) -> None:
        """Let another process run on the database."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
