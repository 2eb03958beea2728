"""Queries over the stored fiches: load the search index, read one fiche."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

import numpy as np
from scipy import sparse
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from ground.storage import answers_repo
from ground.storage.models import Fiche, FicheVersion, QuestionVector, TextVector
from knowledge.embedder import Embedder, decode_vector, encode_vector, stack
from knowledge.fiche import FicheVersionText
from knowledge.index import FicheIndex, IndexedVersion, gist_text, version_words
from knowledge.text import tokenize

__all__ = [
    "cached_passage_vectors",
    "cached_query_vectors",
    "collection_state",
    "count_versions",
    "delete_fiche",
    "delete_version",
    "fiche_languages",
    "fiche_words",
    "fiches_elsewhere",
    "get_fiche",
    "get_version",
    "index_with_fiches",
    "load_index",
    "question_vectors",
    "store_question_vector",
    "store_version",
    "stored_versions",
]


def load_index(session: Session, embedder: Embedder, lexical_weight: float) -> FicheIndex:
    """Build the search index from every stored version embedded by ``embedder``."""
    versions, vectors, tokens, words, gists = _indexed(session, embedder, lexical_weight)
    return FicheIndex(versions, vectors, lexical_weight, tokens, words, gists)


def index_with_fiches(
    session: Session, embedder: Embedder, index: FicheIndex, fiche_ids: list[str]
) -> FicheIndex:
    """``index`` with the stored versions of ``fiche_ids`` added or replaced.

    Rebuilt whole from the database when BM25 is weighed (its tokens are not kept).
    """
    if index.lexical_weight > 0:
        return load_index(session, embedder, index.lexical_weight)
    versions, vectors, _, words, gists = _indexed(
        session, embedder, 0.0, FicheVersion.fiche_id.in_(fiche_ids)
    )
    return index.with_versions(versions, vectors, words, gists)


def _indexed(
    session: Session, embedder: Embedder, lexical_weight: float, *where: ColumnElement[bool]
) -> tuple[
    list[IndexedVersion], sparse.csr_matrix, list[list[str]], list[np.ndarray], sparse.csr_matrix
]:
    """The stored versions embedded by ``embedder`` (those ``where`` keeps), for an index.

    Plain columns, not ORM objects, and tokens only when BM25 is weighed: on 10,000
    versions the ORM objects and the kept tokens were most of the bot's memory. The words
    the answerability model looks for are kept as hashes (:func:`version_words`). The
    gists' embeddings come from the stored text vectors; the import stores them, and one
    missing (a version stored before gists existed, or from a draft) is embedded here.
    """
    rows = session.execute(
        select(
            FicheVersion.fiche_id,
            FicheVersion.language,
            FicheVersion.title,
            FicheVersion.summary,
            FicheVersion.tags,
            FicheVersion.body,
            FicheVersion.embedding,
            Fiche.topics,
        )
        .join(Fiche)
        .where(FicheVersion.embedder == embedder.name, *where)
        .order_by(FicheVersion.fiche_id, FicheVersion.language)
    )
    versions = []
    vectors = []
    tokens: list[list[str]] = []
    words: list[np.ndarray] = []
    gists: list[str] = []
    for fiche_id, language, title, summary, tags, body, embedding, topics in rows:
        vectors.append(decode_vector(embedding))
        versions.append(IndexedVersion(fiche_id, language, title, summary, tuple(topics)))
        text = " ".join([title, summary, " ".join(tags), body])
        words.append(version_words(text))
        gists.append(gist_text(title, summary))
        if lexical_weight > 0:
            tokens.append(tokenize(text, language))
    gist_vectors = cached_passage_vectors(session, embedder, gists)
    return versions, stack(vectors, embedder.dimension), tokens, words, gist_vectors


def get_fiche(session: Session, fiche_id: str) -> Fiche | None:
    """Return one stored fiche (its collection and topics), whatever its languages."""
    return session.get(Fiche, fiche_id)


def get_version(session: Session, fiche_id: str, language: str) -> FicheVersion | None:
    """Return one stored language version of a fiche."""
    return session.get(FicheVersion, (fiche_id, language))


def count_versions(session: Session) -> int:
    """How many fiche versions are stored."""
    return session.scalar(select(func.count()).select_from(FicheVersion)) or 0


def collection_state(session: Session, embedder_name: str) -> tuple[int, dt.datetime | None]:
    """A fingerprint of the searchable versions that every import changes, read in one query.

    An import stamps each fiche it adds or changes with its time and deletes what is gone, so
    the number of versions and the latest stamp together move with every import.
    """
    count, latest = session.execute(
        select(func.count(), func.max(Fiche.updated_at))
        .select_from(FicheVersion)
        .join(Fiche)
        .where(FicheVersion.embedder == embedder_name)
    ).one()
    return count, latest


def cached_query_vectors(
    session: Session, embedder: Embedder, texts: list[str]
) -> sparse.csr_matrix:
    """Embed fixed texts as queries, reusing vectors stored by earlier starts."""
    return _cached_vectors(session, embedder, texts, passages=False)


def cached_passage_vectors(
    session: Session, embedder: Embedder, texts: list[str]
) -> sparse.csr_matrix:
    """Embed texts as passages (fiche gists), reusing vectors stored before."""
    return _cached_vectors(session, embedder, texts, passages=True)


def _cached_vectors(
    session: Session, embedder: Embedder, texts: list[str], *, passages: bool
) -> sparse.csr_matrix:
    if not texts:
        return stack([], embedder.dimension)
    kind = b"passage\0" if passages else b"query\0"
    digests = [hashlib.sha256(kind + t.encode()).hexdigest() for t in texts]
    stored = {
        row.digest: decode_vector(row.vector)
        for row in session.scalars(
            select(TextVector).where(
                TextVector.embedder == embedder.name, TextVector.digest.in_(set(digests))
            )
        )
    }
    missing = [i for i, d in enumerate(digests) if d not in stored]
    if missing:
        embed = embedder.passages if passages else embedder.queries
        fresh = embed([texts[i] for i in missing])
        for row, i in enumerate(missing):
            blob = encode_vector(fresh, row)
            if digests[i] not in stored:
                session.merge(TextVector(embedder=embedder.name, digest=digests[i], vector=blob))
            stored[digests[i]] = decode_vector(blob)
    return stack([stored[d] for d in digests], embedder.dimension)


def fiche_words(session: Session) -> dict[str, set[str]]:
    """Every word of the stored versions, by language (the language detector learns them)."""
    words: dict[str, set[str]] = {}
    rows = session.execute(
        select(
            FicheVersion.language,
            FicheVersion.title,
            FicheVersion.summary,
            FicheVersion.tags,
            FicheVersion.body,
        )
    )
    for language, title, summary, tags, body in rows:
        # Sets: a large collection repeats its words, and only which ones occur matters.
        words.setdefault(language, set()).update(
            " ".join([title, summary, " ".join(tags), body]).split()
        )
    return words


def question_vectors(
    session: Session, embedder_name: str, question_ids: list[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The stored embeddings of these questions, decoded, by question id."""
    rows = answers_repo.vectors_of(session, embedder_name, question_ids)
    return {question_id: decode_vector(blob) for question_id, blob in rows}


