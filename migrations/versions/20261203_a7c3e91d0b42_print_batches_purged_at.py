"""print_batches.purged_at: when a batch's (encrypted) PDF was deleted (retention over, or emptied by deletions)

Revision ID: a7c3e91d0b42
Revises: 365634025289
Create Date: 2026-12-03 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e91d0b42'
down_revision = '365634025289'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
