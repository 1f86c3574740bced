"""Complaint statistics (R26): by store, franchisee, category, channel and month, from the roll-up."""

from flask import current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from app.blueprints.complaints import bp
from app.blueprints.customers.views_customers import franchisee_choices, store_choices
from app.extensions import db
from app.i18n import current_locale
from app.models import Franchisee, Store
from app.models.base import local_today, utcnow
from app import refcache
from app.security.access import access
from app.security.scope import current_scope
from app.services.complaints import settings, stats


def _month(value: str | None, default: int) -> int:
    """yyyymm from "2026-03" (the month input), else the default."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year * 100 + month
    except ValueError:
        pass
    return default


def _ratio(part, whole):
    return part / whole if whole else None


@bp.route("/statistics")
@access("complaints.statistics")
def statistics():
    """Complaint counts and rates, response and resolution times, share in time, reopen rate,
    follow-up satisfaction, and the main causes (Pareto) for a period."""
    today = local_today()
    last = _month(request.args.get("to"), today.year * 100 + today.month)
    first = _month(request.args.get("from"), stats.first_month(today, 12))
    if first > last:
        first, last = last, first
    group = request.args.get("group", "store")
    group = group if group in stats.GROUPS else "store"
    store_id = request.args.get("store", type=int)
    franchisee_id = request.args.get("franchisee", type=int)
    locale = current_locale()
    scope = current_scope._get_current_object()
    cfg = current_app.config

    def compute():
        return _figures(group, first, last, store_id, franchisee_id, locale)

    if scope.is_network or len(scope.store_ids) > cfg["DASHBOARD_LIVE_MAX_STORES"]:
        # A network's year of roll-ups added up: a figure a minute old will do (as on the
        # dashboard), and the page says how old it is.
        figures = refcache.cached_for(cfg["DASHBOARD_CACHE_SECONDS"], (
            "complaint-statistics", scope, group, first, last, store_id, franchisee_id, locale), compute)
    else:
        figures = compute()
    return render_template(
        "complaints/statistics.html", group=group, groups=stats.GROUPS, first=first, last=last,
        stores=store_choices(), franchisees=franchisee_choices(), store_id=store_id, franchisee_id=franchisee_id,
        top_rows=TOP_ROWS, **figures)


# A network has a thousand stores: the table lists those with the most complaints.
TOP_ROWS = 100


def _figures(group, first, last, store_id, franchisee_id, locale) -> dict:
    """Everything the page shows, as plain values (cacheable)."""
    rows = stats.figures(group, first, last, store_id, franchisee_id)
    customers, purchases = stats.denominators(first, last, store_id, franchisee_id)
    per_group = stats.denominators_by(group, first, last, store_id, franchisee_id)
    names = _names(group, [r.key for r in rows], locale)
    table = []
    fallback = (customers, purchases) if group in ("category", "channel") else (0, 0)
    for r in rows:
        cust, purch = per_group.get(r.key, fallback)
        table.append({
            "key": r.key, "name": names.get(r.key, "—"), "received": r.received, "major": r.major,
            "per_customers": _ratio(r.received * 1000, cust), "per_purchases": _ratio(r.received * 1000, purch),
            "first_response_hours": _ratio(r.first_response_seconds / 3600, r.acknowledged),
            "resolution_hours": _ratio(r.resolution_seconds / 3600, r.resolved),
            "in_time": _ratio(r.resolved_in_time, r.resolved), "reopen_rate": _ratio(r.reopened, r.received),
            "satisfaction": _ratio(r.follow_up_score, r.followed_up), "open_now": r.open_now,
        })
    table.sort(key=(lambda t: t["key"]) if group == "month" else (lambda t: (-t["received"], t["name"])))
    total = sum(t["received"] for t in table)
    # The main causes: categories by count, with the cumulative share (a Pareto chart).
    pareto, running = [], 0
    for r in sorted(stats.figures("category", first, last, store_id, franchisee_id), key=lambda r: -r.received):
        running += r.received
        pareto.append({"name": _names("category", [r.key], locale).get(r.key, "—"), "count": r.received,
                       "cumulative": _ratio(running, total or 1)})
    trend = sorted(stats.figures("month", first, last, store_id, franchisee_id), key=lambda r: r.key)
    return {"table": table[:TOP_ROWS] if group == "store" else table, "rows_total": len(table),
            "total": total, "pareto": pareto,
            "top": max((p["count"] for p in pareto), default=0), "trend": [(r.key, r.received) for r in trend],
            "trend_top": max((r.received for r in trend), default=0),
            "feedback": stats.feedback_counts(first, last, store_id, franchisee_id), "customers": customers,
            "purchases": purchases, "as_of": utcnow()}


def _names(group: str, keys, locale) -> dict:
    if group == "store":
        return {i: f"{code} {name}" for i, code, name in db.session.execute(
            select(Store.id, Store.code, Store.name).where(Store.id.in_(keys))).all()}
    if group == "franchisee":
        return dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(Franchisee.id.in_(keys))).all())
    if group == "category":
        labels = {o.id: o.label(locale) for o in settings.categories(active_only=False)}
        # 0: filed online as "not sure" and not yet given a category by the store.
        return {k: labels.get(k, _("Not categorised yet")) for k in keys}
    if group == "channel":
        labels = {o.id: o.label(locale) for o in settings.channels(active_only=False)}
        return {k: labels.get(k, "—") for k in keys}
    return {k: f"{k // 100}-{k % 100:02d}" for k in keys}

