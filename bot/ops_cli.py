"""Operator commands of ``rrm``: privacy export and erase, doctor, backup."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from bot.command_database import safe_url, unreachable
from bot.command_error import CommandError
from ground.config import Config

__all__ = ["add_operations_commands", "config_secrets", "redact"]


class OperationError(Exception):
    """A failure of an operator command, reported on one line (already free of secrets)."""


def config_secrets(config: Config) -> list[str]:
    """Every secret value of the configuration (tokens, passwords, invitation codes)."""
    values = [
        config.telegram.token,
        config.matrix.password,
        config.matrix.access_token,
        *config.access.invitation_codes,
    ]
    password = None
    try:
        password = make_url(config.database.url).password
    except Exception:
        password = None
    if password:
        values.append(str(password))
    return [v for v in values if v and len(v) >= 4]


def redact(message: str, config: Config) -> str:
    """``message`` with every secret of the configuration replaced by ``***``."""
    for secret in sorted(config_secrets(config), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def add_operations_commands(commands: Any) -> None:
    """Add ``privacy``, ``doctor`` and ``backup`` to the ``rrm`` sub-commands."""
    privacy = commands.add_parser("privacy", help="personal data: export, erase, expire")
    actions = privacy.add_subparsers(title="privacy commands")
    export = actions.add_parser("export", help="write everything stored about a person as JSON")
    export.add_argument("person", help='"channel:account", a config id, or "#number"')
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(action=_wrap(cmd_privacy_export))
    erase = actions.add_parser("erase", help="delete or anonymise a person's data")
    erase.add_argument("person", help='"channel:account", a config id, or "#number"')
    erase.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    erase.set_defaults(action=_wrap(cmd_privacy_erase))
    expire = actions.add_parser("expire", help="apply the retention period now")
    expire.set_defaults(action=_wrap(cmd_privacy_expire))

    doctor = commands.add_parser("doctor", help="check config, database, migrations, channels")
    doctor.set_defaults(action=_wrap(cmd_doctor))

    backup = commands.add_parser(
        "backup", help="copy the SQLite database and the Matrix keys while the bot runs"
    )
    backup.add_argument("path", type=Path)
    backup.set_defaults(action=_wrap(cmd_backup))


def _wrap(
    command: Callable[[Config, argparse.Namespace], int],
) -> Callable[[Config, argparse.Namespace], int]:
    def run(config: Config, args: argparse.Namespace) -> int:
        try:
            return command(config, args)
        except OperationError as error:
            raise CommandError(redact(str(error), config)) from None

    return run


def _open(config: Config) -> Any:
    from bot.assembly import open_database

    try:
        return open_database(config)
    except Exception as error:
        # _wrap redacts the configuration's secrets from the message.
        raise OperationError(str(unreachable(config, error))) from None


def _person(session: Any, reference: str) -> Any:
    from ground.storage import privacy

    person = privacy.find_person(session, reference)
    if person is None:
        raise OperationError(
            f'no person {reference!r} (give "channel:account", a config id, or "#number")'
        )
    return person


def cmd_privacy_export(config: Config, args: argparse.Namespace) -> int:
    """Write everything stored about one person as JSON."""
    from ground.storage import privacy

    database = _open(config)
    try:
        with database.sessions() as session:
            data = privacy.export_person(session, _person(session, args.person))
    finally:
        database.dispose()
    rendered = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if args.output:
        args.output.write_text(rendered + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(rendered)
    return 0


def cmd_privacy_erase(config: Config, args: argparse.Namespace) -> int:
    """Delete a person's accounts and blank their texts; statistics keep their counts."""
    from ground.clock import SystemClock
    from ground.storage import privacy

    if not args.yes:
        raise OperationError("erasing cannot be undone: add --yes to confirm")
    database = _open(config)
    try:
        with database.sessions.begin() as session:
            person = _person(session, args.person)
            if person.config_id:
                raise OperationError(
                    f"{args.person} is {person.config_id!r} of the configuration: remove "
                    "them from the config file first (the bot recreates configured people)"
                )
            counts = privacy.erase_person(session, person, SystemClock().now())
        database.flush_erased()
    finally:
        database.dispose()
    print(f"erased person #{person.id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_privacy_expire(config: Config, _args: argparse.Namespace) -> int:
    """Apply the retention period now."""
    from bot.retention import anonymise_expired, prune_inbox
    from ground.clock import SystemClock

    database = _open(config)
    now = SystemClock().now()
    report = anonymise_expired(database.sessions, now, config.privacy.retention_days)
    pruned = prune_inbox(database.sessions, now, config.privacy.inbox_days)
    database.dispose()
    print(f"anonymised {report.questions} questions and {report.askers} askers")
    print(f"deleted {pruned} handled inbox events")
    return 0


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    """Copy the database and the Matrix key store beside it, while the bot runs."""
    url = make_url(config.database.url)
    target = Path(args.path)
    store = Path(config.matrix.store_path) if config.matrix.store_path else None
    keys_target = Path(f"{target}.matrix-store")
    if target.exists() or keys_target.exists():
        raise OperationError(f"{target} or {keys_target} exists; give a new file name")
    if url.get_backend_name() == "sqlite":
        source_path = url.database
        if not source_path or source_path == ":memory:" or not Path(source_path).exists():
            raise OperationError(f"no SQLite database file at {source_path!r}")
        _copy_sqlite(Path(source_path), target)
        print(f"backed up {source_path} to {target}")
    else:
        _dump_postgresql(url, target)
        print(f"backed up {safe_url(config.database.url)} to {target} (pg_restore reads it)")
    if store is not None and store.is_dir():
        keys_target.mkdir(mode=0o700)
        for path in sorted(store.iterdir()):
            if path.suffix == ".db":
                _copy_sqlite(path, keys_target / path.name)
        print(f"backed up the Matrix keys in {store} to {keys_target}")
    return 0


def _dump_postgresql(url: URL, target: Path) -> None:
    """Dump a PostgreSQL database with pg_dump (one consistent snapshot), owner-readable."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise OperationError(
            "rrm backup needs pg_dump for a PostgreSQL database (Debian: apt install "
            "postgresql-client, of the server's major version or newer)"
        )
    # The password goes in the environment, never on a command line other users can read.
    environment = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    address = url.set(drivername="postgresql", password=None)
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    dumped = subprocess.run(
        [pg_dump, "--format=custom", f"--file={target}", f"--dbname={address.render_as_string()}"],
        env=environment,
        capture_output=True,
        text=True,
    )
    if dumped.returncode != 0:
        target.unlink(missing_ok=True)
        raise OperationError(f"pg_dump failed: {dumped.stderr.strip()}")


def _copy_sqlite(source_path: Path, target: Path) -> None:
    """Copy one SQLite file with the online backup API, readable by its owner only."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        # Created readable by its owner only: a backup holds everything the database does.
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        destination = sqlite3.connect(target)
        with destination:
            source.backup(destination)
        destination.close()
    finally:
        source.close()


def cmd_doctor(config: Config, _args: argparse.Namespace) -> int:
    """Check what can be checked, print one line each, and exit 1 if anything is wrong."""
    problems = 0

    def report(ok: bool | None, what: str, detail: str) -> None:
        nonlocal problems
        mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
        problems += ok is False
        print(f"{mark} {what}: {redact(detail, config)}")

    report(True, "config", f"{config.path} loaded and checked")
    _doctor_database(config, report)
    _doctor_channels(config, report)
    print("everything checked is fine" if not problems else f"{problems} problem(s) found")
    return 1 if problems else 0


def _doctor_database(config: Config, report: Callable[[bool | None, str, str], None]) -> None:
    from ground.storage.database import Database, SchemaAhead
    from ground.storage.metrics_repo import ping
    from knowledge.repository import count_versions

    shown = safe_url(config.database.url)
    database = Database(config.database.url)
    try:
        with database.sessions() as session:
            ping(session)
    except Exception as error:
        database.dispose()
        first = str(error).splitlines()[0] if str(error) else ""
        report(False, "database", f"cannot connect to {shown}: {type(error).__name__}: {first}")
        return
    report(True, "database", f"{shown} answers")
    current, head = database.current_revision(), database.head_revision()
    try:
        database.refuse_if_ahead()
    except SchemaAhead as error:
        report(False, "migrations", f"the database cannot be used: {error}")
        database.dispose()
        return
    if current == head:
        report(True, "migrations", f"at {head}")
    else:
        report(
            False,
            "migrations",
            f"database at {current or 'empty'}, code at {head}: run `rrm db upgrade`",
        )
        database.dispose()
        return
    with database.sessions() as session:
        versions = count_versions(session)
    report(
        True if versions else None,
        "fiches",
        f"{versions} fiche versions" if versions else "none imported yet (`rrm kb import PATH`)",
    )
    database.dispose()


def _doctor_matrix_keys(config: Config, report: Callable[[bool | None, str, str], None]) -> None:
    """The Matrix key store: present, and readable by the bot's user only."""
    store = Path(config.matrix.store_path)
    if not store.is_dir():
        report(None, "matrix keys", f"none yet in {store} (made at the first start)")
        return
    if store.stat().st_mode & 0o077:
        report(False, "matrix keys", f"{store} is readable by other users: chmod 700 it")
        return
    devices = len(list(store.glob("*.db")))
    report(
        True, "matrix keys", f"{devices} device key file(s) in {store}; `rrm backup` copies them"
    )


def _doctor_channels(config: Config, report: Callable[[bool | None, str, str], None]) -> None:
    import httpx

    enabled = [name for name in ("console", "telegram", "matrix") if getattr(config, name).enabled]
    report(bool(enabled), "channels", ", ".join(enabled) or "none enabled")
    if config.telegram.enabled:
        url = f"{config.telegram.base_url}{config.telegram.token}/getMe"
        try:
            answer = httpx.get(url, timeout=10).json()
            if answer.get("ok"):
                username = answer["result"].get("username", "?")
                report(True, "telegram", f"token accepted: the bot is @{username}")
            else:
                report(False, "telegram", f"token refused: {answer.get('description', answer)}")
        except Exception as error:
            report(False, "telegram", f"cannot reach {config.telegram.base_url}: {error}")
    if config.matrix.enabled:
        base = config.matrix.homeserver.rstrip("/")
        try:
            httpx.get(f"{base}/_matrix/client/versions", timeout=10).raise_for_status()
            if config.matrix.access_token:
                whoami = httpx.get(
                    f"{base}/_matrix/client/v3/account/whoami",
                    headers={"Authorization": f"Bearer {config.matrix.access_token}"},
                    timeout=10,
                )
                ok = whoami.status_code == 200
                report(ok, "matrix", "access token accepted" if ok else "access token refused")
            else:
                report(True, "matrix", f"{base} answers (password login checked at start)")
        except Exception as error:
            report(False, "matrix", f"cannot reach {base}: {error}")
        _doctor_matrix_keys(config, report)
    for section, people in (("experts", config.experts), ("coordinators", config.coordinators)):
        for person in people:
            if not any(channel in person.identities for channel in enabled):
                report(None, section, f"{person.id} has no identity on an enabled channel")
