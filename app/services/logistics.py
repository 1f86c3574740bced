"""Deliveries, logistics partners and the delivery KPIs (issue 12; seed 004, the Amazon case; R77).

The stores record a delivery for a purchase (carrier, dispatch, the day promised to the customer)
and then its outcome (arrived - when, damaged or not - or not delivered, and why). A complaint
about a delivery names it. The partner figures are read from ``DeliveryMonthStats``: each change
recounts the one bucket (partner, store, franchisee, month of dispatch) it touches, from that
bucket's shipments - an index range of a few rows - so the stored counts are always what a count
from scratch gives (``rebuild`` does that for everything; a test compares them).

The KPIs, per partner and period (what the network appraises its carriers by):
- arrival rate (到达率): delivered / (delivered + not delivered); those on their way do not count yet;
- on-time rate (准时率): arrived on or before the promised day / delivered;
- damage rate (损坏率): arrived damaged / delivered;
- complaint rate (投诉率): deliveries complained about / deliveries dispatched.
"""
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, delete, exists, func, insert, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Complaint, Purchase
from app.models.base import local_date, local_today, utcnow
from app.models.logistics import FAILURE_REASONS, DeliveryMonthStats, LogisticsPartner, Shipment
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services import audit as audit_trail
from app.services.kpis import bounds, ratio

# A promise further out than this is a typing error (a year typed as 2062), not a delivery date.
MAX_PROMISE_DAYS = 180
# Deliveries are recorded when they leave, or keyed in afterwards from the delivery notes.
MAX_DAYS_BACK = 366


def month_of(moment: datetime) -> int:
    day = local_date(moment)
    return day.year * 100 + day.month


# --- partners (headquarters) ----------------------------------------------------------------------

def save_partner(partner: LogisticsPartner | None, data: dict, actor) -> LogisticsPartner:
    code = data["code"].strip().upper()
    name = data["name"].strip()
    for column, value, message in ((LogisticsPartner.code, code, _("Another partner already has the code %(v)s.", v=code)),
                                   (LogisticsPartner.name, name, _("Another partner already has the name %(v)s.", v=name))):
        clash = db.session.scalar(select(LogisticsPartner.id).where(column == value))
        if clash is not None and (partner is None or clash != partner.id):
            raise RuleError(message)
    new = partner is None
    if new:
        partner = LogisticsPartner()
        db.session.add(partner)
    partner.code, partner.name = code, name
    for key in ("contact_name", "contact_phone", "service_area", "notes"):
        setattr(partner, key, (data.get(key) or "").strip() or None)
    partner.active = bool(data.get("active", True))
    db.session.flush()
    audit_trail.record("logistics_partner.created" if new else "logistics_partner.updated", actor=actor,
                       target=partner, details={"code": code})
    return partner


def active_partners() -> list[LogisticsPartner]:
    return db.session.scalars(select(LogisticsPartner).where(LogisticsPartner.active.is_(True))
                              .order_by(LogisticsPartner.name)).all()


# --- shipments (the stores) -----------------------------------------------------------------------

def _check_dates(purchase_day: date, dispatched_at: datetime, promised_on: date) -> None:
    now = utcnow()
    dispatched_day = local_date(dispatched_at)
    if dispatched_at > now + timedelta(minutes=10):
        raise RuleError(_("The dispatch time cannot be in the future."))
    if dispatched_day < purchase_day:
        raise RuleError(_("A delivery cannot leave before the purchase (%(day)s).", day=purchase_day.isoformat()))
    if dispatched_day < local_today() - timedelta(days=MAX_DAYS_BACK):
        raise RuleError(_("Deliveries more than a year old are not recorded."))
    if promised_on < dispatched_day:
        raise RuleError(_("The promised day cannot be before the dispatch."))
    if promised_on > dispatched_day + timedelta(days=MAX_PROMISE_DAYS):
        raise RuleError(_("The promised day is more than %(days)d days after the dispatch: check the year.",
                          days=MAX_PROMISE_DAYS))


def _partner(partner_id: int, current: int | None = None) -> LogisticsPartner:
    partner = db.session.get(LogisticsPartner, partner_id)
    if partner is None or (not partner.active and partner_id != current):
        raise RuleError(_("Choose one of the partners in use."))
    return partner


