"""Digest offices: offices that receive one email a day with all their letters (deliveries channel 'digest')

Channels are stored as strings without a CHECK constraint, so the new 'digest' value needs no change to
deliveries.

Revision ID: 7d1f0c2e9a41
Revises: b7e1c4d2a9f0
Create Date: 2026-12-03 15:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d1f0c2e9a41'
down_revision = 'b7e1c4d2a9f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'digest_offices',
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_digest_offices_office_id_offices')),
        sa.PrimaryKeyConstraint('office_id', name=op.f('pk_digest_offices')),
    )


def downgrade():
    # Letters waiting for a digest go back to one email each before the table goes.
    op.execute("UPDATE deliveries SET channel = 'email' WHERE channel = 'digest'")
    op.drop_table('digest_offices')
