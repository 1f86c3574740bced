"""Lost customers and lost orders with their analysis (R69), relationship reviews with owners at
several levels (R70), and the value-segment matrix per store (seed 003)."""
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import create_once, keyset_of, save_versioned
from app.blueprints.customers.views_customers import scoped_stores, store_choices
from app.blueprints.loyalty import bp
from app.blueprints.loyalty.forms_relations import LostOrderForm, MarkLostForm, OwnersForm, ReasonForm, ReviewForm
from app.extensions import db
from app.forms import EmptyForm
from app.models import Customer, Store, User
from app.models.base import local_today
from app.models.relationship import CustomerLoss, CustomerRelationship, LostOrder, LostReason, RelationshipReview
from app.models.training import Employee
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import kpis
from app.services.loyalty import relations, segments

LATEST_LOSSES = Ordering((CustomerLoss.lost_on, CustomerLoss.id), descending=True)
LATEST_ORDERS = Ordering((LostOrder.lost_on, LostOrder.id), descending=True)
REVIEWS_DUE = Ordering((CustomerRelationship.next_review_on, CustomerRelationship.id))


def _locale() -> str:
    return str(get_locale())


def _period() -> int:
    """The half-year asked for (20261), or the current one."""
    period = request.args.get("period", type=int)
    ok = period and 2000 <= period // 10 <= 2100 and period % 10 in (1, 2)
    return period if ok else kpis.period_of(local_today())


def _recent_periods(n: int = 6) -> list[int]:
    periods = [kpis.period_of(local_today())]
    while len(periods) < n:
        periods.append(kpis.previous(periods[-1]))
    return periods


@bp.route("/lost")
@access("loyalty.view")
def lost():
    """Customers lost, won back and orders lost in a half-year, by store or by reason (R69)."""
    period = _period()
    first, last = kpis.bounds(period)
    by = "reason" if request.args.get("by") == "reason" else "store"
    rows = relations.analysis(first, last, by)
    if by == "store":
        names = {s.id: s for s in db.session.scalars(select(Store).where(Store.id.in_(list(rows))))} if rows else {}
    else:
        names = {r.id: r for r in relations.all_reasons()}
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1]["lost"], -kv[1]["orders"], kv[0]))
    losses = keyset_of(select(CustomerLoss).where(CustomerLoss.lost_on >= first, CustomerLoss.lost_on <= last)
                       .options(joinedload(CustomerLoss.customer), joinedload(CustomerLoss.reason)), LATEST_LOSSES)
    return render_template("loyalty/lost.html", period=period, periods=_recent_periods(), by=by,
                           rows=ordered, names=names, losses=losses, label=kpis.label, locale=_locale())


@bp.route("/lost/orders")
@access("loyalty.view")
def lost_orders():
    """Quotes and orders that did not close (损失的订单), newest first."""
    period = _period()
    first, last = kpis.bounds(period)
    page = keyset_of(select(LostOrder).where(LostOrder.lost_on >= first, LostOrder.lost_on <= last)
                     .options(selectinload(LostOrder.reason), selectinload(LostOrder.customer)), LATEST_ORDERS)
    stores = {s.id: s for s in db.session.scalars(select(Store).where(Store.id.in_({o.store_id for o in page.items})))}
    return render_template("loyalty/lost_orders.html", page=page, period=period, stores=stores,
                           periods=_recent_periods(), label=kpis.label, locale=_locale())


@bp.route("/lost/orders/new", methods=["GET", "POST"])
@access("loyalty.lost")
def new_lost_order():
    """Record a quote or order that did not close, and why."""
    stores = scoped_stores()
    form = LostOrderForm(stores=stores, reasons=relations.reasons("order"), locale=_locale())
    if not form.is_submitted():
        form.lost_on.data = local_today()
    if form.validate_on_submit():
        store = next((s for s in stores if s.id == form.store_id.data), None)
        customer = None
        if form.customer_code.data and form.customer_code.data.strip():
            customer = db.session.scalar(select(Customer).where(Customer.code == form.customer_code.data.strip().upper(),
                                                                Customer.store_id == form.store_id.data))
            if customer is None:
                form.customer_code.errors.append(_("No customer of this store has this code."))
        if store is None and form.receipt is None:
            form.store_id.errors.append(_("Choose one of your stores."))
        elif not form.customer_code.errors:
            data = {"lost_on": form.lost_on.data, "amount": form.amount.data, "items": form.items.data.strip(),
                    "reason_id": form.reason_id.data, "competitor": (form.competitor.data or "").strip() or None,
                    "customer_id": customer.id if customer else None, "note": (form.note.data or "").strip() or None}
            if done := create_once(form, lambda: relations.record_lost_order(store, data, current_user),
                                   lambda o: url_for("loyalty.lost_orders"), _("Lost order recorded.")):
                return done
    return render_template("loyalty/lost_order_form.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/customers/<int:customer_id>/lost", methods=["GET", "POST"])