def record_shipment(purchase: Purchase, data: dict, actor) -> Shipment:
    """The delivery of ``purchase`` leaves (in the caller's transaction)."""
    if db.session.scalar(select(Shipment.id).where(Shipment.purchase_id == purchase.id)) is not None:
        raise RuleError(_("This purchase already has a delivery: open it to record what happened."))
    partner = _partner(data["partner_id"])
    _check_dates(purchase.purchased_on, data["dispatched_at"], data["promised_on"])
    shipment = Shipment(purchase_id=purchase.id, customer_id=purchase.customer_id, store_id=purchase.store_id,
                        franchisee_id=purchase.franchisee_id, partner_id=partner.id,
                        tracking_no=(data.get("tracking_no") or "").strip() or None,
                        dispatched_at=data["dispatched_at"], month=month_of(data["dispatched_at"]),
                        promised_on=data["promised_on"], note=(data.get("note") or "").strip() or None,
                        created_by_id=getattr(actor, "id", None), updated_by_id=getattr(actor, "id", None))
    db.session.add(shipment)
    db.session.flush()
    recount([_bucket(shipment)])
    audit_trail.record("shipment.created", actor=actor, target=shipment,
                       details={"purchase": purchase.id, "partner": partner.code})
    return shipment


def update_shipment(shipment: Shipment, data: dict, actor) -> None:
    """Correct the dispatch or record the outcome: delivered (when, damaged) or not delivered (why)."""
    before = _bucket(shipment)
    partner = _partner(data["partner_id"], current=shipment.partner_id)
    _check_dates(shipment.purchase.purchased_on, data["dispatched_at"], data["promised_on"])
    state = data["state"]
    delivered_at = data.get("delivered_at")
    if state == "delivered":
        if delivered_at is None:
            raise RuleError(_("Enter when the delivery arrived."))
        if delivered_at > utcnow() + timedelta(minutes=10):
            raise RuleError(_("The arrival cannot be in the future."))
        if delivered_at < data["dispatched_at"]:
            raise RuleError(_("The delivery cannot arrive before it left."))
        shipment.delivered_at = delivered_at
        shipment.on_time = local_date(delivered_at) <= data["promised_on"]
        shipment.damaged = bool(data.get("damaged"))
        shipment.damage_note = (data.get("damage_note") or "").strip() or None if shipment.damaged else None
        shipment.failure_reason = None
    elif state == "failed":
        if data.get("failure_reason") not in FAILURE_REASONS:
            raise RuleError(_("Say why it was not delivered."))
        shipment.failure_reason = data["failure_reason"]
        shipment.delivered_at = shipment.on_time = shipment.damage_note = None
        shipment.damaged = False
    elif state == "in_transit":
        shipment.delivered_at = shipment.on_time = shipment.damage_note = shipment.failure_reason = None
        shipment.damaged = False
    else:
        raise RuleError(_("Unknown state."))
    shipment.state = state
    shipment.partner_id = partner.id
    shipment.dispatched_at, shipment.month = data["dispatched_at"], month_of(data["dispatched_at"])
    shipment.promised_on = data["promised_on"]
    shipment.called_ahead = data.get("called_ahead")
    shipment.tracking_no = (data.get("tracking_no") or "").strip() or None
    shipment.note = (data.get("note") or "").strip() or None
    shipment.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    recount({before, _bucket(shipment)})
    audit_trail.record("shipment.updated", actor=actor, target=shipment, details={"state": state})


def find_shipment(value) -> Shipment | None:
    """The delivery ``value`` (a request argument) names, if the user's scope holds it."""
    if not value or not str(value).isdigit() or len(str(value)) > 12:
        return None
    return db.session.scalar(select(Shipment).where(Shipment.id == int(value))
                             .options(joinedload(Shipment.customer), joinedload(Shipment.partner),
                                      joinedload(Shipment.store)))


def link_complaint(complaint: Complaint, shipment: Shipment) -> None:
    """``complaint`` is about ``shipment``'s delivery: the partner's complaint rate counts it."""
    complaint.shipment_id = shipment.id
    db.session.flush()
    recount([_bucket(shipment)])


# --- the stored counts ----------------------------------------------------------------------------

def _bucket(s: Shipment) -> tuple[int, int, int, int]:
    return s.partner_id, s.store_id, s.franchisee_id, s.month


def _counts():
    # Deliveries complained about (one however many complaints name it): the list the figure
    # links to shows exactly these.
    complained = exists().where(Complaint.shipment_id == Shipment.id, Complaint.kind == "complaint")
    return (func.count().label("shipments"),
            func.coalesce(func.sum(case((Shipment.state == "delivered", 1), else_=0)), 0).label("delivered"),
            func.coalesce(func.sum(case((Shipment.state == "failed", 1), else_=0)), 0).label("failed"),
            func.coalesce(func.sum(case((Shipment.on_time.is_(True), 1), else_=0)), 0).label("on_time"),
            func.coalesce(func.sum(case((Shipment.damaged.is_(True), 1), else_=0)), 0).label("damaged"),
            func.coalesce(func.sum(case((complained, 1), else_=0)), 0).label("complaints"))


