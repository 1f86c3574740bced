"""Delivery partners and their KPIs (seed 004, the Amazon case; R77), and the stores' deliveries.

Partner figures are sums of the stored monthly counts (``DeliveryMonthStats``), scoped as usual:
headquarters sees the network's, a franchise owner those of their own stores' deliveries. Every
figure links to the deliveries it counts."""
from datetime import timedelta
from types import SimpleNamespace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.common import create_once, keyset_of, save_versioned, summed_for_scope
from app.blueprints.kpis.views import _period_arg
from app.blueprints.logistics import bp, forms
from app.extensions import db
from app.models import Complaint, Franchisee, Purchase, Store
from app.models.base import local_today
from app.models.kpi import DELIVERY_KPIS
from app.models.logistics import DeliveryMonthStats, LogisticsPartner, Shipment
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import kpis, logistics

TREND_PERIODS = 8
# The promised day a new delivery form proposes.
PROMISE_DAYS = 3
BY_PROMISE = Ordering((Shipment.promised_on, Shipment.id))
LATEST = Ordering((Shipment.promised_on, Shipment.id), descending=True)


def _recent_periods(period: int, n: int = TREND_PERIODS) -> list[int]:
    periods = [period]
    while len(periods) < n:
        periods.append(kpis.previous(periods[-1]))
    return list(reversed(periods))


@bp.route("/")
@access("logistics.view")
def index():
    """The partners side by side for a half-year, best on-time rate first."""
    period = _period_arg()
    counts = summed_for_scope(("delivery_partners", period), lambda: logistics.by_partner(period))
    partners = db.session.scalars(select(LogisticsPartner).order_by(LogisticsPartner.name)).all()
    low, high = logistics.months(period)
    retired = [p.id for p in partners if not p.active and p.id not in counts]
    # A retired partner shows when it has deliveries in the period: asked live (the sums may be a
    # minute old, and a partner retired meanwhile went missing from them - trial 17).
    carried = set(db.session.scalars(select(DeliveryMonthStats.partner_id).where(
        DeliveryMonthStats.partner_id.in_(retired), DeliveryMonthStats.month >= low,
        DeliveryMonthStats.month <= high).distinct())) if retired else set()
    rows = []
    for p in partners:
        c = counts.get(p.id)
        if c is None and not p.active and p.id not in carried:
            continue  # a retired partner without deliveries in the period
        rows.append(SimpleNamespace(partner=p, counts=c or {}, rates=logistics.rates(c or {})))
    rows.sort(key=lambda r: (r.rates["delivery_on_time"] is None, -(r.rates["delivery_on_time"] or 0), r.partner.name))
    total = {c: sum(r.counts.get(c, 0) for r in rows) for c in logistics.COUNTS}
    return render_template("logistics/index.html", period=period, rows=rows, total=total,
                           total_rates=logistics.rates(total), kpis_=DELIVERY_KPIS,
                           thresholds=kpis.approved_thresholds(), label=kpis.label,
                           periods=_recent_periods(kpis.period_of(local_today())),
                           overdue=logistics.overdue_count(), network=current_scope.is_network)


