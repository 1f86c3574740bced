"""customer: index for a franchisee's customers of one category by recency

Revision ID: 3b9d41c7a2e5
Revises: 8cd7e25faef6
Create Date: 2026-11-23 18:35:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3b9d41c7a2e5'
down_revision = '8cd7e25faef6'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX, not batch mode: a batch rebuild of the customer table on SQLite would
    # drop the search index's triggers.
    op.create_index('ix_customer_store_category_recent', 'customer',
                    ['store_id', 'category', 'last_purchase_day', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_customer_store_category_recent', table_name='customer')
