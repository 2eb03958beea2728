"""Import a fiche collection into the database: validate all, embed what changed, drop what went."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy import sparse
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from knowledge import repository
from knowledge.collection import Collection
from knowledge.embedder import Embedder, encode_vector
from knowledge.fiche import FicheFileError, FicheVersionText
from knowledge.index import gist_text

__all__ = [
    "ImportRefused",
    "ImportReport",
    "PruneRefused",
    "import_collection",
    "passage_text",
    "store_versions",
]

PROGRESS_FROM = 200  # files; smaller collections import too fast for a bar to help
BATCH = 32  # texts handed to the embedder at once
CHUNK = 256  # versions embedded, then committed, at a time
BODY_CHARS = 600


class ImportRefused(Exception):
    """The collection has errors and skipping them was not asked for; nothing was imported."""

    def __init__(self, errors: list[FicheFileError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the collection; nothing was imported")
        self.errors = errors


class PruneRefused(Exception):
    """The import would remove too many fiches, or take fiches from another collection."""


@dataclass
class ImportReport:
    """What an import changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[FicheFileError] = field(default_factory=list)
    versions_embedded: int = 0


def passage_text(version: FicheVersionText) -> str:
    """The text embedded for one version: title, summary, tags and the start of the body."""
    body = re.sub(r"^#+\s.*$", "", version.body, flags=re.MULTILINE)
    body = " ".join(body.split())[:BODY_CHARS]
    tags = ", ".join(version.tags)
    return f"{version.title}. {version.summary} {tags}. {body}".strip()


def import_collection(
    sessions: sessionmaker[Session],
    collection: Collection,
    embedder: Embedder,
    *,
    skip_errors: bool = False,
    prune: bool = False,
    max_removed_share: float = 0.5,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    progress: bool | None = None,
) -> ImportReport:
    """Bring the database's copy of ``collection`` in line with the files.

    Refuses (before writing anything) to remove every stored fiche of the collection, or more
    than ``max_removed_share`` of them, unless ``prune``; and always refuses a fiche id that
    another collection folder holds.
    """
    if collection.errors and not skip_errors:
        raise ImportRefused(collection.errors)
    report = ImportReport(skipped=list(collection.errors))
    key = str(Path(collection.root).resolve())
    with sessions() as session:
        stored = repository.stored_versions(session, key)
        taken = repository.fiches_elsewhere(session, collection.fiche_ids, key)
    if taken:
        fiche_id, other = taken[0]
        raise PruneRefused(
            f"fiche {fiche_id!r} (and {len(taken) - 1} more) belongs to the collection "
            f"{other}; remove it there, or import that folder instead"
            if len(taken) > 1
            else f"fiche {fiche_id!r} belongs to the collection {other}; remove it there, "
            "or import that folder instead"
        )
    stored_fiches = {fiche_id for fiche_id, _ in stored}
    going = stored_fiches - collection.fiche_ids - collection.skipped_fiches
    if going and not prune:
        if going == stored_fiches:
            raise PruneRefused(
                f"the import would remove all {len(going)} fiches of {key}; "
                "if that is meant, use --prune"
            )
        if len(going) > max_removed_share * len(stored_fiches):
            raise PruneRefused(
                f"the import would remove {len(going)} of {len(stored_fiches)} fiches of {key}, "
                f"more than knowledge.max_removed_share ({max_removed_share:g}); "
                "if that is meant, use --prune"
            )
    changed = [
        v
        for v in collection.versions
        if stored.get((v.fiche_id, v.language)) != (v.content_hash, embedder.name)
    ]
    report.unchanged = len(collection.versions) - len(changed)
    show = len(changed) >= PROGRESS_FROM if progress is None else progress
    with tqdm(total=len(changed), disable=not show, unit="version", desc="embedding") as bar:
        # Each chunk is committed once embedded: an interrupted import of a large collection
        # keeps what it did, and the next run embeds only the rest.
        for start in range(0, len(changed), CHUNK):
            chunk = changed[start : start + CHUNK]
            vectors = _embed(chunk, embedder, bar)
            with sessions.begin() as session:
                store_versions(session, key, chunk, vectors, embedder.name, now())
                # The gists too, so the first search index built after the import has them.
                repository.cached_passage_vectors(
                    session, embedder, [gist_text(v.title, v.summary) for v in chunk]
                )
            report.versions_embedded += len(chunk)
    with sessions.begin() as session:
        present = collection.fiche_ids
        by_fiche: dict[str, list[FicheVersionText]] = {}
        for version in collection.versions:
            by_fiche.setdefault(version.fiche_id, []).append(version)
        for fiche_id in {v.fiche_id for v in changed}:
            (report.updated if fiche_id in stored_fiches else report.added).append(fiche_id)
        # Versions and fiches that are gone from the files; a fiche skipped for errors keeps
        # its last good versions.
        for fiche_id, language in stored:
            if fiche_id in collection.skipped_fiches:
                continue
            languages = {v.language for v in by_fiche.get(fiche_id, [])}
            if language not in languages:
                repository.delete_version(session, fiche_id, language)
                if fiche_id in present and fiche_id not in report.updated:
                    report.updated.append(fiche_id)
        for fiche_id in sorted(stored_fiches - present - collection.skipped_fiches):
            repository.delete_fiche(session, fiche_id)
            report.removed.append(fiche_id)
    report.added.sort()
    report.updated.sort()
    return report


def store_versions(
    session: Session,
    collection_key: str,
    versions: list[FicheVersionText],
    vectors: sparse.csr_matrix,
    embedder_name: str,
    now: dt.datetime,
) -> None:
    """Write embedded versions, and their fiches, in the caller's transaction."""
    for row, version in enumerate(versions):
        embedding = encode_vector(vectors, row)
        repository.store_version(session, collection_key, version, embedder_name, embedding, now)


def _embed(
    versions: list[FicheVersionText], embedder: Embedder, bar: tqdm[Any]
) -> sparse.csr_matrix:
    parts: list[sparse.csr_matrix] = []
    for start in range(0, len(versions), BATCH):
        batch = versions[start : start + BATCH]
        parts.append(embedder.passages([passage_text(v) for v in batch]))
        bar.update(len(batch))
    return sparse.vstack(parts, format="csr")