@bp.route("/partners/<int:logistics_partner_id>")
@access("logistics.view")
def partner(logistics_partner_id: int):
    """One partner's figures: the half-year, its trend, and by franchisee (or by store)."""
    found = get_scoped_or_404(LogisticsPartner, logistics_partner_id)
    period = _period_arg()
    periods = _recent_periods(max(period, kpis.period_of(local_today())))
    by_period = summed_for_scope(("delivery_partner", found.id, tuple(periods)),
                        lambda: logistics.partner_periods(found.id, periods))
    trend = [SimpleNamespace(period=p, counts=by_period.get(p, {}), rates=logistics.rates(by_period.get(p, {})))
             for p in periods]
    while len(trend) > 2 and not trend[0].counts:
        trend.pop(0)
    scope = current_scope._get_current_object()
    low, high = logistics.months(period)
    where = (DeliveryMonthStats.partner_id == found.id, DeliveryMonthStats.month >= low,
             DeliveryMonthStats.month <= high)
    if scope.is_network or len(scope.franchisee_ids or ()) > 1:
        sums = logistics.sums([DeliveryMonthStats.franchisee_id], *where)
        names = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
            Franchisee.id.in_(list(sums) or [0]))).all())
        breakdown = [SimpleNamespace(name=names.get(k, "—"), franchisee_id=k, store_id=None, counts=v,
                                     rates=logistics.rates(v)) for k, v in sums.items()]
        breakdown_kind = "franchisee"
    else:
        sums = logistics.sums([DeliveryMonthStats.store_id], *where)
        stores = {s.id: s for s in db.session.scalars(select(Store).where(Store.id.in_(list(sums) or [0])))}
        breakdown = [SimpleNamespace(name=str(stores[k]) if k in stores else "—", store_id=k, franchisee_id=None,
                                     counts=v, rates=logistics.rates(v)) for k, v in sums.items()]
        breakdown_kind = "store"
    breakdown.sort(key=lambda r: (r.rates["delivery_on_time"] is None, r.rates["delivery_on_time"] or 0, r.name))
    current = next((t for t in trend if t.period == period), None) or SimpleNamespace(
        period=period, counts={}, rates=logistics.rates({}))
    charts_ = []
    if any(t.counts for t in trend):
        from app.services import charts

        # Two charts: the rates near 100 % and those near 0 % would flatten each other on one axis.
        labels = [kpis.label(t.period) for t in trend]
        higher = {code: v for code, v in DELIVERY_KPIS.items() if v[2]}
        lower = {code: v for code, v in DELIVERY_KPIS.items() if not v[2]}
        charts_ = [
            charts.trend(_("%(partner)s: arrival and on-time rates by half-year (%%)", partner=found.name), labels,
                         {str(v[0]): [t.rates[code] for t in trend] for code, v in higher.items()}, unit=" %"),
            charts.trend(_("%(partner)s: damage and complaint rates by half-year (%%)", partner=found.name), labels,
                         {str(v[0]): [t.rates[code] for t in trend] for code, v in lower.items()}, unit=" %"),
        ]
    return render_template("logistics/partner.html", p=found, period=period, current=current, trend=trend,
                           charts=charts_, breakdown=breakdown, breakdown_kind=breakdown_kind, kpis_=DELIVERY_KPIS,
                           thresholds=kpis.approved_thresholds(), label=kpis.label, periods=periods,
                           network=scope.is_network)


def _partner_form_page(form, found):
    return render_template("logistics/partner_form.html", form=form, p=found)


@bp.route("/partners/new", methods=["GET", "POST"])
@access("logistics.partners")
def new_partner():
    form = forms.NewPartnerForm(version=1)
    if form.validate_on_submit() and (done := create_once(
            form, lambda: logistics.save_partner(None, form.data, current_user),
            lambda p: url_for("logistics.partner", logistics_partner_id=p.id), _("Partner added."))):
        return done
    return _partner_form_page(form, None), 422 if form.is_submitted() else 200


@bp.route("/partners/<int:logistics_partner_id>/edit", methods=["GET", "POST"])
@access("logistics.partners")
def edit_partner(logistics_partner_id: int):
    found = get_scoped_or_404(LogisticsPartner, logistics_partner_id)
    form = forms.PartnerForm(obj=found)
    if form.validate_on_submit() and save_versioned(form, found, lambda: logistics.save_partner(
            found, form.data, current_user)):
        flash(_("Changes saved."), "success")
        return redirect(url_for("logistics.partner", logistics_partner_id=found.id))
    return _partner_form_page(form, found), 422 if form.is_submitted() else 200


# --- deliveries -----------------------------------------------------------------------------------

TABS = {
    "all": (lambda today: (), LATEST),
    "overdue": (lambda today: (Shipment.state == "in_transit", Shipment.promised_on < today), BY_PROMISE),
    "in_transit": (lambda today: (Shipment.state == "in_transit",), BY_PROMISE),
    "delivered": (lambda today: (Shipment.state == "delivered",), LATEST),
    "late": (lambda today: (Shipment.state == "delivered", Shipment.on_time.is_(False)), LATEST),
    "damaged": (lambda today: (Shipment.state == "delivered", Shipment.damaged.is_(True)), LATEST),
    "failed": (lambda today: (Shipment.state == "failed",), LATEST),
}


