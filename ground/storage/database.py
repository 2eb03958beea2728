"""Open the database from its URL and bring its schema up to date with Alembic."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["Database", "DatabaseClosed", "SchemaAhead", "normalise_url"]

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# The two lines of a migration file that place it in the history, as Alembic's templates
# write them (with or without a type annotation).
REVISION = re.compile(r"""^revision(?:: [^=]+)? = ["']([^"']+)["']$""", re.MULTILINE)
DOWN_REVISION = re.compile(
    r"""^down_revision(?:: [^=]+)? = (?:["']([^"']+)["']|None)$""", re.MULTILINE
)


class DatabaseClosed(RuntimeError):
    """A connection was asked of a database already closed."""


class SchemaAhead(RuntimeError):
    """The database's schema is at a revision this code does not know: a newer rrm's."""

    def __init__(self, found: str, newest: str | None) -> None:
        super().__init__(
            f"its schema is at revision {found}, newer than this rrm knows (up to {newest}): "
            "a newer rrm upgraded it. Run that version, or restore the backup taken before "
            "the upgrade (docs/operations.md, 'Upgrades')"
        )


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs, the driver RRM installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """The engine, the session factory and the schema version of one database."""

    def __init__(self, url: str, *, connect_args: dict[str, object] | None = None) -> None:
        self.url = normalise_url(url)
        backend = make_url(self.url).get_backend_name()
        args: dict[str, object] = dict(connect_args or {})
        if backend == "sqlite":
            _create_private(make_url(self.url).database)
            args.setdefault("check_same_thread", False)
            if "timeout" not in make_url(self.url).query:  # "?timeout=SECONDS" in the URL wins
                args.setdefault("timeout", 30)
        # A server connection can go stale (a restart, a proxy): test it before each use. A
        # SQLite file cannot, and the test query cost a statement per transaction.
        self.engine: Engine = create_engine(
            self.url, connect_args=args, pool_pre_ping=backend != "sqlite"
        )
        self.backend = backend
        if backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        # Connections handed out and not yet returned, so that dispose() can wait for them.
        self._in_use = 0
        self._returned = threading.Condition()
        self._closed = False
        event.listen(self.engine, "checkout", self._checked_out)
        event.listen(self.engine, "checkin", self._checked_in)
        event.listen(self.engine, "do_connect", self._refuse_when_closed)

    def _refuse_when_closed(self, *_args: object) -> None:
        # A thread still finishing work at shutdown would open a connection nobody closes.
        if self._closed:
            shown = make_url(self.url).render_as_string(hide_password=True)
            raise DatabaseClosed(f"the database {shown} was closed")

    def _checked_out(self, *_args: object) -> None:
        with self._returned:
            self._in_use += 1  # counted even when refused: the pool then checks it in
            if self._closed:
                # A pooled connection taken while dispose() waits, or just before it closes
                # the pool, would go back to a pool nobody closes. Refused, the pool closes it.
                self._refuse_when_closed()

    def _checked_in(self, *_args: object) -> None:
        with self._returned:
            self._in_use -= 1
            self._returned.notify_all()

    def _alembic(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def current_revision(self) -> str | None:
        """Return the schema revision the database is at, or None if it is empty."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        """Return the newest revision the code knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def is_current(self) -> bool:
        """Whether the schema is surely at the newest revision, told without loading Alembic.

        Every start asks, and importing Alembic and its migrations cost about a tenth of a
        restart. False means "not known to be": ask :meth:`current_revision` then.
        """
        head = scanned_head()
        if head is None:
            return False
        with self.engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return False
            found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
            return found.scalars().all() == [head]

    def flush_erased(self) -> None:
        """Push erased rows out of SQLite's write-ahead log, so no old copy stays on disk.

        With ``secure_delete`` on, freed pages are zeroed; the TRUNCATE checkpoint writes the
        log into the file and empties the log. The questions' search index (migration 0015)
        only marks a blanked text deleted until its segments merge: 'optimize' merges them
        now, so no word of an erased text stays. PostgreSQL needs a VACUUM (docs/privacy.md).
        """
        if self.backend != "sqlite":
            return
        # Outside any transaction (SQLAlchemy's would begin one): a raw, autocommit connection.
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            indexed = cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'questions_search'"
            ).fetchone()
            if indexed:
                cursor.execute("INSERT INTO questions_search(questions_search) VALUES ('optimize')")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()

    def refuse_if_ahead(self) -> None:
        """Raise :class:`SchemaAhead` if the schema's revision is not one this code knows."""
        from alembic.script import ScriptDirectory
        from alembic.util.exc import CommandError

        current = self.current_revision()
        if current is None:
            return
        script = ScriptDirectory.from_config(self._alembic())
        try:
            script.get_revision(current)
        except CommandError:
            raise SchemaAhead(current, script.get_current_head()) from None

    def upgrade(self) -> None:
        """Apply every pending migration; refuse a schema newer than this code."""
        from alembic import command

        self.refuse_if_ahead()
        command.upgrade(self._alembic(), "head")

    def dispose(self, wait_seconds: float = 10.0) -> None:
        """Close the database: its connections, once those in use are back, and no new ones.

        A connection returned after the pool was disposed, or opened after it, would never be
        closed (psycopg warns when it is collected), and at shutdown a thread may still be
        finishing a transaction or starting another.
        """
        with self._returned:
            self._closed = True
            if not self._returned.wait_for(lambda: self._in_use <= 0, timeout=wait_seconds):
                log.warning("closing the database with %d connections still in use", self._in_use)
        self.engine.dispose()


def scanned_head() -> str | None:
    """The newest revision, read from the migration files' own lines; None if unclear.

    Alembic's answer (:meth:`Database.head_revision`) loads every migration; this reads two
    lines of each. Unclear (not one head, or a file not in the usual form): None.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, parent = REVISION.findall(source), DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(parent) != 1:
            return None
        revisions.add(revision[0])
        parents.add(parent[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _create_private(path: str | None) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives its -wal the same)."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # An existing file keeps its mode; a missing folder is SQLite's error to report.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _sqlite_connect(connection: object, _record: object) -> None:
    # pysqlite's own transaction handling off: SQLAlchemy's BEGIN IMMEDIATE (below) rules.
    connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted and overwritten content is zeroed in the file, not just marked free (erasure).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MB of page cache (the default is 2 MB): statistics over a year read many pages.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front. With a plain (deferred) BEGIN, a transaction
    # that read first and writes later fails at once with "database is locked" when another
    # connection wrote in between (WAL's stale snapshot: the busy timeout does not apply), as
    # the outbox sender and the conversation's worker do concurrently.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
