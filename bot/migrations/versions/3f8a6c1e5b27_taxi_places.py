"""taxi places: the pickups and destinations a resident can choose by touch, kept by staff

Revision ID: 3f8a6c1e5b27
Revises: 7d3b9e2a4c18
Create Date: 2026-12-01 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '3f8a6c1e5b27'
down_revision = '7d3b9e2a4c18'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('taxi_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'name')
    )


def downgrade() -> None:
    op.drop_table('taxi_place')