@bp.route("/deliveries")
@access("logistics.view")
def shipments():
    """The deliveries in scope: those late on their way first; by partner and half-year from the
    partner figures' links."""
    tab = request.args.get("tab", "in_transit")
    if tab not in TABS and tab != "complained":
        tab = "in_transit"
    today = local_today()
    stmt = select(Shipment).options(selectinload(Shipment.partner), selectinload(Shipment.store),
                                    selectinload(Shipment.customer))
    if tab == "complained":
        stmt = stmt.where(Shipment.id.in_(select(Complaint.shipment_id).where(
            Complaint.shipment_id.is_not(None), Complaint.kind == "complaint")))
        ordering = LATEST
    else:
        condition, ordering = TABS[tab]
        stmt = stmt.where(*condition(today))
    partner_id = request.args.get("partner", type=int)
    chosen = db.session.get(LogisticsPartner, partner_id) if partner_id else None
    if chosen is not None:
        stmt = stmt.where(Shipment.partner_id == chosen.id)
    period = request.args.get("period", "")
    if period.isdigit() and len(period) == 5 and period[-1] in "12":
        low, high = logistics.months(int(period))
        stmt = stmt.where(Shipment.month >= low, Shipment.month <= high)
    else:
        period = ""
    page = keyset_of(stmt, ordering)
    return render_template("logistics/shipments.html", page=page, tab=tab, chosen=chosen, period=period,
                           partners=db.session.scalars(select(LogisticsPartner).order_by(LogisticsPartner.name)).all(),
                           today=today, label=kpis.label, periods=_recent_periods(kpis.period_of(today)))


@bp.route("/deliveries/new", methods=["GET", "POST"])
@access("logistics.record")
def new_shipment():
    """A purchase's delivery leaves (from the customer's page)."""
    purchase_id = request.args.get("purchase", type=int)
    purchase = get_scoped_or_404(Purchase, purchase_id or 0, joinedload(Purchase.customer))
    existing = db.session.scalar(select(Shipment.id).where(Shipment.purchase_id == purchase.id))
    if existing is not None:  # recorded already (by a colleague, or in another tab): that one
        if request.method == "POST":
            flash(_("This purchase already has a delivery: here it is. Record what happened on it."), "info")
        return redirect(url_for("logistics.shipment", shipment_id=existing))
    partners = logistics.active_partners()
    form = forms.NewShipmentForm(partners=partners)
    if not form.is_submitted():
        form.promised_on.data = local_today() + timedelta(days=PROMISE_DAYS)
    if form.validate_on_submit() and (done := create_once(
            form, lambda: logistics.record_shipment(purchase, form.dispatch_data(), current_user),
            lambda s: url_for("logistics.shipment", shipment_id=s.id),
            _("Delivery recorded. Record its arrival when it gets there."))):
        return done
    return render_template("logistics/shipment_new.html", form=form, purchase=purchase,
                           partners=partners), 422 if form.is_submitted() else 200


@bp.route("/deliveries/<int:shipment_id>", methods=["GET", "POST"])
@access("logistics.view")
def shipment(shipment_id: int):
    """One delivery: what left, what arrived; the store records the outcome here."""
    found = get_scoped_or_404(Shipment, shipment_id, joinedload(Shipment.purchase), joinedload(Shipment.customer),
                              joinedload(Shipment.partner), joinedload(Shipment.store))
    editable = can(current_user, "logistics.record")
    if request.method == "POST" and not editable:
        abort(403)
    partners = logistics.active_partners()
    if found.partner not in partners:
        partners = [found.partner, *partners]
    form = forms.ShipmentForm(obj=forms.LocalShipment(found), partners=partners)
    if form.validate_on_submit() and save_versioned(
            form, found, lambda: logistics.update_shipment(found, form.outcome_data(), current_user)):
        flash(_("Delivery saved."), "success")
        return redirect(url_for("logistics.shipment", shipment_id=found.id))
    complaints = db.session.scalars(select(Complaint).where(Complaint.shipment_id == found.id)
                                    .order_by(Complaint.received_at)).all()
    return render_template("logistics/shipment.html", s=found, form=form, editable=editable, complaints=complaints,
                           today=local_today()), 422 if form.is_submitted() else 200

