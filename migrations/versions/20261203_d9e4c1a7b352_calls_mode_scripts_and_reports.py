"""Calls (#14 item 4): a campaign's mode (letters, calls or both), its call scripts per office type and
language, and the outcomes supporters report (campaign, office, outcome, day, language only).

Revision ID: d9e4c1a7b352
Revises: b5d2f8a1c7e4
Create Date: 2026-12-03 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd9e4c1a7b352'
down_revision = 'b5d2f8a1c7e4'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch copy): SQLite cannot drop and re-create a referenced table that has rows.
    op.add_column('campaigns', sa.Column('mode', sa.Enum('letters', 'calls', 'both', name='campaignmode',
                                                         native_enum=False, length=32),
                                         server_default='letters', nullable=False))
    op.create_table(
        'call_scripts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('office_type', sa.String(length=32), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_call_scripts_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_scripts')),
        sa.UniqueConstraint('campaign_id', 'office_type', 'lang',
                            name=op.f('uq_call_scripts_campaign_id_office_type_lang')),
    )
    op.create_table(
        'call_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.Enum('talked', 'voicemail', 'no_answer', name='calloutcome', native_enum=False,
                                     length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_call_reports_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_call_reports_office_id_offices')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_reports')),
    )
    op.create_index('ix_call_reports_campaign_office', 'call_reports', ['campaign_id', 'office_id'], unique=False)


def downgrade():
    op.drop_index('ix_call_reports_campaign_office', table_name='call_reports')
    op.drop_table('call_reports')
    op.drop_table('call_scripts')
    op.drop_column('campaigns', 'mode')
