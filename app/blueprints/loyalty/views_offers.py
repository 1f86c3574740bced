"""Coupons and time-limited offers: headquarters' and each franchisee's, issued from the customer
list's filters, used with purchases, and their results."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of, save_versioned
from app.blueprints.customers.listing import Filters, customer_query
from app.blueprints.loyalty import bp
from app.blueprints.loyalty.forms_offers import IssueForm, NewOfferForm, OfferForm
from app.extensions import db
from app.models import Store
from app.models.base import local_today
from app.models.offer import Offer
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404
from app.services import customer_analytics as analytics
from app.services.loyalty import offers

NEWEST = Ordering((Offer.id,), descending=True)
# The customer list's filters an issue carries over (the list's own names).
FILTER_ARGS = ("q", "store", "store_code", "franchisee", "category", "grade", "tier", "churn", "consent", "gained",
               "lost", "repeat", "retained", "assessed")


def _locale() -> str:
    return str(get_locale())


def _mine(offer: Offer) -> bool:
    """Whether the user may change this offer: headquarters its own, an owner its franchisee's."""
    if current_user.franchisee_id:
        return offer.franchisee_id == current_user.franchisee_id
    return offer.franchisee_id is None


@bp.route("/offers")
@access("loyalty.view")
def offers_index():
    """Offers in force and past: headquarters' and the user's franchisee's, with their results."""
    page = keyset_of(select(Offer).options(selectinload(Offer.stores)), NEWEST)
    return render_template("loyalty/offers.html", page=page, results=offers.results([o.id for o in page.items]),
                           today=local_today(), locale=_locale())


def _stores_of(form) -> list[Store] | None:
    """The stores the form names, in the user's scope; None (with the field's error) if one is not."""
    codes = form.codes
    if not codes:
        return []
    found = db.session.scalars(select(Store).where(Store.code.in_(codes))).all()
    missing = sorted(set(codes) - {s.code for s in found})
    if missing:
        form.store_codes.errors.append(_("Not one of your stores: %(codes)s", codes=", ".join(missing[:10])))
        return None
    return list(found)


def _form_page(form, offer, status):
    return render_template("loyalty/offer_form.html", form=form, offer=offer), status


@bp.route("/offers/new", methods=["GET", "POST"])
@access("loyalty.offers")
def new_offer():
    """Make an offer: headquarters' for the network, an owner's for their stores."""
    form = NewOfferForm(version=1, tiers=analytics.tiers(), locale=_locale())
    if not form.is_submitted():
        form.starts_on.data = local_today()
    if form.validate_on_submit() and (stores := _stores_of(form)) is not None and (done := create_once(
            form, lambda: offers.save_offer(None, form.data, stores, current_user.franchisee_id, current_user),
            lambda o: url_for("loyalty.offer", offer_id=o.id), _("Offer created. Issue it from the customer list."))):
        return done
    return _form_page(form, None, 422 if form.is_submitted() else 200)


@bp.route("/offers/<int:offer_id>")
@access("loyalty.view")
def offer(offer_id: int):
    """An offer: what it gives, where and when, and how many coupons were issued and used."""
    found = get_scoped_or_404(Offer, offer_id, selectinload(Offer.stores))
    return render_template("loyalty/offer.html", offer=found, result=offers.results([found.id])[found.id],
                           mine=_mine(found), today=local_today(), locale=_locale(),
                           tier=next((t for t in analytics.tiers() if t.rank == found.min_tier_rank), None))


@bp.route("/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@access("loyalty.offers")
def edit_offer(offer_id: int):
    """Change an offer's terms or withdraw it (coupons already issued keep its new terms)."""
    found = get_scoped_or_404(Offer, offer_id, selectinload(Offer.stores))
    if not _mine(found):
        abort(403)
    form = OfferForm(obj=found, tiers=analytics.tiers(), locale=_locale())
    if form.validate_on_submit() and (stores := _stores_of(form)) is not None and save_versioned(
            form, found, lambda: offers.save_offer(found, form.data, stores, found.franchisee_id, current_user)):
        flash(_("Changes saved."), "success")
        return redirect(url_for("loyalty.offer", offer_id=found.id))
    return _form_page(form, found, 422 if form.is_submitted() else 200)


@bp.route("/offers/<int:offer_id>/issue", methods=["GET", "POST"])
@access("loyalty.issue")
def issue(offer_id: int):
    """Issue an offer to the customers the list's filters chose: those who agreed to be contacted."""
    found = get_scoped_or_404(Offer, offer_id, selectinload(Offer.stores))
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    f = Filters.from_args(request.args)
    chosen = customer_query(f, local_today(), search_phone=can(current_user, "customers.contact_details"))
    form = IssueForm()
    if form.validate_on_submit() and commit_or_explain(
            lambda: offers.issue(found, chosen, current_user),
            lambda made: _("%(n)s customers received the coupon.", n=f"{made:,}")):
        return redirect(url_for("loyalty.offer", offer_id=found.id))
    eligible, silent = offers.preview(found, chosen)
    # An offer over or withdrawn says so before anything is chosen (trial 22: the page offered to issue it).
    ended = not found.active or found.ends_on < local_today()
    return render_template("loyalty/issue.html", offer=found, form=form, args=args, eligible=eligible, silent=silent,
                           cap=offers.ISSUE_CAP, locale=_locale(), ended=ended), 422 if form.is_submitted() else 200
