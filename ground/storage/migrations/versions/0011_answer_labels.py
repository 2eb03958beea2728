"""answer labels (outcomes the answerability model learns from) and refitted models

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fiche_answers", sa.Column("features", sa.JSON(), nullable=True))
    op.create_table(
        "answer_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("fiche_id", sa.String(length=200), nullable=False),
        sa.Column("shown_fiche", sa.String(length=200), nullable=True),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", "fiche_id", "source"),
    )
    op.create_index("ix_answer_labels_question_id", "answer_labels", ["question_id"])
    op.create_index("ix_answer_labels_created_at", "answer_labels", ["created_at"])
    op.create_table(
        "answerability_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("last_label_id", sa.Integer(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("answerability_fits")
    op.drop_index("ix_answer_labels_created_at", table_name="answer_labels")
    op.drop_index("ix_answer_labels_question_id", table_name="answer_labels")
    op.drop_table("answer_labels")
    op.drop_column("fiche_answers", "features")