COUNTS = ("shipments", "delivered", "failed", "on_time", "damaged", "complaints")


def recount(buckets) -> None:
    """Recount the stored rows of these (partner, store, franchisee, month) buckets."""
    with unscoped():
        for partner_id, store_id, franchisee_id, month in buckets:
            key = (DeliveryMonthStats.partner_id == partner_id, DeliveryMonthStats.store_id == store_id,
                   DeliveryMonthStats.franchisee_id == franchisee_id, DeliveryMonthStats.month == month)
            row = db.session.execute(select(*_counts()).where(
                Shipment.partner_id == partner_id, Shipment.store_id == store_id,
                Shipment.franchisee_id == franchisee_id, Shipment.month == month)).one()
            values = dict(zip(COUNTS, (int(v or 0) for v in row)))
            existing = db.session.scalar(select(DeliveryMonthStats).where(*key))
            if not values["shipments"]:
                if existing is not None:
                    db.session.delete(existing)
                continue
            if existing is None:
                existing = DeliveryMonthStats(partner_id=partner_id, store_id=store_id, franchisee_id=franchisee_id,
                                              month=month)
                db.session.add(existing)
            for column, value in values.items():
                setattr(existing, column, value)
            existing.updated_at = utcnow()
        db.session.flush()


def from_scratch() -> dict[tuple, dict]:
    """Every bucket's counts counted from the shipments (what ``rebuild`` stores)."""
    with unscoped():
        rows = db.session.execute(select(Shipment.partner_id, Shipment.store_id, Shipment.franchisee_id, Shipment.month,
                                         *_counts()).group_by(Shipment.partner_id, Shipment.store_id,
                                                              Shipment.franchisee_id, Shipment.month))
        return {tuple(r[:4]): dict(zip(COUNTS, (int(v or 0) for v in r[4:]))) for r in rows}


def rebuild() -> int:
    """Recount every stored row from the shipments (``flask logistics rebuild``)."""
    counted = from_scratch()
    with unscoped():
        db.session.execute(delete(DeliveryMonthStats))
        if counted:
            now = utcnow()
            db.session.execute(insert(DeliveryMonthStats), [
                {"partner_id": p, "store_id": s, "franchisee_id": f, "month": m, "updated_at": now, **values}
                for (p, s, f, m), values in counted.items()])
    return len(counted)


# --- the KPIs -------------------------------------------------------------------------------------

def rates(t: dict) -> dict:
    """The four delivery KPIs of some added-up counts (None where nothing was measured)."""
    return {
        "delivery_arrival": ratio(t.get("delivered", 0), t.get("delivered", 0) + t.get("failed", 0)),
        "delivery_on_time": ratio(t.get("on_time", 0), t.get("delivered", 0)),
        "delivery_damage": ratio(t.get("damaged", 0), t.get("delivered", 0)),
        "delivery_complaints": ratio(t.get("complaints", 0), t.get("shipments", 0)),
    }


def months(period: int) -> tuple[int, int]:
    first, last = bounds(period)
    return first.year * 100 + first.month, last.year * 100 + last.month


def sums(group_by, *where) -> dict:
    """Added-up counts (scoped as usual) of the stored rows, by the given columns."""
    columns = [func.sum(getattr(DeliveryMonthStats, c)).label(c) for c in COUNTS]
    stmt = select(*group_by, *columns).where(*where).group_by(*group_by)
    out = {}
    for row in db.session.execute(stmt):
        key = tuple(row[:len(group_by)])
        out[key[0] if len(key) == 1 else key] = {c: int(getattr(row, c) or 0) for c in COUNTS}
    return out


def by_partner(period: int) -> dict[int, dict]:
    low, high = months(period)
    return sums([DeliveryMonthStats.partner_id], DeliveryMonthStats.month >= low, DeliveryMonthStats.month <= high)


def partner_periods(partner_id: int, periods: list[int]) -> dict[int, dict]:
    """One partner's counts per half-year (for the trend)."""
    if not periods:
        return {}
    low, high = months(min(periods))[0], months(max(periods))[1]
    half = case((DeliveryMonthStats.month % 100 <= 6, 1), else_=2)
    period = DeliveryMonthStats.month // 100 * 10 + half
    rows = sums([period.label("period")], DeliveryMonthStats.partner_id == partner_id,
                DeliveryMonthStats.month >= low, DeliveryMonthStats.month <= high)
    return {int(k): v for k, v in rows.items()}


def overdue_count(limit: int = 1000) -> int:
    """Deliveries on their way past the promised day (in scope), counted up to ``limit``."""
    return db.session.scalar(select(func.count()).select_from(
        select(Shipment.id).where(Shipment.state == "in_transit", Shipment.promised_on < local_today())
        .limit(limit).subquery()))
