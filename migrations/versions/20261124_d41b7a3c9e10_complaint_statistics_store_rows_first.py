"""complaint statistics: a store's rows first in the unique key

Revision ID: d41b7a3c9e10
Revises: 7c399102a112
Create Date: 2026-11-24 04:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd41b7a3c9e10'
down_revision = '7c399102a112'
branch_labels = None
depends_on = None


def upgrade():
    # Same columns, new order: (store, kind of row, month, ...) serves the pages of one store or a
    # few; Alembic does not see an order change, so it is written by hand.
    with op.batch_alter_table('complaint_month_stats', schema=None) as batch_op:
        batch_op.drop_constraint('uq_complaint_month_stats_store_id', type_='unique')
        batch_op.create_unique_constraint('uq_complaint_month_stats_store_id',
                                          ['store_id', 'dimension', 'month', 'franchisee_id', 'value_id'])


def downgrade():
    with op.batch_alter_table('complaint_month_stats', schema=None) as batch_op:
        batch_op.drop_constraint('uq_complaint_month_stats_store_id', type_='unique')
        batch_op.create_unique_constraint('uq_complaint_month_stats_store_id',
                                          ['store_id', 'month', 'franchisee_id', 'dimension', 'value_id'])
