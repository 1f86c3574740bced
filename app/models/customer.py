"""The customer file (顾客主文件): master records, purchases and the contact log.

Analytics columns (counts, spend, CLV, category, grade, tier) are derived from
purchases and the headquarters rules by ``services/customer_analytics.py``;
nothing else writes them.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, StoreOwned, TimestampMixin, VersionedMixin, utcnow, local_today
from app.models.org import Store
from app.models.user import User

GENDERS = {"female": _l("Female"), "male": _l("Male"), "unknown": _l("Not stated")}
# The three kinds of customer the source documents distinguish (seed 001: 个人购买者、中间商和制造商).
CUSTOMER_TYPES = {
    "individual": _l("Individual buyer"),
    "intermediary": _l("Intermediary (dealer, distributor)"),
    "manufacturer": _l("Manufacturer"),
}
BUSINESS_TYPES = frozenset({"intermediary", "manufacturer"})
SOURCES = {
    "walk_in": _l("Walk-in"),
    "referral": _l("Referral"),
    "online": _l("Online"),
    "phone": _l("Phone"),
    "event": _l("Event"),
    "social": _l("Social media"),
    "other": _l("Other"),
}
CATEGORIES = {"vip": _l("VIP"), "regular": _l("Regular"), "potential": _l("Potential")}
GRADES = {"A": "A", "B": "B", "C": "C"}
CHURN_ABSENT, CHURN_FREQUENCY, CHURN_COMPLAINT = 1, 2, 4
RELATIONSHIPS = {
    "basic": _l("Basic"),
    "reactive": _l("Reactive"),
    "accountable": _l("Accountable"),
    "proactive": _l("Proactive"),
    "partnership": _l("Partnership"),
}
CONSENT_METHODS = {
    "paper": _l("Signed form"),
    "online": _l("Online form"),
    "phone": _l("Recorded phone call"),
    "wechat": _l("WeChat"),
}
ANONYMISE_REASONS = {
    "withdrawn": _l("Consent withdrawn"),
    "deletion": _l("Deletion requested"),
    "retention": _l("Retention period passed"),
}
CONTACT_METHODS = {
    "visit": _l("Visit"),
    "phone": _l("Phone"),
    "sms": _l("SMS"),
    "email": _l("E-mail"),
    "wechat": _l("WeChat"),
}
CONTACT_PURPOSES = {
    "routine": _l("Routine contact"),
    "return_visit": _l("Return visit after purchase"),
    "follow_up": _l("Follow-up: usage tips and new products"),
    "birthday": _l("Birthday care"),
    "holiday": _l("Holiday care"),
    "churn": _l("Win-back"),
    "complaint": _l("Complaint follow-up"),
    "points_expiry": _l("Points expiry reminder"),
}
# The network's product lines (R8: the category counts how many a customer buys).
PRODUCT_TYPES = {
    "bedding": _l("Bedding and textiles"),
    "furniture": _l("Furniture"),
    "lighting": _l("Lighting"),
    "kitchen": _l("Kitchen and household"),
    "decor": _l("Decoration and soft furnishings"),
    "custom": _l("Made to measure"),
    "other": _l("Other"),
}
PURCHASE_CHANNELS = {
    "in_store": _l("In store"),
    "online": _l("Online shop"),
    "phone": _l("Phone order"),
    "wechat": _l("WeChat"),
}


def mobile_tail(mobile: str | None) -> str | None:
    return mobile[-4:] if mobile and len(mobile) >= 4 else None


def _mobile_tail_default(context) -> str | None:
    # Evaluated per row, also for Core bulk inserts (the import); updates set it in services.
    return mobile_tail(context.get_current_parameters().get("mobile"))


class Customer(CurrentOwner, TimestampMixin, VersionedMixin, db.Model):
    """A customer's master record, owned by the store that serves them."""

    # Every list orders by one of these keys, ending in id, for keyset pages: the
    # store-led index serves one store's or one franchisee's list, the bare one the
    # network's. No index leads with a column that is the same for nearly every row
    # (merged_into_id, anonymised_at, category): the planner would walk all of them.
    __table_args__ = (
        UniqueConstraint("store_id", "code"),
        Index("ix_customer_code", "code"),
        Index("ix_customer_mobile", "mobile"),
        Index("ix_customer_mobile_tail", "mobile_tail"),
        Index("ix_customer_recent", "last_purchase_day", "id"),
        Index("ix_customer_store_recent", "store_id", "last_purchase_day", "id"),
        # A franchisee's VIPs (or potentials) by recency: without it PostgreSQL walked the
        # network-wide recency index filtering 28,000 rows (214 ms; 7.6 ms with it).
        Index("ix_customer_store_category_recent", "store_id", "category", "last_purchase_day", "id"),
        Index("ix_customer_spend", "total_spend", "id"),
        Index("ix_customer_store_spend", "store_id", "total_spend", "id"),
        Index("ix_customer_clv", "clv", "id"),
        Index("ix_customer_store_clv", "store_id", "clv", "id"),
        Index("ix_customer_store_name", "store_id", "name_key", "id"),
        # A franchise owner's lists (the tenant scope names the franchisee, app/security/tenancy.py):
        # one index range in order, instead of 25 stores' ranges merged or sorted.
        Index("ix_customer_franchisee_recent", "franchisee_id", "last_purchase_day", "id"),
        Index("ix_customer_franchisee_spend", "franchisee_id", "total_spend", "id"),
    )

    # (store_id, code) and the store- and franchisee-led indexes above serve every lookup.
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(60))
    # Lower-case, no spaces or punctuation, half-width: for search and duplicates.
    name_key: Mapped[str] = mapped_column(String(60), index=True)
    gender: Mapped[str] = mapped_column(String(10), default="unknown")
    birthday: Mapped[date | None]
    # Month * 100 + day, so birthday lists are a range query on any database.
    birthday_md: Mapped[int | None] = mapped_column(index=True)
    mobile: Mapped[str | None] = mapped_column(String(20))
    # A landline (座机), e.g. 021-64881234: many business customers have no mobile on file.
    landline: Mapped[str | None] = mapped_column(String(20))
    # The last four digits (手机尾号), which people at the counter search by.
    mobile_tail: Mapped[str | None] = mapped_column(String(4), default=_mobile_tail_default)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(200))
    # Parsed from the address with the national division table (services/addresses.py).
    province: Mapped[str | None] = mapped_column(String(30))
    city: Mapped[str | None] = mapped_column(String(30))
    district: Mapped[str | None] = mapped_column(String(30))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    customer_type: Mapped[str] = mapped_column(String(20), default="individual")
    source: Mapped[str] = mapped_column(String(20), default="walk_in")
    # What the store does after a sale (R12, services/customer_care.AFTER_SALE); a new file is
    # "accountable" (the store calls after the sale) unless someone chooses otherwise.
    relationship_type: Mapped[str] = mapped_column(String(20), default="accountable")
    # The employee who sold to the customer (with or without a portal login; issue 11).
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    commission_code: Mapped[str | None] = mapped_column(String(20))
    tax_no: Mapped[str | None] = mapped_column(String(30))
    credit_record: Mapped[str | None] = mapped_column(String(200))
    sales_limit: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    delivery_address: Mapped[str | None] = mapped_column(String(200))
    invoice_address: Mapped[str | None] = mapped_column(String(200))
    # Collected through the membership (seed 002: 职业、兴趣、习惯).
    occupation: Mapped[str | None] = mapped_column(String(60))
    interests: Mapped[str | None] = mapped_column(String(200))
    habits: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    points: Mapped[int] = mapped_column(default=0)

    consent: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    consent_method: Mapped[str | None] = mapped_column(String(20))
    consent_purpose: Mapped[str | None] = mapped_column(String(200))
    # The privacy policy's version in force when consent was recorded (R61, issue 15).
    consent_policy_number: Mapped[int | None]
    anonymised_at: Mapped[datetime | None]
    anonymised_reason: Mapped[str | None] = mapped_column(String(20))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))

    # Derived (services/customer_analytics.py).
    purchase_count: Mapped[int] = mapped_column(default=0)
    total_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    first_purchase_on: Mapped[date | None]
    last_purchase_on: Mapped[date | None]
    # date.toordinal() of the last purchase, 0 if none: churn rules compare it in SQL and
    # the default list sorts on it (never NULL, so keyset pages need no NULL ordering).
    last_purchase_day: Mapped[int] = mapped_column(default=0, server_default="0")
    # The same for the first purchase: yearly spend and purchases run from it to today.
    first_purchase_day: Mapped[int] = mapped_column(default=0, server_default="0")
    usual_interval_days: Mapped[float | None]
    # Spend and purchases per year from the first purchase to today (at least a year), and how
    # many product types they bought: what CLV and category are computed from (set with them).
    yearly_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    yearly_purchases: Mapped[float] = mapped_column(default=0.0, server_default="0")
    product_types: Mapped[int] = mapped_column(default=0, server_default="0")
    clv: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    category: Mapped[str] = mapped_column(String(10), default="potential")
    grade: Mapped[str] = mapped_column(String(1), default="C")
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("membership_tier.id"))
    # Read only by the nightly retention check (one scan a day); no index, which every insert
    # and every purchase would pay for (the 100,000-row import on PostgreSQL: ≈ 1 s).
    last_activity_on: Mapped[date] = mapped_column(default=lambda: local_today())
    # Churn warnings in force (CHURN_ABSENT | CHURN_FREQUENCY | CHURN_COMPLAINT), kept by
    # customer_analytics.update_churn on every purchase and rule change and by the
    # nightly job for the passage of time, and by services/complaints.py as complaints open
    # and close.
    churn_flags: Mapped[int] = mapped_column(default=0, server_default="0")
    # Complaints of this customer not yet resolved (R28: an unresolved complaint is a churn warning).
    open_complaints: Mapped[int] = mapped_column(default=0, server_default="0")
    # Loyalty (R16, models/customer_file.py): the six observed measures of the latest assessment
    # added up, and the 0-100 score with the repeat purchases counted in (customer_analytics).
    loyalty_observed: Mapped[int | None]
    loyalty_assessed_on: Mapped[date | None]
    loyalty_score: Mapped[int | None]
    # The earliest open care task (services/customer_care.py).
    next_care_on: Mapped[date | None]

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    store: Mapped[Store] = relationship()
    salesperson: Mapped["Employee | None"] = relationship(foreign_keys=[salesperson_id])  # noqa: F821
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    tier: Mapped["MembershipTier | None"] = relationship()

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def is_business(self) -> bool:
        return self.customer_type in BUSINESS_TYPES

    @property
    def is_repeat(self) -> bool:
        return self.purchase_count >= 2

    @property
    def average_order(self) -> Decimal:
        if not self.purchase_count:
            return Decimal("0")
        return (self.total_spend / self.purchase_count).quantize(Decimal("0.01"))

    @property
    def display_name(self) -> str:
        return str(_l("Anonymised customer")) if self.is_anonymised else self.name

    def __str__(self) -> str:
        # The code only: this is what the audit trail keeps as the record's label, and the
        # trail outlives the name (anonymisation erases it; see services/audit.scrub_customer).
        return self.code


