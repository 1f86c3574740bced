"""What headquarters configures for complaints: categories, channels, deadline rules and the
holiday calendar. Read through the reference cache (app/refcache.py): every intake form and
every deadline computation needs them, and they change a few times a year.
"""
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from sqlalchemy import func, select

from app import refcache
from app.extensions import db
from app.models import (
    CalendarDay, ComplaintCategory, ComplaintChannel, ComplaintThreshold, DeadlineRule, EscalationLevel,
)
from app.security.tenancy import unscoped

# The standard categories (R19, seed 002) and channels (R18, seeds 000, 002, 003), installed
# on a new portal; headquarters renames, adds and retires them on the settings page.
DEFAULT_CATEGORIES = (
    ("quality", "产品质量", "Product quality", "quality"),
    ("service", "服务态度", "Service attitude", "service"),
    ("logistics", "物流配送", "Logistics and delivery", "logistics"),
    ("price", "价格", "Price", "price"),
    ("returns", "退换货", "Returns and exchanges", "returns"),
    ("other", "其他", "Other", "other"),
)
DEFAULT_CHANNELS = (
    ("phone", "电话", "Phone", False),
    ("in_store", "门店现场", "In store", False),
    ("email", "电子邮件（投诉邮箱）", "E-mail (complaint mailbox)", False),
    ("online", "在线客服", "Online service", False),
    ("social", "社交媒体", "Social media", True),
    ("web_form", "门店投诉页面（扫码）", "Store complaint page (QR code)", False),
    ("other", "其他", "Other", False),
)
# Business hours: to acknowledge, to resolve (the store's clock), and headquarters' part.
# A major complaint is resolved after headquarters' part (3 office days), so the store's promise
# to the customer runs longer (5 store days of 11 hours).
DEFAULT_RULES = (("general", "2", "22", "24"), ("major", "1", "55", "24"))
# Late complaints go up the chain (business hours past the due time): the franchise owner at
# once, the regional supervisor, then headquarters' customer-experience department.
DEFAULT_LEVELS = (("acknowledge", 1, "franchise_owner", "0"), ("acknowledge", 2, "hq_supervisor", "2"),
                  ("acknowledge", 3, "hq_auditor", "4"), ("resolve", 1, "franchise_owner", "0"),
                  ("resolve", 2, "hq_supervisor", "8"), ("resolve", 3, "hq_auditor", "16"))
PUBLIC_CHANNEL = "web_form"


def install_defaults() -> bool:
    """Write the standard categories, channels, deadline rules and escalation levels, each set
    only where its table is still empty (a portal upgraded to a release with a new set gets it)."""
    def empty(model) -> bool:
        return not db.session.scalar(select(func.count()).select_from(model))

    def all_present() -> bool:
        with unscoped():
            return not any(empty(m) for m in (ComplaintCategory, ComplaintChannel, DeadlineRule, EscalationLevel,
                                              ComplaintThreshold))

    # The intake forms ask on every request: answered from the reference cache after the first.
    if refcache.cached(("complaint-defaults-present",), all_present):
        return False
    added = False
    with unscoped():
        if empty(ComplaintCategory):
            for n, (code, zh, en, kind) in enumerate(DEFAULT_CATEGORIES):
                db.session.add(ComplaintCategory(code=code, name_zh=zh, name_en=en, remedy_kind=kind, position=n))
            added = True
        if empty(ComplaintChannel):
            for n, (code, zh, en, link) in enumerate(DEFAULT_CHANNELS):
                db.session.add(ComplaintChannel(code=code, name_zh=zh, name_en=en, asks_link=link, position=n))
            added = True
        if empty(DeadlineRule):
            for severity, ack, resolve, hq in DEFAULT_RULES:
                db.session.add(DeadlineRule(severity=severity, acknowledge_hours=Decimal(ack),
                                            resolve_hours=Decimal(resolve), hq_hours=Decimal(hq)))
            added = True
        if empty(EscalationLevel):
            for stage, level, role, hours in DEFAULT_LEVELS:
                db.session.add(EscalationLevel(stage=stage, level=level, role=role, after_hours=Decimal(hours)))
            added = True
        if empty(ComplaintThreshold):
            db.session.add(ComplaintThreshold(count=6, months=6))  # HQ changes it; the example of issue 9
            added = True
        if added:
            db.session.flush()
    return added


