"""lookup failure: wrong number-plus-phone lookups, counted per conversation and per source

Record numbers stay in their String(8) column: new numbers are eight digits (kind digit, six
random digits, a Verhoeff check digit); the six-digit numbers already issued are kept as they are.

Revision ID: 7d3b9e2a4c18
Revises: 7c2f4e9a1d36
Create Date: 2026-12-01 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7d3b9e2a4c18'
down_revision = '7c2f4e9a1d36'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lookup_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lookup_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookup_failure_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_failure_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_failure_source'), ['source'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lookup_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookup_failure_source'))
        batch_op.drop_index(batch_op.f('ix_lookup_failure_sender_id'))
        batch_op.drop_index(batch_op.f('ix_lookup_failure_at'))
    op.drop_table('lookup_failure')
