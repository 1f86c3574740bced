from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import count_of
from app.blueprints.dashboard import bp
from app.extensions import db
from app.models import Franchisee, Store
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope


def _customer_figures() -> dict:
    """Counts for the customer cards, all within the user's scope."""
    from app.models import Customer
    from app.models.base import utcnow
    from app.services import customer_analytics as analytics
    from app.services import customer_care as care

    today = utcnow().date()
    rules = analytics.get_rules()
    active = (Customer.anonymised_at.is_(None)) & (Customer.merged_into_id.is_(None))
    return {
        "total": db.session.scalar(select(func.count(Customer.id)).where(active)),
        "vip": db.session.scalar(select(func.count(Customer.id)).where(active, Customer.category == "vip")),
        "churn": db.session.scalar(select(func.count(Customer.id)).where(analytics.churn_filter(rules, today))),
        "care": count_of(care.return_visits(rules, today)) + count_of(care.birthdays(rules, today)),
    }


@bp.route("/")
@access("dashboard.view")
def index():
    """Landing page: what the signed-in user can see."""
    stores = db.session.scalars(
        select(Store).options(selectinload(Store.region), selectinload(Store.franchisee)).order_by(Store.code).limit(50)
    ).all()
    store_total = db.session.scalar(select(func.count(Store.id)))
    open_total = db.session.scalar(select(func.count(Store.id)).where(Store.status == "open"))
    franchisees = db.session.scalars(select(Franchisee).order_by(Franchisee.name).limit(50)).all()
    franchisee_total = db.session.scalar(select(func.count(Franchisee.id)))
    customers = _customer_figures() if can(current_user, "customers.view") else None
    return render_template(
        "dashboard/index.html",
        customers=customers,
        user=current_user,
        scope=current_scope._get_current_object(),
        stores=stores,
        store_total=store_total,
        open_total=open_total,
        franchisees=franchisees,
        franchisee_total=franchisee_total,
    )
