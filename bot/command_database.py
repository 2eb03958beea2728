"""The command line's database: opened with a one-line error when it cannot be, closed after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from bot.command_error import CommandError
from ground.config import Config
from ground.storage.database import Database, SchemaAhead

__all__ = ["command_database", "safe_url", "unreachable"]


def safe_url(url: str) -> str:
    """A database URL with its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable database URL)"


def unreachable(config: Config, error: Exception) -> CommandError:
    """The one line that says the database cannot be used, and why (no password shown)."""
    if isinstance(error, SchemaAhead):
        return CommandError(f"cannot use database {safe_url(config.database.url)}: {error}")
    first = str(error).splitlines()[0] if str(error) else ""
    return CommandError(
        f"cannot open database {safe_url(config.database.url)}: {type(error).__name__}: {first}"
    )


@contextlib.contextmanager
def command_database(config: Config) -> Iterator[Database]:
    """The configured database, closed when the command is done."""
    from bot.assembly import open_database

    try:
        database = open_database(config)
    except Exception as error:
        raise unreachable(config, error) from None
    try:
        yield database
    finally:
        database.dispose()
