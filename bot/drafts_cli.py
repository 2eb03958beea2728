"""``rrm kb drafts``: list fiche drafts and write the approved ones into a collection folder."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from bot.command_database import command_database
from bot.command_error import CommandError
from ground.config import Config

__all__ = ["add_drafts_commands"]


def add_drafts_commands(kb: Any) -> None:
    """Add ``drafts list`` and ``drafts export PATH`` under ``rrm kb``."""
    drafts = kb.add_parser("drafts", help="fiches drafted from experts' answers").add_subparsers(
        title="drafts commands"
    )
    listing = drafts.add_parser("list", help="every draft with its status")
    listing.set_defaults(action=cmd_drafts_list)
    export = drafts.add_parser(
        "export",
        help="write approved drafts not yet exported as PATH/<fiche-id>/<lang>.md "
        "(PATH is a collection folder; importing it afterwards changes nothing)",
    )
    export.add_argument("path", type=Path)
    export.set_defaults(action=cmd_drafts_export)


def cmd_drafts_list(config: Config, _args: argparse.Namespace) -> int:
    """Print every draft: number, status, fiche id, language, title, question."""
    from ground.storage.drafts_repo import all_drafts

    with command_database(config) as database, database.sessions() as session:
        drafts = all_drafts(session)
        if not drafts:
            print("no drafts (experts make them with /tofiche in a resolved question's thread)")
        for d in drafts:
            exported = " exported" if d.exported_at else ""
            print(
                f"#{d.id} {d.status}{exported}  {d.fiche_id}/{d.language}.md  {d.title}  "
                f"(question #{d.question_id})"
            )
    return 0


def cmd_drafts_export(config: Config, args: argparse.Namespace) -> int:
    """Write approved drafts into a collection folder; the fiches then belong to it."""
    from ground.storage.drafts_repo import unexported_drafts
    from knowledge.drafts import export_conflict, export_draft

    root: Path = args.path
    if not root.is_dir():
        raise CommandError(f"{root}: not a folder (create it, or give the collection folder)")
    with command_database(config) as database, database.sessions.begin() as session:
        now = dt.datetime.now(dt.UTC)
        drafts = unexported_drafts(session)
        conflicts = [c for c in (export_conflict(d, root) for d in drafts) if c]
        if conflicts:
            raise CommandError(f"{conflicts[0]}; nothing was exported")
        written = [export_draft(session, draft, root, now) for draft in drafts]
    for path in written:
        print(f"wrote {path}")
    print(f"exported {len(written)} approved draft(s) to {root}")
    return 0
