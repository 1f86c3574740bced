"""What training tells people: each store manager (and, for a store without one, the franchise
owner), once a week at most, of their store's overdue training and certificates expiring soon."""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import EmployeeCourse, Store, User
from app.models.base import local_today
from app.security.tenancy import unscoped
from app.services import notifications
from app.services.training.records import EXPIRING_DAYS

REMIND_EVERY_DAYS = 7


@notifications.message("training_gaps")
def _gaps_text(d):
    return (_l("Training to arrange at %(store)s", store=d["store"]),
            _l("Overdue: %(overdue)d. Certificates expiring within %(days)d days: %(expiring)d.",
               overdue=d["overdue"], expiring=d["expiring"], days=d["days"]))


def tick(today: date | None = None) -> int:
    """Tell the stores with overdue or expiring training not told in the last week. Returns the
    number of stores told."""
    today = today or local_today()
    soon = today + timedelta(days=EXPIRING_DAYS)
    ec = EmployeeCourse
    quiet = or_(ec.notified_on.is_(None), ec.notified_on <= today - timedelta(days=REMIND_EVERY_DAYS))
    told = 0
    with unscoped():
        rows = db.session.execute(select(ec.id, ec.store_id, ec.done_on, ec.needed_by).where(
            ec.needed_by.is_not(None), ec.needed_by <= soon, quiet)).all()
        by_store: dict[int, dict] = {}
        for row in rows:
            figures = by_store.setdefault(row.store_id, {"overdue": 0, "expiring": 0, "ids": []})
            if row.needed_by < today:
                figures["overdue"] += 1
            elif row.done_on is not None:
                figures["expiring"] += 1
            else:
                continue  # still within its deadline: listed, not chased
            figures["ids"].append(row.id)
        for store_id, figures in by_store.items():
            if not figures["ids"]:
                continue
            store = db.session.get(Store, store_id)
            people = [u for u in db.session.scalars(select(User).where(
                User.active.is_(True), User.franchisee_id == store.franchisee_id, User.role == "store_manager"))
                if store in u.stores]
            if not people:
                people = db.session.scalars(select(User).where(
                    User.active.is_(True), User.franchisee_id == store.franchisee_id,
                    User.role == "franchise_owner")).all()
            notifications.notify(people, "training_gaps", {
                "store": store.name, "overdue": figures["overdue"], "expiring": figures["expiring"],
                "days": EXPIRING_DAYS}, url=f"/training/gaps?store={store_id}")
            db.session.execute(update(ec).where(ec.id.in_(figures["ids"])).values(notified_on=today)
                               .execution_options(synchronize_session=False))
            told += 1
        db.session.flush()
    return told
