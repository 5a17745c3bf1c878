"""alert place and phone: what staff need to act at once

Revision ID: 5e1a7c0d2b91
Revises: 190578354f67
Create Date: 2026-12-01 11:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5e1a7c0d2b91'
down_revision = '190578354f67'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=128), nullable=False, server_default=""))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('place')
