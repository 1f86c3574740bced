"""A customer's points at the counter: the ledger, redeeming, correcting, returns; redemptions."""
from datetime import date, datetime, time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, to_utc
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of
from app.blueprints.customers.views_customers import store_choices
from app.blueprints.loyalty import bp
from app.blueprints.loyalty import forms
from app.extensions import db
from app.models import Customer, PointsEntry, Purchase, PurchaseReturn, Redemption, Reward
from app.models.base import local_today
from app.models.loyalty import REDEMPTION_STATES
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services.loyalty import catalogue, ledger, offers, redemption, returns
from app.services import customer_fields as fields

NEWEST = Ordering((PointsEntry.id,), descending=True)
LATEST_REDEMPTIONS = Ordering((Redemption.id,), descending=True)


def _locale() -> str:
    return str(get_locale())


def _live_customer(customer_id: int) -> Customer:
    customer = get_scoped_or_404(Customer, customer_id, joinedload(Customer.tier), joinedload(Customer.store))
    if customer.merged_into_id:
        abort(404)
    return customer


@bp.route("/customers/<int:customer_id>")
@access("loyalty.view")
def points(customer_id: int):
    """A customer's points: the balance, what lapses soon, and every entry of the ledger."""
    customer = _live_customer(customer_id)
    page = keyset_of(ledger.entries_page_query(customer.id).options(selectinload(PointsEntry.created_by)), NEWEST)
    # The reward of each redemption entry, for its name (one statement for the page).
    redemption_ids = [e.redemption_id for e in page.items if e.redemption_id]
    rewards = {r.id: r for r in db.session.execute(
        select(Redemption.id, Reward.code, Reward.name_zh, Reward.name_en, Redemption.quantity, Redemption.state)
        .join(Reward, Reward.id == Redemption.reward_id).where(Redemption.id.in_(redemption_ids)))} \
        if redemption_ids else {}
    return render_template("loyalty/points.html", customer=customer, page=page, rewards=rewards,
                           expiring=ledger.expiring(customer.id), locale=_locale(), coupons=offers.held(customer.id),
                           today=local_today(),
                           privileges=catalogue.privileges_of(customer.tier, _locale()))


@bp.route("/customers/<int:customer_id>/redeem", methods=["GET", "POST"])
@access("loyalty.redeem")
def redeem(customer_id: int):
    """Exchange points for a gift, coupon or service from the catalogue, at the counter."""
    customer = _live_customer(customer_id)
    rewards = redemption.catalogue()
    rank = redemption.tier_rank(customer) or 0
    form = forms.RedeemForm(rewards=rewards, locale=_locale())
    if customer.is_anonymised:
        flash(_("Points cannot be used or changed for an anonymised or merged customer."), "warning")
        return redirect(url_for("loyalty.points", customer_id=customer.id))
    if form.validate_on_submit():
        reward = next((r for r in rewards if r.id == form.reward_id.data), None)
        if reward is None and form.receipt is None:
            form.reward_id.errors.append(_("Choose the reward."))
        elif done := create_once(
                form, lambda: redemption.redeem(customer, reward, form.quantity.data,
                                                (form.note.data or "").strip() or None, current_user),
                lambda r: url_for("loyalty.points", customer_id=customer.id),
                lambda r: _("Redeemed %(n)s × %(reward)s for %(points)s points.", n=r.quantity,
                            reward=r.reward.label(_locale()), points=f"{r.points:,}")):
            return done
        db.session.refresh(customer)
    status = 422 if form.is_submitted() else 200
    return render_template("loyalty/redeem.html", customer=customer, form=form, rewards=rewards, rank=rank,
                           locale=_locale()), status


@bp.route("/customers/<int:customer_id>/adjust", methods=["GET", "POST"])
@access("loyalty.adjust")
def adjust(customer_id: int):
    """Correct a customer's points by hand, with the reason on the ledger."""
    customer = _live_customer(customer_id)
    form = forms.AdjustForm()
    if form.validate_on_submit() and (done := create_once(
            form, lambda: redemption.adjust(customer, form.points.data, form.reason.data, current_user),
            lambda _r: url_for("loyalty.points", customer_id=customer.id), _("Points adjusted."))):
        return done
    status = 422 if form.is_submitted() else 200
    return render_template("loyalty/adjust.html", customer=customer, form=form), status