@access("loyalty.lost")
def mark_lost(customer_id: int):
    """Mark a churned customer lost, with the reason from headquarters' list."""
    customer = get_scoped_or_404(Customer, customer_id)
    reasons = relations.reasons("customer")
    form = MarkLostForm(reasons=reasons, locale=_locale())
    if not form.is_submitted():
        form.lost_on.data = local_today()
    if form.validate_on_submit():
        reason = next((r for r in reasons if r.id == form.reason_id.data), None)
        if done := create_once(form, lambda: relations.mark_lost(customer, reason, form.lost_on.data,
                                                                 (form.note.data or "").strip() or None, current_user),
                               lambda loss: url_for("customers.show", customer_id=customer.id),
                               _("Marked lost. A purchase will mark the customer won back.")):
            return done
    return render_template("loyalty/mark_lost.html", form=form, customer=customer,
                           loss=relations.open_loss(customer.id)), 422 if form.is_submitted() else 200


@bp.route("/lost/reasons")
@access("loyalty.view")
def lost_reasons():
    """Headquarters' list of reasons for lost customers and lost orders."""
    return _reasons_page(ReasonForm(formdata=None))


@bp.route("/lost/reasons", methods=["POST"])
@access("loyalty.catalogue")
def add_reason():
    """Add a reason to headquarters' list."""
    form = ReasonForm()
    if form.validate_on_submit():
        def create():
            reason = LostReason(code=form.code.data.strip().upper(), name_zh=form.name_zh.data.strip(),
                                name_en=form.name_en.data.strip(), kind=form.kind.data, rank=100)
            db.session.add(reason)
            db.session.flush()
            return reason

        if done := create_once(form, create, lambda r: url_for("loyalty.lost_reasons"), _("Reason added.")):
            return done
    return _reasons_page(form, 422)


def _reasons_page(form, status=200):
    return render_template("loyalty/lost_reasons.html", form=form, toggle=EmptyForm(),
                           reasons=relations.all_reasons(),
                           locale=_locale()), status


@bp.route("/lost/reasons/<int:lost_reason_id>/toggle", methods=["POST"])
@access("loyalty.catalogue")
def toggle_reason(lost_reason_id: int):
    """Take a reason out of use (what was recorded with it keeps it), or back into use."""
    reason = get_scoped_or_404(LostReason, lost_reason_id)
    if EmptyForm().validate_on_submit():
        reason.active = not reason.active
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("loyalty.lost_reasons"))


# --- relationship reviews ----------------------------------------------------------------------

@bp.route("/reviews")
@access("loyalty.view")
def reviews():
    """Relationships with VIP and business customers due for review (overdue first)."""
    today = local_today()
    stmt = relations.due_reviews(today).options(
        joinedload(CustomerRelationship.customer), joinedload(CustomerRelationship.sales),
        joinedload(CustomerRelationship.manager))
    store_id = request.args.get("store", type=int)
    if store_id:
        stmt = stmt.where(CustomerRelationship.store_id == store_id)
    page = keyset_of(stmt, REVIEWS_DUE)
    return render_template("loyalty/reviews.html", page=page, today=today, stores=store_choices(), store_id=store_id,
                           lookahead=relations.REVIEW_LOOKAHEAD_DAYS)


def _owner_choices(customer: Customer):
    employees = db.session.scalars(select(Employee).where(Employee.store_id == customer.store_id,
                                                         Employee.status != "left").order_by(Employee.name)).all()
    with unscoped():
        managers = db.session.scalars(select(User).where(
            User.franchisee_id == customer.franchisee_id, User.active.is_(True),
            User.role.in_(("store_manager", "franchise_owner"))).order_by(User.display_name)).all()
        hq = db.session.scalars(select(User).where(
            User.franchisee_id.is_(None), User.active.is_(True),
            User.role.in_(("hq_admin", "hq_auditor", "hq_supervisor"))).order_by(User.display_name)).all()
    return {"employees": employees, "managers": managers, "hq": hq}


