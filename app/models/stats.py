"""Roll-ups per store: what dashboards and rankings read instead of counting millions of rows.

Both tables are derived. ``services/rollups.py`` recomputes one store's row
(or one store-month) from indexed source rows whenever its data changes, and
the nightly job recomputes all of them for the passage of time. They are
StoreOwned, so the tenant scope filters them like the records they count.
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, UniqueConstraint
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
