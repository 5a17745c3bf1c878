"""policy times asked: the kiosk's topic tiles come most-asked first

Revision ID: 9a4d2f6b1e57
Revises: 3f8a6c1e5b27
Create Date: 2026-12-01 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '9a4d2f6b1e57'
down_revision = '3f8a6c1e5b27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('times_asked', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.drop_column('times_asked')
