"""Trust (issue #11): repeat signatures answered like first ones, e-mail confirmation, log-in throttles

- submissions: the (campaign, e-mail hash) pair is no longer unique (a repeat signature is accepted like a
  first one and found by the worker, which records nothing and tells the owner), so a plain index replaces the
  constraint; columns for the e-mail check (email_check, confirm_token_hash, confirm_sent_at, confirmed_at).
- campaigns.confirm_email (default off); actions.repeat_notice_at (the owner is told at most once a day).
- staff_login_throttles: failed log-ins per client and account name (HMAC keys), for a growing delay.

Revision ID: b7e1c4d2a9f0
Revises: a7c3e91d0b42
Create Date: 2026-12-03 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e1c4d2a9f0'
down_revision = 'a7c3e91d0b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_submissions_campaign_id_email_hash', type_='unique')
        batch_op.add_column(sa.Column('email_check', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('confirm_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirm_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_submissions_confirm_token_hash'), ['confirm_token_hash'])
        batch_op.create_index('ix_submissions_campaign_email', ['campaign_id', 'email_hash'], unique=False)

    # Plain ADD COLUMNs (never a batch rebuild): other tables reference campaigns and actions.
    op.add_column('campaigns', sa.Column('confirm_email', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('actions', sa.Column('repeat_notice_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('staff_login_throttles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_staff_login_throttles'))
    )
    with op.batch_alter_table('staff_login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_login_throttles_updated_at'), ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_login_throttles_updated_at'))
    op.drop_table('staff_login_throttles')

    op.drop_column('actions', 'repeat_notice_at')

    op.drop_column('campaigns', 'confirm_email')  # plain DROP COLUMN: other tables reference campaigns

    # Repeat signatures (kept as DUPLICATE rows) must let go of the e-mail hash before it is unique again.
    op.execute("UPDATE submissions SET email_hash = NULL WHERE status <> 'recorded' AND status <> 'received'")
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_campaign_email')
        batch_op.drop_constraint(batch_op.f('uq_submissions_confirm_token_hash'), type_='unique')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirm_sent_at')
        batch_op.drop_column('confirm_token_hash')
        batch_op.drop_column('email_check')
        batch_op.create_unique_constraint('uq_submissions_campaign_id_email_hash', ['campaign_id', 'email_hash'])
