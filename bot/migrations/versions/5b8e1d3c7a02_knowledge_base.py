"""knowledge base: entries (a policy answer becomes an entry with its topic), their ways of asking,
and the questions residents asked

Revision ID: 5b8e1d3c7a02
Revises: 3f8a6c1e5b27
Create Date: 2026-12-01 17:27:11.164368
"""
from alembic import op
import sqlalchemy as sa


revision = '5b8e1d3c7a02'
down_revision = '3f8a6c1e5b27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('spoken', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('needs_confirmation', sa.Boolean(), nullable=False),
    sa.Column('checked_by', sa.String(length=64), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('title'),
    sa.UniqueConstraint('topic')
    )
    op.create_table('knowledge_ask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entry.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id', 'text')
    )
    with op.batch_alter_table('knowledge_ask', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_ask_entry_id'), ['entry_id'], unique=False)

    op.create_table('knowledge_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('handled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entry.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('knowledge_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_question_asked_at'), ['asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_knowledge_question_entry_id'), ['entry_id'], unique=False)

    # Every policy answer staff kept becomes an entry answering that topic, edits included.
    policy = sa.table('policy', sa.column('topic', sa.String), sa.column('answer', sa.Text),
                      sa.column('source', sa.String), sa.column('needs_confirmation', sa.Boolean),
                      sa.column('updated_at', sa.DateTime(timezone=True)))
    entry = sa.table('knowledge_entry', sa.column('title', sa.String), sa.column('topic', sa.String),
                     sa.column('spoken', sa.Text), sa.column('details', sa.JSON), sa.column('source', sa.String),
                     sa.column('needs_confirmation', sa.Boolean), sa.column('checked_by', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)))
    rows = op.get_bind().execute(sa.select(policy)).mappings().all()
    if rows:
        op.bulk_insert(entry, [
            {"title": r["topic"], "topic": r["topic"], "spoken": r["answer"], "details": {}, "source": r["source"],
             "needs_confirmation": r["needs_confirmation"], "checked_by": "", "created_at": r["updated_at"],
             "updated_at": r["updated_at"]}
            for r in rows
        ])
    op.drop_table('policy')


def downgrade() -> None:
    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('needs_confirmation', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('topic')
    )
    op.execute("INSERT INTO policy (topic, answer, source, needs_confirmation, updated_at) "
               "SELECT topic, spoken, substr(source, 1, 200), needs_confirmation, updated_at "
               "FROM knowledge_entry WHERE topic IS NOT NULL")
    with op.batch_alter_table('knowledge_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_question_entry_id'))
        batch_op.drop_index(batch_op.f('ix_knowledge_question_asked_at'))

    op.drop_table('knowledge_question')
    with op.batch_alter_table('knowledge_ask', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_ask_entry_id'))

    op.drop_table('knowledge_ask')
    op.drop_table('knowledge_entry')
