"""Fiches drafted from answers: their file text, publishing one, and exporting it to a folder.

A draft is checked and stored exactly as its exported file reads back, so exporting an
approved draft into a collection folder and importing that folder changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

from sqlalchemy.orm import Session

from ground.storage.drafts_repo import fiche_id_taken
from ground.storage.models import FicheDraft
from knowledge.embedder import Embedder
from knowledge.fiche import FENCE, FicheFileError, FicheVersionText, parse_fiche_text
from knowledge.importer import passage_text, store_versions
from knowledge.repository import get_fiche

__all__ = [
    "DRAFTS_COLLECTION",
    "ExportError",
    "draft_version",
    "export_conflict",
    "export_draft",
    "fiche_file_text",
    "free_fiche_id",
    "publish",
]

# The collection an approved draft belongs to until it is exported into a folder.
DRAFTS_COLLECTION = "drafts"
SLUG_CHARS = 60


class ExportError(Exception):
    """A draft cannot be written where asked (a different file is already there)."""


def fiche_file_text(draft: FicheDraft) -> str:
    """The draft as a fiche file: TOML front matter between ``+++`` lines, then the body."""
    # A JSON string is a valid TOML basic string: quotes, backslashes and controls escaped.
    meta = [f"title = {json.dumps(draft.title, ensure_ascii=False)}"]
    meta.append(f"topics = {json.dumps(list(draft.topics), ensure_ascii=False)}")
    for key in ("summary", "country", "region", "partner"):
        value = getattr(draft, key)
        if value:
            meta.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join([FENCE, *meta, FENCE, draft.body.strip(), ""])


def draft_version(
    draft: FicheDraft, languages: tuple[str, ...], topics: set[str]
) -> FicheVersionText | list[FicheFileError]:
    """The version an import of the exported file would read, or what is wrong with it."""
    return parse_fiche_text(
        fiche_file_text(draft),
        f"draft #{draft.id}",
        draft.fiche_id,
        draft.language,
        languages,
        topics,
    )


def free_fiche_id(session: Session, title: str, question_id: int) -> str:
    """A fiche id made from the title (ASCII letters, digits, '-') that nothing else has."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:SLUG_CHARS].strip("-")
    base = f"{slug}-q{question_id}" if slug else f"answer-q{question_id}"
    candidate, n = base, 1
    while fiche_id_taken(session, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def publish(
    session: Session, embedder: Embedder, version: FicheVersionText, now: dt.datetime
) -> None:
    """Embed and store an approved draft's version as a fiche, searchable like any other."""
    vectors = embedder.passages([passage_text(version)])
    store_versions(session, DRAFTS_COLLECTION, [version], vectors, embedder.name, now)


def export_conflict(draft: FicheDraft, root: Path) -> str | None:
    """Why ``draft`` cannot be written into ``root`` (another file in its place), if so."""
    path = root / draft.fiche_id / f"{draft.language}.md"
    if path.exists() and path.read_text(encoding="utf-8") != fiche_file_text(draft):
        return f"{path} exists with other content; not overwritten"
    return None


def export_draft(session: Session, draft: FicheDraft, root: Path, now: dt.datetime) -> Path:
    """Write an approved draft as ``root/<fiche-id>/<lang>.md``; the fiche joins that folder.

    A file already there with other content is refused: nothing is overwritten.
    """
    conflict = export_conflict(draft, root)
    if conflict:
        raise ExportError(conflict)
    path = root / draft.fiche_id / f"{draft.language}.md"
    text = fiche_file_text(draft)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    fiche = get_fiche(session, draft.fiche_id)
    if fiche is not None:
        # The folder now holds the fiche: importing it finds the fiche its own, unchanged.
        fiche.collection = str(root.resolve())
    draft.exported_at = now
    return path
