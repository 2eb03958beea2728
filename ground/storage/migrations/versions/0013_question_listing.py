"""the dashboard's question list: indexes by partner and status and by deadline; phrase search

The list is filtered by partner and status, and its overdue view sorted by the next
deadline; on a million questions each read (and sorted) every matching row. The overdue
index is partial (active questions only) on the next deadline, an expression the models
cannot declare (like the search index of 0008).

PostgreSQL: the trigram index of 0008 is rebuilt on the text with its spaces joined
(replace(lower(text), ' ', '0')): pg_trgm splits words, so a phrase of common words found
every question holding both words anywhere (74,349 of a million for "rural apprenticeship",
6,689 holding the phrase); with the trigrams across the space indexed too, 18,669.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The statuses of repo.ACTIVE, written out: a migration does not follow later code.
ACTIVE_DUE = (
    "CREATE INDEX ix_questions_active_due ON questions "
    "(coalesce(first_response_due, resolution_due), id) "
    "WHERE status IN ('open', 'answered')"
)
TRIGRAM = "CREATE INDEX ix_questions_text_trigram ON questions USING gin ({text} {ops})"
JOINED = "replace(lower(text), ' ', '0')"


def _trigram_ops(bind: sa.Connection) -> str | None:
    """pg_trgm's operator class, if 0008 could index (it created the extension then)."""
    schema = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    return None if schema is None else f'"{schema}".gin_trgm_ops'


def upgrade() -> None:
    op.create_index(
        "ix_questions_partner_status", "questions", ["partner_id", "status", "created_at"]
    )
    op.execute(ACTIVE_DUE)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    ops = _trigram_ops(bind)
    if ops is not None:
        op.execute("DROP INDEX IF EXISTS ix_questions_text_trigram")
        op.execute(TRIGRAM.format(text=JOINED, ops=ops))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        ops = _trigram_ops(bind)
        if ops is not None:
            op.execute("DROP INDEX IF EXISTS ix_questions_text_trigram")
            op.execute(TRIGRAM.format(text="lower(text)", ops=ops))
    op.execute("DROP INDEX IF EXISTS ix_questions_active_due")
    op.drop_index("ix_questions_partner_status", table_name="questions")
