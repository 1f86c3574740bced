from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from app.blueprints.common import create_once, page_of, save_versioned
from app.blueprints.org import bp
from app.blueprints.org.forms import FranchiseeForm, NewFranchiseeForm
from app.extensions import db
from app.models import Franchisee, Store
from app.models.org import FRANCHISEE_STATUSES
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import org


@bp.route("/franchisees")
@access("org.view")
def franchisees():
    """Franchisees in the user's scope, searchable by name, entity or contract."""
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "")
    stmt = select(Franchisee).order_by(Franchisee.name)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Franchisee.name.ilike(like), Franchisee.legal_entity.ilike(like), Franchisee.contract_no.ilike(like)))
    if status in FRANCHISEE_STATUSES:
        stmt = stmt.where(Franchisee.status == status)
    page = page_of(stmt)
    # Stores the user can see, per franchisee on this page: one grouped query.
    store_counts = dict(
        db.session.execute(
            select(Store.franchisee_id, func.count(Store.id))
            .where(Store.franchisee_id.in_([f.id for f in page.items]))
            .group_by(Store.franchisee_id)
        ).all()
    )
    return render_template("org/franchisees.html", page=page, store_counts=store_counts, q=q, status=status, statuses=FRANCHISEE_STATUSES)


@bp.route("/franchisees/new", methods=["GET", "POST"])
@access("org.manage")
def new_franchisee():
    """Register a franchisee."""
    form = NewFranchiseeForm(version=1)
    if form.validate_on_submit():
        if done := create_once(form, lambda: org.create_franchisee(form.data_for_model(), current_user),
                               lambda franchisee: url_for("org.franchisee", franchisee_id=franchisee.id),
                               lambda franchisee: _("Franchisee %(name)s created.", name=franchisee.name)):
            return done
    return render_template("org/franchisee_form.html", form=form, franchisee=None)


@bp.route("/franchisees/<int:franchisee_id>")
@access("org.view")
def franchisee(franchisee_id: int):
    """A franchisee, its contract and its stores."""
    franchisee = get_scoped_or_404(Franchisee, franchisee_id)
    stores = db.session.scalars(
        select(Store).where(Store.franchisee_id == franchisee.id).order_by(Store.code)
    ).all()
    return render_template("org/franchisee.html", franchisee=franchisee, stores=stores)


@bp.route("/franchisees/<int:franchisee_id>/edit", methods=["GET", "POST"])
@access("org.manage")
def edit_franchisee(franchisee_id: int):
    """Edit a franchisee's details or status (suspend, terminate, reactivate)."""
    franchisee = get_scoped_or_404(Franchisee, franchisee_id)
    form = FranchiseeForm(obj=franchisee)
    if form.validate_on_submit() and save_versioned(
        form, franchisee, lambda: org.update_franchisee(franchisee, form.data_for_model(), current_user)
    ):
        flash(_("Changes saved."), "success")
        return redirect(url_for("org.franchisee", franchisee_id=franchisee.id))
    return render_template("org/franchisee_form.html", form=form, franchisee=franchisee)
