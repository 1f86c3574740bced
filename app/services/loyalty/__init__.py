"""The loyalty programme (issue 14): the points ledger, redemption, returns, expiry, tier
privileges, offers, events and clubs, lost customers and relationship reviews. See
models/loyalty.py for the ledger's rules."""
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Customer
from app.security.tenancy import unscoped

CHUNK = 900


def insert_for_customers(table, columns: list[str], values, chosen, cap: int) -> int:
    """Insert a row into ``table`` for each customer ``chosen`` (a select of Customer), the
    ``values`` (expressions over Customer) giving its columns; returns how many were written.

    The customers are read first, through the user's tenant scope: an INSERT ... SELECT is not
    an ORM query, so the scope's criteria would not reach the SELECT inside it (trial 21: a
    store manager's invitation reached two other stores, an owner's reached other franchisees).
    """
    ids = db.session.scalars(chosen.with_only_columns(Customer.id).order_by(Customer.id).limit(cap)).all()
    made = 0
    with unscoped():  # the ids were chosen within the scope
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            made += db.session.execute(
                insert(table).from_select(columns, select(*values).where(Customer.id.in_(part)))
                .execution_options(preserve_rowcount=True)).rowcount or 0
    return made
