"""Delivery: print batches, and the sweeper's queued_at and the dead-letter clock first_attempt_at

Revision ID: 571d6226f22a
Revises: 5a6fb8fd63d5
Create Date: 2026-11-27 19:36:34.467608

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '571d6226f22a'
down_revision = '5a6fb8fd63d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('print_batches',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('letter_count', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_print_batches_office_id_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_batches'))
    )
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_batches_office_id'), ['office_id'], unique=False)

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('first_attempt_at')
        batch_op.drop_column('queued_at')

    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_batches_office_id'))

    op.drop_table('print_batches')