@bp.route("/purchases/<int:purchase_id>/return", methods=["GET", "POST"])
@access("loyalty.returns")
def new_return(purchase_id: int):
    """Record goods of a purchase brought back: the spend and the points it earned are reversed."""
    purchase = get_scoped_or_404(Purchase, purchase_id, joinedload(Purchase.customer))
    earlier = db.session.scalars(select(PurchaseReturn).where(PurchaseReturn.purchase_id == purchase.id)
                                 .order_by(PurchaseReturn.id)).all()
    form = forms.ReturnForm()
    if not form.is_submitted():
        form.returned_on.data = local_today()
        form.amount.data = returns.returnable(purchase)
    if form.validate_on_submit() and (done := create_once(
            form, lambda: returns.record_return(purchase, form.amount.data, form.reason.data,
                                                (form.note.data or "").strip() or None, form.returned_on.data,
                                                current_user),
            lambda r: url_for("customers.show", customer_id=purchase.customer_id),
            lambda r: _("Return recorded: ¥%(amount)s refunded, %(points)s points taken back.",
                        amount=f"{r.amount:,.2f}", points=f"{r.points_reversed:,}"))):
        return done
    status = 422 if form.is_submitted() else 200
    return render_template("loyalty/return_form.html", purchase=purchase, customer=purchase.customer, form=form,
                           earlier=earlier, left=returns.returnable(purchase)), status


@bp.route("/")
@access("loyalty.view")
def index():
    """Redemptions in the user's stores: by store, reward, state and date; the newest first."""
    stmt = select(Redemption).options(selectinload(Redemption.reward), selectinload(Redemption.customer),
                                      selectinload(Redemption.created_by))
    store_id = request.args.get("store", type=int)
    if store_id:
        stmt = stmt.where(Redemption.store_id == store_id)
    reward_id = request.args.get("reward", type=int)
    if reward_id:
        stmt = stmt.where(Redemption.reward_id == reward_id)
    state = request.args.get("state", "")
    if state in REDEMPTION_STATES:
        stmt = stmt.where(Redemption.state == state)
    else:
        state = ""
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    if first:
        stmt = stmt.where(Redemption.created_at >= _utc_start(first))
    if last:
        stmt = stmt.where(Redemption.created_at < _utc_start(last + timedelta(days=1)))
    page = keyset_of(stmt, LATEST_REDEMPTIONS)
    return render_template("loyalty/index.html", page=page, stores=store_choices(), store_id=store_id,
                           rewards=redemption.catalogue(include_inactive=True), reward_id=reward_id, state=state,
                           states=REDEMPTION_STATES, first=first, last=last, locale=_locale())


def _utc_start(day: date) -> datetime:
    """The stored (naive UTC) moment a day begins where the stores are."""
    return to_utc(datetime.combine(day, time())).replace(tzinfo=None)


def _day(value) -> date | None:
    try:
        return fields.parse_date(value) if value else None
    except fields.FieldError:
        return None


@bp.route("/redemptions/<int:redemption_id>")
@access("loyalty.view")
def show_redemption(redemption_id: int):
    """One redemption, with what was given, by whom, and whether it was cancelled."""
    found = get_scoped_or_404(Redemption, redemption_id, joinedload(Redemption.reward), joinedload(Redemption.customer))
    return render_template("loyalty/redemption.html", r=found, form=forms.CancelRedemptionForm(), locale=_locale())


@bp.route("/redemptions/<int:redemption_id>/cancel", methods=["POST"])
@access("loyalty.adjust")
def cancel_redemption(redemption_id: int):
    """Cancel a redemption (the gift came back or was never handed over): points and stock return."""
    found = get_scoped_or_404(Redemption, redemption_id, joinedload(Redemption.reward), joinedload(Redemption.customer))
    form = forms.CancelRedemptionForm()
    if form.validate_on_submit() and commit_or_explain(
            lambda: redemption.cancel(found, form.reason.data.strip(), current_user),
            _("Redemption cancelled: %(points)s points and the stock returned.", points=f"{found.points:,}")):
        return redirect(url_for("loyalty.show_redemption", redemption_id=found.id))
    db.session.rollback()
    return render_template("loyalty/redemption.html", r=found, form=form, locale=_locale()), 422
