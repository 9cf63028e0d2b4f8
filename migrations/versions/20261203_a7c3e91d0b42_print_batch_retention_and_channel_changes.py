"""Trust fixes: print_batches.purged_at (when a batch's encrypted PDF was deleted: retention over, or emptied
by deletions) and office_channel_changes (delivery-channel changes proposed by editors, applied by an admin);
deliveries cancelled by a deletion, recorded as failed until now, get the new 'cancelled' status

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


# What earlier versions wrote as the reason of a delivery cancelled because its supporter deleted their data.
CANCELLED_REASONS = ("cancelled: the supporter deleted their data", "withdrawn: the supporter deleted their data")


def upgrade():
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    deliveries = sa.table('deliveries', sa.column('status', sa.String), sa.column('last_error', sa.Text))
    op.execute(deliveries.update()
               .where(deliveries.c.status.in_(['failed', 'dead']), deliveries.c.last_error.in_(CANCELLED_REASONS))
               .values(status='cancelled'))
    op.create_table(
        'office_channel_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'applied', 'rejected', name='channelchangestatus',
                                    native_enum=False, length=32), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'],
                                name=op.f('fk_office_channel_changes_decided_by_id_staff_users')),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'],
                                name=op.f('fk_office_channel_changes_office_id_offices')),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['staff_users.id'],
                                name=op.f('fk_office_channel_changes_proposed_by_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_office_channel_changes')),
    )
    with op.batch_alter_table('office_channel_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_channel_changes_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_office_channel_changes_status'), ['status'], unique=False)


def downgrade():
    deliveries = sa.table('deliveries', sa.column('status', sa.String))
    op.execute(deliveries.update().where(deliveries.c.status.in_(['cancelled', 'expired'])).values(status='failed'))
    with op.batch_alter_table('office_channel_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_channel_changes_status'))
        batch_op.drop_index(batch_op.f('ix_office_channel_changes_office_id'))
    op.drop_table('office_channel_changes')
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
