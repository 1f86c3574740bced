from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.dashboard import bp
from app.extensions import db
from app.models import Franchisee, Store
from app.security.access import access
from app.security.scope import current_scope


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
    return render_template(
        "dashboard/index.html",
        user=current_user,
        scope=current_scope._get_current_object(),
        stores=stores,
        store_total=store_total,
        open_total=open_total,
        franchisees=franchisees,
        franchisee_total=franchisee_total,
    )
