"""Build the services from the configuration: database, knowledge base and triage."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage.database import Database
from ground.storage.labels_repo import latest_fit
from knowledge.collection import read_collection
from knowledge.embedder import Embedder, make_embedder
from knowledge.importer import ImportReport, import_collection
from knowledge.repository import cached_query_vectors, count_versions, fiche_words, load_index
from routing.answerability import AnswerabilityModel
from routing.language import LanguageDetector
from routing.topics import TopicClassifier
from routing.triage import Triage

__all__ = [
    "build_triage",
    "calibrated_model",
    "import_fiches",
    "open_database",
    "seed_fiches_if_empty",
]

log = logging.getLogger(__name__)


def open_database(config: Config, *, upgrade: bool = True) -> Database:
    """Open the configured database; bring an empty or old schema up to date when asked."""
    database = Database(config.database.url)
    try:
        # The quick check first: Alembic is loaded only when the schema may be behind.
        stale = upgrade and not database.is_current()
        if stale and database.current_revision() != database.head_revision():
            database.upgrade()
    except BaseException:
        database.dispose()  # a pooled connection left open would be collected unclosed
        raise
    return database


def import_fiches(
    config: Config,
    database: Database,
    embedder: Embedder,
    path: Path,
    *,
    skip_errors: bool = False,
    prune: bool = False,
) -> ImportReport:
    """Read and import one collection folder."""
    topics = {t.id for t in config.topics}
    collection = read_collection(
        path, config.languages.supported, topics, config.knowledge.max_file_bytes
    )
    return import_collection(
        database.sessions,
        collection,
        embedder,
        skip_errors=skip_errors,
        prune=prune,
        max_removed_share=config.knowledge.max_removed_share,
    )


def seed_fiches_if_empty(config: Config, database: Database, embedder: Embedder) -> None:
    """On first start, import the configured collection so the bot has something to answer from."""
    if not config.knowledge.import_on_start:
        return
    with database.sessions() as session:
        if count_versions(session):
            return
    path = config.resolve_path(config.knowledge.collection)
    if not path.is_dir():
        log.warning("knowledge.collection %s is not a folder; starting with no fiches", path)
        return
    report = import_fiches(config, database, embedder, path, skip_errors=True)
    log.info("imported %d fiches from %s", len(report.added), path)
    for error in report.skipped:
        log.warning("skipped: %s", error)


def embedder_for(config: Config) -> Embedder:
    """The embedder ``[knowledge]`` names, with its import workers."""
    return make_embedder(config.knowledge.embedder, config.knowledge.import_workers)


def build_triage(config: Config, database: Database, embedder: Embedder | None = None) -> Triage:
    """Assemble language detection, search and topic classification over the stored fiches."""
    embedder = embedder or embedder_for(config)
    detector = LanguageDetector(
        config.languages.supported,
        default=config.languages.default,
        short_words=config.routing.short_message_words,
    )
    with database.sessions() as session:
        lexicon = fiche_words(session)
    for topic in config.topics:
        for language, keywords in topic.keywords.items():
            lexicon.setdefault(language, set()).update(keywords)
        for language, examples in topic.examples.items():
            lexicon.setdefault(language, set()).update(_words(examples))
    detector.learn_words(lexicon)
    with database.sessions.begin() as session:
        model = calibrated_model(session)
        index = load_index(session, embedder, config.knowledge.lexical_weight)
        classifier = TopicClassifier(
            config.topics,
            lambda texts: cached_query_vectors(session, embedder, texts),
            min_confidence=config.routing.topic_min_confidence,
            embedder=embedder.name,
        )
    return Triage(
        detector,
        embedder,
        index,
        classifier,
        answer_confidence=config.knowledge.answer_confidence,
        suggest_confidence=config.knowledge.suggest_confidence,
        model=model,
        max_results=config.knowledge.max_results,
        topic_weight=config.knowledge.topic_weight,
        common_language="en" if "en" in config.languages.supported else config.languages.default,
    )


def calibrated_model(session: Session) -> AnswerabilityModel | None:
    """The model `rrm kb calibrate` stored last, or None for the shipped one."""
    fit = latest_fit(session)
    if fit is None:
        return None
    try:
        return AnswerabilityModel.from_dict(fit.model)
    except ValueError as error:
        # Stored before the features changed: the shipped model knows the new ones.
        log.warning("calibrated model #%d is unusable (%s); using the shipped one", fit.id, error)
        return None


def _words(texts: Iterable[str]) -> list[str]:
    return [word for text in texts for word in text.split()]