@dataclass(frozen=True)
class Option:
    id: int
    code: str
    name_zh: str
    name_en: str
    active: bool
    remedy_kind: str = "other"
    asks_link: bool = False

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh


def _options(model) -> tuple[Option, ...]:
    def compute():
        with unscoped():
            rows = db.session.scalars(select(model).order_by(model.position, model.id)).all()
        return tuple(Option(r.id, r.code, r.name_zh, r.name_en, r.active, getattr(r, "remedy_kind", "other"),
                            getattr(r, "asks_link", False)) for r in rows)

    return refcache.cached(("complaint-options", model.__name__), compute)


def categories(active_only: bool = True) -> tuple[Option, ...]:
    return tuple(o for o in _options(ComplaintCategory) if o.active or not active_only)


def channels(active_only: bool = True) -> tuple[Option, ...]:
    return tuple(o for o in _options(ComplaintChannel) if o.active or not active_only)


def category(ident: int | None) -> Option | None:
    return next((o for o in _options(ComplaintCategory) if o.id == ident), None)


def channel(ident: int | None) -> Option | None:
    return next((o for o in _options(ComplaintChannel) if o.id == ident), None)


def channel_by_code(code: str) -> Option | None:
    return next((o for o in _options(ComplaintChannel) if o.code == code), None)


@dataclass(frozen=True)
class Allowance:
    """Business hours allowed by the rule that applies."""

    acknowledge: Decimal
    resolve: Decimal
    hq: Decimal


def _rules() -> dict:
    def compute():
        with unscoped():
            rows = db.session.scalars(select(DeadlineRule)).all()
        return {(r.severity, r.category_id): Allowance(r.acknowledge_hours, r.resolve_hours, r.hq_hours) for r in rows}

    return refcache.cached(("complaint-deadline-rules",), compute)


# Before HQ's rules are written (a portal just upgraded): the defaults they would get.
FALLBACK = {severity: Allowance(Decimal(ack), Decimal(resolve), Decimal(hq)) for severity, ack, resolve, hq in DEFAULT_RULES}


def allowance(severity: str, category_id: int | None) -> Allowance:
    """The rule for this category and severity, else the severity's general rule."""
    rules = _rules()
    return rules.get((severity, category_id)) or rules.get((severity, None)) or FALLBACK[severity]


@dataclass(frozen=True)
class Calendar:
    closed_hq: frozenset[date]
    closed_stores: frozenset[date]
    workdays: frozenset[date]


def calendar_days() -> Calendar:
    def compute():
        with unscoped():
            rows = db.session.execute(select(CalendarDay.on, CalendarDay.kind, CalendarDay.stores_closed)).all()
        return Calendar(
            frozenset(on for on, kind, _ in rows if kind == "closed"),
            frozenset(on for on, kind, stores in rows if kind == "closed" and stores),
            frozenset(on for on, kind, _ in rows if kind == "workday"),
        )

    return refcache.cached(("calendar-days",), compute)


def escalation_levels() -> dict[str, tuple[tuple[int, str, Decimal], ...]]:
    """stage -> ((level, role, after hours), ...) in level order."""
    def compute():
        with unscoped():
            rows = db.session.scalars(select(EscalationLevel).order_by(EscalationLevel.stage, EscalationLevel.level)).all()
        levels: dict[str, list] = {}
        for row in rows:
            levels.setdefault(row.stage, []).append((row.level, row.role, row.after_hours))
        return {stage: tuple(items) for stage, items in levels.items()}

    return refcache.cached(("complaint-escalation-levels",), compute)


STORE_OPENS, STORE_CLOSES = time(10), time(21)


def thresholds() -> tuple[tuple[int, int, int], ...]:
    """(id, count, months) of the thresholds in force."""
    def compute():
        with unscoped():
            rows = db.session.execute(select(ComplaintThreshold.id, ComplaintThreshold.count, ComplaintThreshold.months)
                                      .where(ComplaintThreshold.active.is_(True))
                                      .order_by(ComplaintThreshold.months, ComplaintThreshold.count)).all()
        return tuple(tuple(r) for r in rows)

    return refcache.cached(("complaint-thresholds",), compute)
