"""The large network's deliveries (issue 12, the Amazon case): the demo's carriers, and a
delivery for one in five purchases of the last twelve months (572,605 for the default
network, in 55 s on SQLite), each with an outcome drawn from its carrier's habits (``seed_logistics.outcome``); the
delivery complaints of the period name a delivery of their customer; then the partners' monthly
counts are counted from scratch. Purchases are read in id ranges and deliveries inserted with
Core in batches. ``flask --app wsgi seed large-deliveries`` adds them to an existing large
database."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import Purchase
from app.models.base import local_today
from app.models.logistics import Shipment
from app.security.tenancy import unscoped
from app.seed_logistics import install_partners, outcome
from app.services import logistics

SHARE = 0.2
DAYS = 365
READ = 50_000


def link_complaints() -> int:
    """Each logistics complaint with a customer names that customer's latest delivery that left
    before the complaint came in (one UPDATE); returns how many."""
    from sqlalchemy import update

    from app.models import Complaint, ComplaintCategory

    category = db.session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == "logistics"))
    if category is None:
        return 0
    before = (Shipment.customer_id == Complaint.customer_id, Shipment.dispatched_at <= Complaint.received_at)
    latest = (select(Shipment.id).where(*before).order_by(Shipment.dispatched_at.desc()).limit(1)
              .correlate(Complaint).scalar_subquery())
    return db.session.execute(update(Complaint).where(
        Complaint.category_id == category, Complaint.customer_id.is_not(None), Complaint.shipment_id.is_(None),
        select(Shipment.id).where(*before).correlate(Complaint).exists())
        .values(shipment_id=latest).execution_options(synchronize_session=False)).rowcount


def load(seed: int, progress, end_transaction, share: float = SHARE) -> int:
    """Deliveries unless loaded before; returns how many were made."""
    today = local_today()
    with unscoped():
        if db.session.scalar(select(func.count()).select_from(select(Shipment.id).limit(10_001).subquery())) > 10_000:
            return 0
        rng = random.Random(seed + 13)
        partners = [(p.id, p.code, p.active, habits) for p, habits in install_partners()]
        in_use = [p for p in partners if p[2]]
        shipped = set(db.session.scalars(select(Shipment.purchase_id)))
        since = today - timedelta(days=DAYS)
        last, made = 0, 0
        while True:
            rows = db.session.execute(
                select(Purchase.id, Purchase.store_id, Purchase.franchisee_id, Purchase.customer_id,
                       Purchase.purchased_on, Purchase.created_by_id)
                .where(Purchase.id > last, Purchase.purchased_on >= since).order_by(Purchase.id).limit(READ)).all()
            if not rows:
                break
            last = rows[-1].id
            batch = []
            for r in rows:
                if r.id in shipped or rng.random() > share:
                    continue
                pool = partners if r.purchased_on < today - timedelta(days=300) else in_use
                partner_id, code, _active, habits = rng.choice(pool)
                batch.append({"purchase_id": r.id, "customer_id": r.customer_id, "store_id": r.store_id,
                              "franchisee_id": r.franchisee_id, "partner_id": partner_id,
                              "tracking_no": f"{code}{r.id:010d}", "created_by_id": r.created_by_id, "version": 1,
                              **outcome(rng, r.purchased_on, today, habits)})
            if batch:
                db.session.execute(insert(Shipment), batch)
                made += len(batch)
            end_transaction()
            progress(f"deliveries: {made:,}")
        linked = link_complaints()
        end_transaction()
        progress(f"delivery complaints linked: {linked:,}")
        counted = logistics.rebuild()
        end_transaction()
        progress(f"delivery figures: {counted:,} partner/store/month rows")
        return made
