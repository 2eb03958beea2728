"""an index on when questions were first answered, for the similar-question search

The search keeps every answered question's vector in memory and, at each search, takes in
the questions answered since the last one; without this index that read walked every
answered question.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_questions_first_response_at", "questions", ["first_response_at"])


def downgrade() -> None:
    op.drop_index("ix_questions_first_response_at", table_name="questions")
