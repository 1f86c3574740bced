"""Rules headquarters sets for every customer file: grading, tiers, churn, care, retention."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import BilingualName, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.user import User


class CustomerRules(TimestampMixin, VersionedMixin, db.Model):
    """The one row of network-wide thresholds (id 1); see services/customer_analytics.py."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Category (R8): VIP by yearly spend or purchases a year, with at least this many product
    # types bought, unless lapsed; no purchase = potential (services/customer_analytics.py).
    vip_min_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("30000"))
    vip_min_orders: Mapped[int] = mapped_column(default=8)
    vip_min_product_types: Mapped[int] = mapped_column(default=2, server_default="2")
    # Grade (R9) from lifetime value: the present value of the customer's expected future margin.
    grade_a_min_clv: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("8000"))
    grade_b_min_clv: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("2000"))
    gross_margin_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("30"), server_default="30")
    discount_rate_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("10"), server_default="10")
    points_per_yuan: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    # Points lapse this many months after the month they were earned in (0 = never); consenting
    # customers are reminded this many days before (services/loyalty/expiry.py).
    points_valid_months: Mapped[int] = mapped_column(default=24, server_default="24")
    points_notice_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Churn (R50): absent for factor x own usual interval (at least min days) ...
    churn_interval_factor: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("2.0"))
    churn_min_days: Mapped[int] = mapped_column(default=30)
    # ... or, with only one purchase so far, for this many days;
    churn_single_purchase_days: Mapped[int] = mapped_column(default=180)
    # ... or purchases in the last window fell by this % against the window before.
    freq_window_days: Mapped[int] = mapped_column(default=180)
    freq_drop_pct: Mapped[int] = mapped_column(default=50)
    freq_min_previous: Mapped[int] = mapped_column(default=3)
    # Care (R15).
    return_visit_after_days: Mapped[int] = mapped_column(default=3)
    # Proactive and partnership customers hear from the store again this long after a purchase.
    follow_up_after_days: Mapped[int] = mapped_column(default=90, server_default="90")
    care_lookahead_days: Mapped[int] = mapped_column(default=14)
    # Privacy: customers with no activity for this long are anonymised.
    retention_years: Mapped[int] = mapped_column(default=3)
    # Uploaded import files and their error reports (they hold personal data) are deleted
    # this many days after the upload by the nightly job.
    import_retention_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # A change of rules or tiers asks for every customer to be re-graded; a background job
    # (services/network_jobs.regrade) does it store by store and records the request it served.
    regrade_requested_at: Mapped[datetime | None]
    regraded_at: Mapped[datetime | None]

    @property
    def regrade_pending(self) -> bool:
        return self.regrade_requested_at is not None and (
            self.regraded_at is None or self.regraded_at < self.regrade_requested_at)


class MembershipTier(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A membership tier (R10): reached by lifetime spend, purchases or points (any one), and kept
    only while the customer is active: a last purchase within ``active_within_days`` (0 = no
    activity needed, the entry tier). Conditions rise with rank (views_rules checks it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(unique=True)
    name_zh: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(30))
    min_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    min_orders: Mapped[int] = mapped_column(default=0)
    min_points: Mapped[int] = mapped_column(default=0)
    active_within_days: Mapped[int] = mapped_column(default=0, server_default="0")
    # Privileges (特权, seed 003): what members of the tier get, shown on the customer's page and
    # where staff record a purchase. The points multiplier applies to every purchase they make.
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("0"), server_default="0")
    points_multiplier: Mapped[Decimal] = mapped_column(Numeric(3, 1), default=Decimal("1"), server_default="1")
    free_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    priority_service: Mapped[bool] = mapped_column(default=False, server_default=false())
    birthday_gift: Mapped[bool] = mapped_column(default=False, server_default=false())
    extra_zh: Mapped[str | None] = mapped_column(String(200))
    extra_en: Mapped[str | None] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.name_zh


class CareHoliday(BilingualName, TimestampMixin, db.Model):
    """A holiday on which stores send greetings to their important customers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[date] = mapped_column(unique=True)
    name_zh: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(30))



class CustomerImport(StoreOwned, db.Model):
    """An uploaded customer file: checked in the background, then imported all or nothing.

    ``store_id`` is the default store for rows without a store code; the scope
    of ``created_by`` limits which stores the rows may name.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(200))
    stored_as: Mapped[str] = mapped_column(String(100))
    file_kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int]
    encoding: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="validating")
    total_rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    # What to do with rows whose customer code already exists in the store: "refuse" (a problem,
    # nothing is imported), "skip" them, or "update" them (filled cells replace, empty ones keep).
    existing: Mapped[str] = mapped_column(String(10), default="refuse", server_default="refuse")
    # What the file holds: "customers" (master records) or "purchases" (purchase history).
    kind: Mapped[str] = mapped_column(String(10), default="customers", server_default="customers")
    updated_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    skipped_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    # The first errors, [row, column, message]; the full list is a download.
    errors: Mapped[list | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(String(300))
    seconds: Mapped[float | None]
    peak_memory_mb: Mapped[float | None]
    finished_at: Mapped[datetime | None]
    # When the nightly job deleted the uploaded file and its error report (rules.import_retention_days).
    files_deleted_at: Mapped[datetime | None]
    # Set while the job waits in line for its step to start (IMPORT_MAX_RUNNING at once).
    queued_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship()

    def __str__(self) -> str:
        return f"#{self.id}"  # the trail's label; the file name is in the event's details
