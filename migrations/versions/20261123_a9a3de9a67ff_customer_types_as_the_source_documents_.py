"""customer types as the source documents name them

Revision ID: a9a3de9a67ff
Revises: dd13d712ee55
Create Date: 2026-11-23 22:35:12.110297

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9a3de9a67ff'
down_revision = 'dd13d712ee55'
branch_labels = None
depends_on = None


# Seed 001 names three kinds of customer: 个人购买者、中间商和制造商 (issue 8). "dealer" was the
# intermediary and "company" stood for the manufacturer.
RENAMES = (("dealer", "intermediary"), ("company", "manufacturer"))


def upgrade():
    for old, new in RENAMES:
        op.execute(sa.text("UPDATE customer SET customer_type = :new WHERE customer_type = :old")
                   .bindparams(old=old, new=new))


def downgrade():
    for old, new in RENAMES:
        op.execute(sa.text("UPDATE customer SET customer_type = :old WHERE customer_type = :new")
                   .bindparams(old=old, new=new))
