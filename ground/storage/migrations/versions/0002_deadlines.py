"""deadline steps: reminders and escalations of each question

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deadline_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_id', 'clock', 'kind', 'step')
    )
    op.create_index('ix_deadline_steps_pending', 'deadline_steps', ['state', 'due_at'], unique=False)
    op.create_index(op.f('ix_deadline_steps_question_id'), 'deadline_steps', ['question_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deadline_steps_question_id'), table_name='deadline_steps')
    op.drop_index('ix_deadline_steps_pending', table_name='deadline_steps')
    op.drop_table('deadline_steps')
