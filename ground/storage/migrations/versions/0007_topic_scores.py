"""every topic's probability on each question, for routing by expertise as a whole

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("questions", sa.Column("topic_scores", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("questions", "topic_scores")
