"""Actions: the supporter's paragraph (encrypted), kept only while office types wait for a match

The letters written once the geocoder answers carry it too; it is erased when they are written, at deletion
and at the address purge.

Revision ID: 365634025289
Revises: 82e2f9f3b6bd
Create Date: 2026-11-27 23:07:31.619363

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '365634025289'
down_revision = '82e2f9f3b6bd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_paragraph', sa.Text(), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite >= 3.35 has it): batch mode would rebuild actions, which other tables reference.
    op.drop_column('actions', 'personal_paragraph')

