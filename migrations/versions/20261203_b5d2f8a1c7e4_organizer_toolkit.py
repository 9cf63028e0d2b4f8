"""The organizer's toolkit: consent wordings and the consent on supporters (with the phone given with it), the
source code on actions, per-campaign settings (ask for consent, embed origins, share card image), and the
webhook endpoints (Standard Webhooks receivers, Action Network) with the outbox of their messages, and staff
API tokens (stored as a keyed hash); the editable confirmation e-mail per campaign text

Revision ID: b5d2f8a1c7e4
Revises: c4f2a8e61d39
Create Date: 2026-12-03 16:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b5d2f8a1c7e4'
down_revision = 'c4f2a8e61d39'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'consent_wordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('text_hash', sa.String(length=64), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('text', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_wordings')),
        sa.UniqueConstraint('text_hash', name=op.f('uq_consent_wordings_text_hash')),
    )
    op.create_table(
        'supporter_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('supporter_id', sa.Integer(), nullable=False),
        sa.Column('wording_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_supporter_consents_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['supporter_id'], ['supporters.id'],
                                name=op.f('fk_supporter_consents_supporter_id_supporters')),
        sa.ForeignKeyConstraint(['wording_id'], ['consent_wordings.id'],
                                name=op.f('fk_supporter_consents_wording_id_consent_wordings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supporter_consents')),
    )
    op.create_index(op.f('ix_supporter_consents_supporter_id'), 'supporter_consents', ['supporter_id'], unique=False)
    # Plain ADD/DROP COLUMN (no batch): on SQLite a batch would copy supporters, actions and campaigns, which
    # other tables reference, and fail on a database with rows.
    op.add_column('supporters', sa.Column('phone', sa.Text(), nullable=True))
    op.add_column('actions', sa.Column('source', sa.String(length=40), nullable=True))
    op.create_index(op.f('ix_actions_source'), 'actions', ['source'], unique=False)
    op.add_column('campaigns', sa.Column('ask_consent', sa.Boolean(), server_default='1', nullable=False))
    op.add_column('campaigns', sa.Column('embed_origins', sa.JSON(), nullable=True))
    op.add_column('campaigns', sa.Column('share_image', sa.LargeBinary(), nullable=True))
    op.add_column('campaigns', sa.Column('share_image_type', sa.String(length=20), nullable=True))
    op.add_column('campaign_texts', sa.Column('email_subject', sa.String(length=300), nullable=True))
    op.add_column('campaign_texts', sa.Column('email_body', sa.Text(), nullable=True))

    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.Enum('webhook', 'action_network', name='endpointkind', native_enum=False, length=32),
                  nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_table(
        'webhook_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('msg_id', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'dead', name='messagestatus', native_enum=False,
                                    length=32), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_response', sa.Text(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'],
                                name=op.f('fk_webhook_messages_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_messages')),
        sa.UniqueConstraint('msg_id', name=op.f('uq_webhook_messages_msg_id')),
    )
    op.create_index(op.f('ix_webhook_messages_endpoint_id'), 'webhook_messages', ['endpoint_id'], unique=False)
    op.create_index('ix_webhook_messages_status_next', 'webhook_messages', ['status', 'next_attempt_at'],
                    unique=False)

    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('role', sa.Enum('viewer', 'editor', 'admin', name='role', native_enum=False, length=32),
                  nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_api_tokens_user_id_staff_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index('ix_webhook_messages_status_next', table_name='webhook_messages')
    op.drop_index(op.f('ix_webhook_messages_endpoint_id'), table_name='webhook_messages')
    op.drop_table('webhook_messages')
    op.drop_table('webhook_endpoints')
    op.drop_column('campaign_texts', 'email_body')
    op.drop_column('campaign_texts', 'email_subject')
    for column in ('share_image_type', 'share_image', 'embed_origins', 'ask_consent'):
        op.drop_column('campaigns', column)
    op.drop_index(op.f('ix_actions_source'), table_name='actions')
    op.drop_column('actions', 'source')
    op.drop_column('supporters', 'phone')
    op.drop_index(op.f('ix_supporter_consents_supporter_id'), table_name='supporter_consents')
    op.drop_table('supporter_consents')
    op.drop_table('consent_wordings')
