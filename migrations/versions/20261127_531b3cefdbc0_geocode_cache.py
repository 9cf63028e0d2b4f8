"""geocode cache: districts per HMAC-keyed normalised address (no address, no coordinates stored)

Revision ID: 531b3cefdbc0
Revises: ea50ce7ecd4c
Create Date: 2026-11-27 19:19:55.933637

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '531b3cefdbc0'
down_revision = 'ea50ce7ecd4c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('geocode_cache_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('divisions', sa.JSON(), nullable=False),
    sa.Column('accuracy', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_geocode_cache_entries')),
    sa.UniqueConstraint('key', name=op.f('uq_geocode_cache_entries_key'))
    )
    with op.batch_alter_table('geocode_cache_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_geocode_cache_entries_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('geocode_cache_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_geocode_cache_entries_expires_at'))

    op.drop_table('geocode_cache_entries')
