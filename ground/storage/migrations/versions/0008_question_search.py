"""an index for the dashboard's text search of questions: FTS5 trigrams or pg_trgm

SQLite: an FTS5 table of trigrams over questions.text (external content, kept by triggers),
which answers "contains this text" without reading every question. PostgreSQL: a GIN
trigram index on lower(text) (the pg_trgm extension), used by the same LIKE the search
always ran; where the extension cannot be created the search still works, unindexed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE = [
    "CREATE VIRTUAL TABLE questions_search USING fts5("
    "text, content='questions', content_rowid='id', tokenize='trigram')",
    "INSERT INTO questions_search(questions_search) VALUES ('rebuild')",
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


def _trigram_schema(bind: sa.Connection) -> str | None:
    """The schema holding pg_trgm, creating the extension if it is missing and allowed."""
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.scalar(find)
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        except sa.exc.DBAPIError as error:
            log.warning("text search of questions stays unindexed: no pg_trgm (%s)", error.orig)
        schema = bind.scalar(find)
    return None if schema is None else str(schema)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
        return
    schema = _trigram_schema(bind)
    if schema is not None:
        op.execute(
            "CREATE INDEX ix_questions_text_trigram ON questions "
            f'USING gin (lower(text) "{schema}".gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS questions_search_{name}")
        op.execute("DROP TABLE IF EXISTS questions_search")
        return
    op.execute("DROP INDEX IF EXISTS ix_questions_text_trigram")
