"""Submissions keep the office ids the signer chose (submissions.office_ids), so the page reached from the sign
redirect can list them as a receipt for a first and a repeat signature alike; erased after retention.

Revision ID: c4f2a8e61d39
Revises: b7c1d2e3f4a5
Create Date: 2026-12-03 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f2a8e61d39'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_ids', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('office_ids')