class Purchase(StoreOwned, TimestampMixin, db.Model):
    """One purchase: updates the consumption record, points and analytics (R11)."""

    __table_args__ = (
        Index("ix_purchase_customer_day", "customer_id", "purchased_on"),
        Index("ix_purchase_store_day", "store_id", "purchased_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    purchased_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    items: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20), default="in_store")
    # The product line (PRODUCT_TYPES); purchases recorded before it was asked have none.
    product_type: Mapped[str | None] = mapped_column(String(20))
    points_earned: Mapped[int] = mapped_column(default=0)
    # Returns (models/loyalty.PurchaseReturn): what has been refunded so far, which the
    # customer's spend leaves out, and the points taken back for it.
    returned_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"), server_default="0")
    points_reversed: Mapped[int] = mapped_column(default=0, server_default="0")
    over_limit: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def net_amount(self) -> Decimal:
        return self.amount - (self.returned_amount or 0)

    @property
    def fully_returned(self) -> bool:
        return bool(self.returned_amount) and self.returned_amount >= self.amount


class Contact(StoreOwned, TimestampMixin, db.Model):
    """A contact or care visit (企业投入记录): when, where, how, cost, concession, outcome."""

    __table_args__ = (
        Index("ix_contact_customer_time", "customer_id", "occurred_at"),
        Index("ix_contact_store_time", "store_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    occurred_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20), default="routine")
    cost: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    concession: Mapped[str | None] = mapped_column(String(100))
    # The rest of the investment record (seed 001, 企业投入记录): products and services provided,
    # and cooperation and support (joint development, joint advertising ...).
    products_services: Mapped[str | None] = mapped_column(String(200))
    cooperation: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    # What the care task was about: a purchase, a holiday, or a birthday year.
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"), index=True)
    holiday_id: Mapped[int | None] = mapped_column(ForeignKey("care_holiday.id"))
    care_year: Mapped[int | None]
    # A points-expiry notice: the day the points it warned of lapse (services/loyalty/expiry.py).
    points_expiry_on: Mapped[date | None]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    customer: Mapped[Customer] = relationship()
    staff: Mapped[User | None] = relationship()


class CustomerSequence(db.Model):
    """The last customer number given out per store (codes are STORE-000123)."""

    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class NotDuplicate(CurrentOwner, db.Model):
    """A pair someone checked and declared to be two different people."""

    __table_args__ = (UniqueConstraint("customer_id", "other_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CareTask(CurrentOwner, db.Model):
    """One care task (R15): a return visit after a purchase, a birthday, a holiday greeting.

    Made when the reason arises (a purchase; the nightly job for birthdays and
    holidays in the look-ahead window) and done when a contact with the same
    purpose and reference is logged, so the care list is one indexed range.
    ``ref`` names the reason (``p:<purchase>``, ``b:<year>``, ``h:<holiday>``): a task
    is never made twice. ``contactable`` is the customer's consent, stored with the task so the
    care list and its "no consent: do not contact" tab are each one index range (R61);
    ``services/customer_care.sync_contactable`` keeps it when consent changes.
    """

    __table_args__ = (
        UniqueConstraint("customer_id", "ref"),
        Index("ix_care_task_due", "kind", "state", "contactable", "due_on", "id"),
        Index("ix_care_task_store_due", "store_id", "kind", "state", "contactable", "due_on", "id"),
        Index("ix_care_task_franchisee_due", "franchisee_id", "kind", "state", "contactable", "due_on", "id"),
    )
    owner_columns_indexed = False  # the store- and franchisee-led indexes above lead with them

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    kind: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date]
    # open, done (a contact was logged) or missed (long overdue, dropped by the nightly job).
    state: Mapped[str] = mapped_column(String(10), default="open")
    contactable: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"))
    holiday_id: Mapped[int | None] = mapped_column(ForeignKey("care_holiday.id"))
    care_year: Mapped[int | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))

    customer: Mapped[Customer] = relationship()
    purchase: Mapped[Purchase | None] = relationship()


class DuplicateCandidate(CurrentOwner, db.Model):
    """A likely duplicate pair, found on insert or edit and by the nightly job (R13).

    Owned by the store of ``customer_id`` (the lower id); ``strength`` orders the
    list: 0 same mobile, 1 same name and birthday, 2 near-identical name.
    """

    __table_args__ = (
        UniqueConstraint("customer_id", "other_id"),
        Index("ix_duplicate_candidate_other", "other_id"),
        Index("ix_duplicate_candidate_order", "strength", "id"),
        Index("ix_duplicate_candidate_store_order", "store_id", "strength", "id"),
        Index("ix_duplicate_candidate_franchisee_order", "franchisee_id", "strength", "id"),
    )
    owner_columns_indexed = False  # the store- and franchisee-led indexes above lead with them

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    reasons: Mapped[str] = mapped_column(String(60))
    strength: Mapped[int]
    found_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id])
    other: Mapped[Customer] = relationship(foreign_keys=[other_id])
