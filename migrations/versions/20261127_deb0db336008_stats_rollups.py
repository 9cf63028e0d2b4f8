"""Stats: rollups of actions, letters and deliveries (day and month rows) and their refresh state

Revision ID: deb0db336008
Revises: 571d6226f22a
Create Date: 2026-11-27 19:49:46.911333

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'deb0db336008'
down_revision = '571d6226f22a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_action_rollups',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('county_key', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('is_returning', sa.Boolean(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.Column('first_actions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('span', 'county_key', 'day', 'campaign_id', 'language', 'is_returning', name=op.f('pk_stats_action_rollups'))
    )
    op.create_index('ix_stats_action_rollups_campaign_day', 'stats_action_rollups', ['campaign_id', 'day'], unique=False)
    op.create_table('stats_delivery_rollups',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('county_key', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('office_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('span', 'county_key', 'day', 'campaign_id', 'office_type', 'status', 'channel', name=op.f('pk_stats_delivery_rollups'))
    )
    op.create_index('ix_stats_delivery_rollups_campaign_day', 'stats_delivery_rollups', ['campaign_id', 'day'], unique=False)
    op.create_table('stats_office_rollups',
    sa.Column('span', sa.String(length=1), nullable=False),
    sa.Column('county_key', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('official_key', sa.Integer(), nullable=False),
    sa.Column('office_type', sa.String(length=32), nullable=False),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('span', 'county_key', 'day', 'campaign_id', 'office_id', 'official_key', name=op.f('pk_stats_office_rollups'))
    )
    op.create_index('ix_stats_office_rollups_campaign_day', 'stats_office_rollups', ['campaign_id', 'day'], unique=False)
    op.create_table('stats_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('full_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('max_letters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_rollup_state'))
    )


def downgrade():
    op.drop_table('stats_rollup_state')
    op.drop_index('ix_stats_office_rollups_campaign_day', table_name='stats_office_rollups')
    op.drop_table('stats_office_rollups')
    op.drop_index('ix_stats_delivery_rollups_campaign_day', table_name='stats_delivery_rollups')
    op.drop_table('stats_delivery_rollups')
    op.drop_index('ix_stats_action_rollups_campaign_day', table_name='stats_action_rollups')
    op.drop_table('stats_action_rollups')
