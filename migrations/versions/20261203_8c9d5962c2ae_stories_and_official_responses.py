"""Stories (encrypted, moderated, consent recorded; no IP address) and officials' responses (public record)

stories: a supporter's story as written (encrypted; erased after the retention period), the redacted copy a
moderator publishes, the consent given and the level published (never higher), and the HMAC of the deletion code.
official_responses: each recorded position of an office's holder on ending the agreements, with date, public note
and source; a change adds a row, so the page can say "as of" and history stays.

Revision ID: 8c9d5962c2ae
Revises: 7d1f0c2e9a41
Create Date: 2026-12-03 15:32:38.948894

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c9d5962c2ae'
down_revision = '7d1f0c2e9a41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('new', 'approved', 'rejected', name='storystatus', native_enum=False, length=32), nullable=False),
    sa.Column('consent', sa.Enum('private', 'anonymous', 'named', name='consent', native_enum=False, length=32), nullable=False),
    sa.Column('published_consent', sa.Enum('private', 'anonymous', 'named', name='consent', native_enum=False, length=32), nullable=True),
    sa.Column('featured', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('published_text', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('contact_ok', sa.Boolean(), nullable=False),
    sa.Column('delete_code_hash', sa.String(length=64), nullable=False),
    sa.Column('email_token_hash', sa.String(length=64), nullable=True),
    sa.Column('receipt_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kept', sa.Boolean(), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('original_erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_stories_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['county_id'], ['divisions.id'], name=op.f('fk_stories_county_id_divisions')),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['staff_users.id'], name=op.f('fk_stories_moderated_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stories')),
    sa.UniqueConstraint('delete_code_hash', name=op.f('uq_stories_delete_code_hash')),
    sa.UniqueConstraint('email_token_hash', name=op.f('uq_stories_email_token_hash'))
    )
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stories_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stories_status'), ['status'], unique=False)

    op.create_table('official_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Enum('supports', 'opposes', 'undecided', 'no_response', name='position', native_enum=False, length=32), nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=280), nullable=False),
    sa.Column('source_url', sa.String(length=512), nullable=True),
    sa.Column('source_label', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_official_responses_office_id_offices')),
    sa.ForeignKeyConstraint(['official_id'], ['officials.id'], name=op.f('fk_official_responses_official_id_officials')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f('fk_official_responses_recorded_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_responses'))
    )
    with op.batch_alter_table('official_responses', schema=None) as batch_op:
        batch_op.create_index('ix_official_responses_office_recorded', ['office_id', 'recorded_at'], unique=False)



def downgrade():
    with op.batch_alter_table('official_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_official_responses_office_recorded')

    op.drop_table('official_responses')
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stories_status'))
        batch_op.drop_index(batch_op.f('ix_stories_campaign_id'))

    op.drop_table('stories')
