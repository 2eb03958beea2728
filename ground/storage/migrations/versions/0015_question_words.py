"""word search of questions: FTS5 words on SQLite, a tsvector GIN index on PostgreSQL

The trigram indexes of 0008 and 0013 found any part of the text, but a search of two
common words read the position lists of some twenty trigrams, each in a quarter of a
million questions (over a second). The list now searches words: every word searched starts
a word of the question, in any order, case and accents folded.

SQLite: ``questions_search`` becomes an FTS5 table of words (unicode61, diacritics
removed), still external content over questions.text and kept by the same triggers.
PostgreSQL: two functions split the text and the search into words alike (lower case,
accents removed by the unaccent extension where it can be created, runs of letters and
digits) and a GIN index holds the words of every question; the trigram index is dropped
(pg_trgm itself stays, it may serve others). unaccent folds a little more than SQLite's
unicode61 (Greek tonos, ł, ß, æ): a search finds those letters' plain forms on PostgreSQL only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TRIGGERS = [
    "CREATE TRIGGER questions_search_insert AFTER INSERT ON questions BEGIN "
    "INSERT INTO questions_search(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER questions_search_delete AFTER DELETE ON questions BEGIN "
    "INSERT INTO questions_search(questions_search, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER questions_search_update AFTER UPDATE OF text ON questions BEGIN "
    "INSERT INTO questions_search(questions_search, rowid, text) "
    "VALUES ('delete', old.id, old.text); "
    "INSERT INTO questions_search(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE questions_search USING fts5("
    "text, content='questions', content_rowid='id', tokenize='{tokenize}')"
)
WORDS = "unicode61 remove_diacritics 2"

# The words of a text, lower case, accents removed where unaccent is installed; and a
# search's words, each a prefix, all of them wanted.
SPLIT = "array_remove(regexp_split_to_array({fold}, '[^[:alnum:]]+'), '')"
POSTGRESQL = [
    "CREATE FUNCTION rrm_search_words(text) RETURNS tsvector LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT array_to_tsvector({split}) $$",
    "CREATE FUNCTION rrm_search_query(text) RETURNS tsquery LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT string_agg(quote_literal(word) || ':*', ' & ')::tsquery "
    "FROM unnest({split}) AS word $$",
]
# A GIN index builds several times faster with room to sort its entries (64 MB by default).
INDEX = [
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX ix_questions_text_words ON questions USING gin (rrm_search_words(text))",
]


def _unaccent_schema(bind: sa.Connection) -> str | None:
    """The schema holding unaccent, creating the extension if it is missing and allowed."""
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    )
    schema = bind.scalar(find)
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public"))
        except sa.exc.DBAPIError as error:
            log.warning("question search keeps accents: no unaccent extension (%s)", error.orig)
        schema = bind.scalar(find)
    return None if schema is None else str(schema)


def _trigram_ops(bind: sa.Connection) -> str | None:
    """pg_trgm's operator class, if 0008 could index (it created the extension then)."""
    schema = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    return None if schema is None else f'"{schema}".gin_trgm_ops'


def _sqlite_index(tokenize: str) -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS questions_search_{name}")
    op.execute("DROP TABLE IF EXISTS questions_search")
    op.execute(SQLITE_TABLE.format(tokenize=tokenize))
    op.execute("INSERT INTO questions_search(questions_search) VALUES ('rebuild')")
    for statement in TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_index(WORDS)
        return
    op.execute("DROP INDEX IF EXISTS ix_questions_text_trigram")
    bind = op.get_bind()
    schema = _unaccent_schema(bind)
    fold = "lower($1)"
    if schema is not None:
        # unaccent() is only stable (its rules could change): named in full, the call is
        # fixed, and the functions can be immutable, as an index needs.
        fold = f'"{schema}".unaccent(\'"{schema}".unaccent\'::regdictionary, lower($1))'
    for statement in POSTGRESQL:
        op.execute(statement.format(split=SPLIT.format(fold=fold)))
    for statement in INDEX:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_index("trigram")
        return
    op.execute("DROP INDEX IF EXISTS ix_questions_text_words")
    op.execute("DROP FUNCTION IF EXISTS rrm_search_query(text)")
    op.execute("DROP FUNCTION IF EXISTS rrm_search_words(text)")
    ops = _trigram_ops(bind)
    if ops is not None:
        op.execute(
            "CREATE INDEX ix_questions_text_trigram ON questions "
            f"USING gin ((replace(lower(text), ' ', '0')) {ops})"
        )