def store_question_vector(
    session: Session, embedder_name: str, question_id: int, matrix: sparse.csr_matrix, row: int = 0
) -> None:
    """Keep one question's embedding (row ``row`` of ``matrix``), replacing an older one."""
    session.merge(
        QuestionVector(
            question_id=question_id, embedder=embedder_name, vector=encode_vector(matrix, row)
        )
    )


def stored_versions(session: Session, collection: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Each stored version of a collection: (fiche id, language) -> (content hash, embedder)."""
    rows = session.execute(
        select(
            FicheVersion.fiche_id,
            FicheVersion.language,
            FicheVersion.content_hash,
            FicheVersion.embedder,
        )
        .join(Fiche)
        .where(Fiche.collection == collection)
    )
    return {(row.fiche_id, row.language): (row.content_hash, row.embedder) for row in rows}


def fiches_elsewhere(
    session: Session, fiche_ids: Iterable[str], collection: str
) -> list[tuple[str, str]]:
    """Which of these fiche ids another collection holds: (fiche id, its collection)."""
    rows = session.execute(
        select(Fiche.id, Fiche.collection).where(
            Fiche.id.in_(sorted(fiche_ids)), Fiche.collection != collection
        )
    )
    return [(fiche_id, other) for fiche_id, other in rows]


def store_version(
    session: Session,
    collection: str,
    version: FicheVersionText,
    embedder_name: str,
    embedding: bytes,
    now: dt.datetime,
) -> None:
    """Write one embedded version, and its fiche, in the caller's transaction."""
    fiche = session.get(Fiche, version.fiche_id)
    if fiche is None:
        fiche = Fiche(id=version.fiche_id)
        session.add(fiche)
    fiche.collection = collection
    fiche.topics = list(version.topics)
    fiche.updated_at = now
    session.merge(
        FicheVersion(
            fiche_id=version.fiche_id,
            language=version.language,
            title=version.title,
            summary=version.summary,
            body=version.body,
            country=version.country,
            region=version.region,
            partner=version.partner,
            tags=list(version.tags),
            content_hash=version.content_hash,
            embedder=embedder_name,
            embedding=embedding,
        )
    )


def fiche_languages(session: Session, fiche_id: str) -> list[str]:
    """The languages a stored fiche is written in, sorted (none if there is no such fiche)."""
    return list(
        session.scalars(
            select(FicheVersion.language)
            .where(FicheVersion.fiche_id == fiche_id)
            .order_by(FicheVersion.language)
        )
    )


def delete_version(session: Session, fiche_id: str, language: str) -> None:
    """Remove one language version of a fiche."""
    session.execute(
        delete(FicheVersion).where(
            FicheVersion.fiche_id == fiche_id, FicheVersion.language == language
        )
    )


def delete_fiche(session: Session, fiche_id: str) -> None:
    """Remove a fiche and all its versions."""
    session.execute(delete(FicheVersion).where(FicheVersion.fiche_id == fiche_id))
    session.execute(delete(Fiche).where(Fiche.id == fiche_id))
