"""PostgreSQL: statistics that a record's store decides its franchisee

A franchise owner's lists filter on ``franchisee_id = ? AND store_id IN (...)``. PostgreSQL took
the two conditions for independent, expected a few hundred rows where there are 14,000, and
sorted them all (owner's customer list 20 ms of SQL); with the functional dependency known it
walks the franchisee-led index in order (0.3 ms). SQLite needs nothing of the kind.

Revision ID: 71253033bf4f
Revises: e79bcb0dcc93
Create Date: 2026-11-23 20:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '71253033bf4f'
down_revision = 'e79bcb0dcc93'
branch_labels = None
depends_on = None

TABLES = ("customer", "care_task", "duplicate_candidate")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"CREATE STATISTICS IF NOT EXISTS st_{table}_store_franchisee (dependencies) "
                   f"ON store_id, franchisee_id FROM {table}")
        op.execute(f"ANALYZE {table}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_store_franchisee")
