from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import create_once, commit_or_explain, page_of, save_versioned
from app.blueprints.org import bp
from app.blueprints.org.forms import CloseStoreForm, NewStoreForm, StoreForm, TransferStoreForm
from app.extensions import db
from app.models.training import STORE_SIZES
from app.forms import EmptyForm
from app.models import Franchisee, Region, Store, StoreOwnership
from app.models.org import STORE_STATUSES
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import org


@bp.route("/stores")
@access("org.view")
def stores():
    """Stores in the user's scope with search and filters."""
    q = request.args.get("q", "").strip()[:100]
    region_id = request.args.get("region", type=int)
    franchisee_id = request.args.get("franchisee", type=int)
    status = request.args.get("status", "")
    stmt = (
        select(Store)
        .options(selectinload(Store.region), selectinload(Store.franchisee))
        .order_by(Store.code)
    )
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Store.code.ilike(like), Store.name.ilike(like), Store.city.ilike(like), Store.address.ilike(like)))
    if region_id:
        stmt = stmt.where(Store.region_id == region_id)
    if franchisee_id:
        stmt = stmt.where(Store.franchisee_id == franchisee_id)
    if status in STORE_STATUSES:
        stmt = stmt.where(Store.status == status)
    page = page_of(stmt)
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    franchisees = db.session.scalars(select(Franchisee).order_by(Franchisee.name)).all()
    return render_template(
        "org/stores.html",
        page=page,
        q=q,
        region_id=region_id,
        franchisee_id=franchisee_id,
        status=status,
        statuses=STORE_STATUSES,
        regions=regions,
        franchisees=franchisees,
    )


@bp.route("/stores/new", methods=["GET", "POST"])
@access("org.manage")
def new_store():
    """Open a store for a franchisee."""
    form = NewStoreForm(version=1)
    if form.validate_on_submit():
        if done := create_once(form, lambda: org.create_store(form.data_for_model(), current_user),
                               lambda store: url_for("org.store", store_id=store.id),
                               lambda store: _("Store %(name)s created.", name=store.name)):
            return done
    return render_template("org/store_form.html", form=form, store=None)


@bp.route("/stores/<int:store_id>")
@access("org.view")
def store(store_id: int):
    """A store with its ownership history."""
    store = get_scoped_or_404(Store, store_id)
    ownerships = db.session.scalars(
        select(StoreOwnership)
        .where(StoreOwnership.store_id == store.id)
        .options(selectinload(StoreOwnership.franchisee))
        .order_by(StoreOwnership.start_on.desc())
    ).all()
    return render_template(
        "org/store.html",
        store=store,
        ownerships=ownerships,
        close_form=CloseStoreForm(),
        reopen_form=EmptyForm(),
        store_sizes=STORE_SIZES,
    )


@bp.route("/stores/<int:store_id>/edit", methods=["GET", "POST"])
@access("org.manage")
def edit_store(store_id: int):
    """Edit a store's descriptive details."""
    store = get_scoped_or_404(Store, store_id)
    form = StoreForm(obj=store)
    if form.validate_on_submit() and save_versioned(
        form, store, lambda: org.update_store(store, form.data_for_model(), current_user)
    ):
        flash(_("Changes saved."), "success")
        return redirect(url_for("org.store", store_id=store.id))
    return render_template("org/store_form.html", form=form, store=store)


@bp.route("/stores/<int:store_id>/transfer", methods=["GET", "POST"])
@access("org.manage")
def transfer_store(store_id: int):
    """Transfer a store to another franchisee from a given date."""
    store = get_scoped_or_404(Store, store_id)
    form = TransferStoreForm(store=store)
    if form.validate_on_submit():
        target = get_scoped_or_404(Franchisee, form.franchisee_id.data)
        if commit_or_explain(
            lambda: org.transfer_store(store, target, form.effective_on.data, form.note.data or None, current_user),
            _("Store transferred to %(name)s.", name=target.name),
        ):
            return redirect(url_for("org.store", store_id=store.id))
    return render_template("org/store_transfer.html", form=form, store=store)


@bp.route("/stores/<int:store_id>/close", methods=["POST"])
@access("org.manage")
def close_store(store_id: int):
    """Close a store; it and its history stay in the portal."""
    store = get_scoped_or_404(Store, store_id)
    form = CloseStoreForm()
    if not form.validate_on_submit():
        flash(_("Enter a valid closing date."), "danger")
    else:
        commit_or_explain(lambda: org.close_store(store, form.closed_on.data, current_user), _("Store closed."))
    return redirect(url_for("org.store", store_id=store.id))


@bp.route("/stores/<int:store_id>/reopen", methods=["POST"])
@access("org.manage")
def reopen_store(store_id: int):
    """Reopen a closed store."""
    store = get_scoped_or_404(Store, store_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: org.reopen_store(store, current_user), _("Store reopened."))
    return redirect(url_for("org.store", store_id=store.id))
