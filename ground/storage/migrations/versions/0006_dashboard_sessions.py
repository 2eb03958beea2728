"""dashboard sessions on the server and login attempts counted in the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_dashboard_sessions_name", "dashboard_sessions", ["name"])
    op.create_table(
        "dashboard_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dashboard_login_attempts_key", "dashboard_login_attempts", ["key"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_login_attempts_key", table_name="dashboard_login_attempts")
    op.drop_table("dashboard_login_attempts")
    op.drop_index("ix_dashboard_sessions_name", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
