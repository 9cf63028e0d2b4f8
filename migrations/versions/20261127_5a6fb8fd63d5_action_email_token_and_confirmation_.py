"""Actions: the confirmation e-mail's own token (HMAC only) and the send-once claim of its task

Revision ID: 5a6fb8fd63d5
Revises: c996c46f98df
Create Date: 2026-11-27 19:34:44.341181

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a6fb8fd63d5'
down_revision = 'c996c46f98df'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirmation_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_actions_email_token_hash'), ['email_token_hash'])


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_actions_email_token_hash'), type_='unique')
        batch_op.drop_column('confirmation_sent_at')
        batch_op.drop_column('email_token_hash')