@bp.route("/customers/<int:customer_id>/relationship")
@access("loyalty.view")
def relationship(customer_id: int):
    """One customer's relationship: its owners at each level, the reviews so far and the next one."""
    customer = get_scoped_or_404(Customer, customer_id)
    relation = relations.relationship_of(customer)
    owners = OwnersForm(obj=relation, formdata=None, version=relation.version if relation else 1,
                        **_owner_choices(customer))
    if relation is not None:
        for key in ("sales_id", "technician_id", "manager_id", "hq_manager_id"):
            getattr(owners, key).data = getattr(relation, key) or 0
    review = ReviewForm(formdata=None)
    review.reviewed_on.data = local_today()
    review.next_review_on.data = local_today() + timedelta(days=relation.review_every_days if relation else 180)
    return _relationship_page(customer, relation, owners, review)


def _relationship_page(customer, relation, owners, review, status=200):
    history = db.session.scalars(select(RelationshipReview).where(RelationshipReview.customer_id == customer.id)
                                 .options(joinedload(RelationshipReview.reviewer))
                                 .order_by(RelationshipReview.reviewed_on.desc(), RelationshipReview.id.desc())
                                 .limit(50)).all()
    return render_template("loyalty/relationship.html", customer=customer, relation=relation, owners=owners,
                           review=review, history=history, segment=segments.of_customer(customer),
                           segments=segments.SEGMENTS, locale=_locale()), status


@bp.route("/customers/<int:customer_id>/relationship/owners", methods=["POST"])
@access("loyalty.reviews")
def relationship_owners(customer_id: int):
    """Name the relationship's owners and how often it is reviewed."""
    customer = get_scoped_or_404(Customer, customer_id)
    relation = relations.relationship_of(customer, create=True)
    owners = OwnersForm(**_owner_choices(customer))
    if owners.validate_on_submit() and save_versioned(owners, relation, lambda: relations.save_owners(
            relation, owners.data, current_user)):
        flash(_("Owners saved."), "success")
        return redirect(url_for("loyalty.relationship", customer_id=customer.id))
    return _relationship_page(customer, relation, owners, ReviewForm(formdata=None), 422)


@bp.route("/customers/<int:customer_id>/relationship/review", methods=["POST"])
@access("loyalty.reviews")
def relationship_review(customer_id: int):
    """Record a review of the relationship: status, quality, findings, actions, the next date."""
    customer = get_scoped_or_404(Customer, customer_id)
    review = ReviewForm()
    if review.validate_on_submit():
        data = {k: getattr(review, k).data for k in ("reviewed_on", "status", "quality", "next_review_on")}
        data["findings"] = review.findings.data.strip()
        data["actions"] = (review.actions.data or "").strip() or None
        if done := create_once(review, lambda: relations.record_review(customer, data, current_user),
                               lambda r: url_for("loyalty.relationship", customer_id=customer.id),
                               _("Relationship review recorded.")):
            return done
    relation = relations.relationship_of(customer)
    owners = OwnersForm(obj=relation, formdata=None, version=relation.version if relation else 1,
                        **_owner_choices(customer))
    return _relationship_page(customer, relation, owners, review, 422)


# --- value segments -----------------------------------------------------------------------------

@bp.route("/segments")
@access("loyalty.view")
def segment_matrix():
    """A store's customers by lifetime value, loyalty and satisfaction, with each segment's strategy."""
    stores = store_choices()
    store_id = request.args.get("store", type=int)
    code = request.args.get("store_code", "").strip().upper()[:20]
    if store_id is None and not code and stores:
        store_id = stores[0].id
    # Looked up in the user's scope: another franchisee's store is no store.
    store = db.session.scalar(select(Store).where(Store.id == store_id) if store_id else
                              select(Store).where(Store.code == code)) if (store_id or code) else None
    cells = segments.matrix(store.id) if store else {}
    return render_template("loyalty/segments.html", stores=stores, store=store, cells=cells, store_code=code,
                           totals=segments.totals(cells), segments=segments.SEGMENTS,
                           loyalty_bands=segments.LOYALTY_BANDS, satisfaction_bands=segments.SATISFACTION_BANDS)
