"""Roll-ups per store: what dashboards and rankings read instead of counting millions of rows.

Both tables are derived. ``services/rollups.py`` recomputes one store's row
(or one store-month) from indexed source rows whenever its data changes, and
the nightly job recomputes all of them for the passage of time. They are
StoreOwned, so the tenant scope filters them like the records they count.
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, StoreOwned, utcnow
from app.models.org import Store


class StoreStats(CurrentOwner, db.Model):
    """One store's figures today: customers, VIPs, churn warnings, care due, purchases, spend."""

    __table_args__ = (UniqueConstraint("store_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(default=0)
    vip: Mapped[int] = mapped_column(default=0)
    churn_warnings: Mapped[int] = mapped_column(default=0)
    care_due: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    purchases: Mapped[int] = mapped_column(default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    # Customers with a loyalty score, and the scores added up (the store's average loyalty).
    loyalty_customers: Mapped[int] = mapped_column(default=0, server_default="0")
    loyalty_total: Mapped[int] = mapped_column(default=0, server_default="0")
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)

    store: Mapped[Store] = relationship()

    @property
    def loyalty_average(self) -> float | None:
        return self.loyalty_total / self.loyalty_customers if self.loyalty_customers else None


class StoreMonthStats(StoreOwned, db.Model):
    """One store's activity in one calendar month (``month`` is yyyymm)."""

    __table_args__ = (UniqueConstraint("store_id", "month"), Index("ix_store_month_stats_month", "month"))

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int]
    purchases: Mapped[int] = mapped_column(default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    new_customers: Mapped[int] = mapped_column(default=0)
    contacts: Mapped[int] = mapped_column(default=0)

    store: Mapped[Store] = relationship()


class ComplaintMonthStats(StoreOwned, db.Model):
    """Complaints received in one store in one month (yyyymm, the store's local date), by the
    franchisee that owned the store then: what the statistics page adds up. Kept by
    ``services/complaints/stats.py`` whenever a complaint changes (the store-month's rows are
    recomputed from its complaints before the transaction commits).

    Three kinds of row (``dimension``): the store-month's totals (``value_id`` 0), and the same
    split by category and by channel (``value_id`` the category's or channel's id; 0: a complaint
    without a category). A network-wide year is then 12,000 total rows to add up for the stores,
    franchisees, months and thresholds, not every category-channel combination (140,000 rows and
    600 ms on the large dataset when they were one table). Figures are by month received: of the
    complaints received in March, how many were answered in time, how long they took, how many
    were reopened, how satisfied their customers were. Suggestions and praise are counted on the
    total rows only, apart from complaints."""

    __tablename__ = "complaint_month_stats"
    __table_args__ = (
        # A store's (or a few stores') rows: store, then the kind of row, then the months. Without
        # it leading, SQLite walked the network's rows of the months for one store (51 ms).
        UniqueConstraint("store_id", "dimension", "month", "franchisee_id", "value_id"),
        Index("ix_complaint_month_stats_dimension_month", "dimension", "month"),
        Index("ix_complaint_month_stats_franchisee", "franchisee_id", "dimension", "month"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int]
    dimension: Mapped[str] = mapped_column(String(8))  # total | category | channel
    value_id: Mapped[int] = mapped_column(default=0)
    received: Mapped[int] = mapped_column(default=0)
    major: Mapped[int] = mapped_column(default=0)
    escalated: Mapped[int] = mapped_column(default=0)
    acknowledged: Mapped[int] = mapped_column(default=0)
    acknowledged_in_time: Mapped[int] = mapped_column(default=0)
    first_response_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolved_in_time: Mapped[int] = mapped_column(default=0)
    resolution_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    followed_up: Mapped[int] = mapped_column(default=0)
    follow_up_score: Mapped[int] = mapped_column(default=0)
    open_now: Mapped[int] = mapped_column(default=0)
    suggestions: Mapped[int] = mapped_column(default=0)
    praise: Mapped[int] = mapped_column(default=0)
