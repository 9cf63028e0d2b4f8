"""Reach: CWC active offices; campaigns' CWC topics and statement; the supporter's CWC title; the channel chain's notes and provider tracking per delivery, and a source's confidence and notes per office

Revision ID: b7c1d2e3f4a5
Revises: 8c9d5962c2ae
Create Date: 2026-12-03 15:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1d2e3f4a5'
down_revision = '8c9d5962c2ae'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cwc_offices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chamber', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('seat', sa.String(length=4), nullable=True),
    sa.Column('bioguide_id', sa.String(length=16), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cwc_offices')),
    sa.UniqueConstraint('chamber', 'code', name=op.f('uq_cwc_offices_chamber_code'))
    )
    with op.batch_alter_table('cwc_offices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cwc_offices_state'), ['state'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cwc_topics', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cwc_statement', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cwc_response_requested', sa.Boolean(), nullable=True))
    op.execute("UPDATE campaigns SET cwc_topics = '[\"Immigration\"]'")

    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cwc_title', sa.Text(), nullable=True))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_notes', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tracking', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_deliveries_provider_ref', ['provider_ref'], unique=False)

    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_confidence', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('data_notes', sa.Text(), nullable=True))


def downgrade():
    op.drop_table('cwc_offices')
    with op.batch_alter_table('campaigns', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('cwc_response_requested')
        batch_op.drop_column('cwc_statement')
        batch_op.drop_column('cwc_topics')

    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): copying `offices` in batch mode would trip the foreign keys
    # that letters, officials and print batches hold on it.
    with op.batch_alter_table('offices', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('data_notes')
        batch_op.drop_column('data_confidence')

    with op.batch_alter_table('actions', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('cwc_title')

    with op.batch_alter_table('deliveries', schema=None, recreate='never') as batch_op:
        batch_op.drop_index('ix_deliveries_provider_ref')
        batch_op.drop_column('tracking')
        batch_op.drop_column('channel_notes')
