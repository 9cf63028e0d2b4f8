"""Submissions: the inbox the sign request writes (one row, payload encrypted) and the worker records

Existing actions get a recorded submission each, so the (campaign, e-mail hash) uniqueness that refuses a second
signature also covers signatures made before this migration (deleted supporters' hashes are left out).

Revision ID: 82e2f9f3b6bd
Revises: 42e2767ced96
Create Date: 2026-11-27 22:16:07.168639

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '82e2f9f3b6bd'
down_revision = '42e2767ced96'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('received', 'recorded', 'duplicate', 'failed', name='submissionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_submissions_action_id_actions')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_submissions_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('action_id', name=op.f('uq_submissions_action_id')),
    sa.UniqueConstraint('campaign_id', 'email_hash', name=op.f('uq_submissions_campaign_id_email_hash')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_submissions_token_hash'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_status_updated', ['status', 'updated_at'], unique=False)

    op.execute(
        "INSERT INTO submissions (campaign_id, email_hash, token_hash, payload, status, attempts, action_id, "
        "processed_at, created_at, updated_at) "
        "SELECT a.campaign_id, CASE WHEN s.deleted_at IS NULL THEN s.email_hash END, a.token_hash, NULL, "
        "'recorded', 1, a.id, a.created_at, a.created_at, a.created_at "
        "FROM actions a JOIN supporters s ON s.id = a.supporter_id")


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_status_updated')

    op.drop_table('submissions')
