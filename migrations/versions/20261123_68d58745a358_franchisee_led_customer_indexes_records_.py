"""customer: franchisee-led indexes; records follow the store's current owner

A customer (and its care tasks, dismissed duplicate pairs and the store's current roll-up)
belongs to its store's current owner; before this, a store transfer left them under the old
franchisee. This repairs rows written that way, then adds the indexes a franchise owner's
lists walk (the tenant scope names the franchisee, app/security/tenancy.py).

Revision ID: 68d58745a358
Revises: 9240c02cbd27
Create Date: 2026-11-23 19:23:54.781527

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '68d58745a358'
down_revision = '9240c02cbd27'
branch_labels = None
depends_on = None

CURRENT_OWNER_TABLES = ("customer", "care_task", "not_duplicate", "store_stats")


def upgrade():
    for table in CURRENT_OWNER_TABLES:
        op.execute(
            f"UPDATE {table} SET franchisee_id = (SELECT store.franchisee_id FROM store WHERE store.id = {table}.store_id) "
            f"WHERE franchisee_id <> (SELECT store.franchisee_id FROM store WHERE store.id = {table}.store_id)"
        )
    # Duplicate candidates of moved customers are found again by the nightly job (per franchisee).
    op.execute(
        "DELETE FROM duplicate_candidate WHERE franchisee_id <> "
        "(SELECT customer.franchisee_id FROM customer WHERE customer.id = duplicate_candidate.customer_id)"
    )
    # Plain CREATE INDEX, not batch mode: a batch rebuild of the customer table on SQLite would
    # drop the search index's triggers.
    op.create_index('ix_customer_franchisee_recent', 'customer', ['franchisee_id', 'last_purchase_day', 'id'], unique=False)
    op.create_index('ix_customer_franchisee_spend', 'customer', ['franchisee_id', 'total_spend', 'id'], unique=False)
    # Statistics for the new indexes, so the planner weighs them against the store-led ones.
    op.execute("ANALYZE customer")


def downgrade():
    op.drop_index('ix_customer_franchisee_spend', table_name='customer')
    op.drop_index('ix_customer_franchisee_recent', table_name='customer')
