"""Relationships with customers (issue 14): lost customers and lost orders (R69; seed 002 6.3),
and the periodic review of important relationships with their owners at several levels (R70).

- ``LostReason``: headquarters' list of why customers are lost and orders do not close.
- ``CustomerLoss``: a churned customer marked lost, with the reason; closed ("won back") when
  the customer buys again. The analysis counts them per store, reason and period.
- ``LostOrder``: a quote or order that did not close (损失的订单), with its amount and reason.
- ``CustomerRelationship``: for VIP and business customers, who owns the relationship at each
  level (sales staff, technician, store manager, headquarters manager) and when it is next
  reviewed; ``RelationshipReview`` is each review's record of status and quality.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import BilingualName, CurrentOwner, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.customer import Customer
from app.models.user import User

REASON_KINDS = {"customer": _l("Lost customers"), "order": _l("Lost orders"), "both": _l("Both")}
RELATIONSHIP_STATUSES = {
    "growing": _l("Growing"),
    "stable": _l("Stable"),
    "weakening": _l("Weakening"),
    "at_risk": _l("At risk"),
}
REVIEW_EVERY = {90: _l("Every quarter"), 180: _l("Every half-year"), 365: _l("Every year")}


class LostReason(BilingualName, TimestampMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default="both")
    rank: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.code


class CustomerLoss(CurrentOwner, db.Model):
    __table_args__ = (
        Index("ix_customer_loss_customer", "customer_id", "id"),
        Index("ix_customer_loss_store_day", "store_id", "lost_on"),
        Index("ix_customer_loss_franchisee_day", "franchisee_id", "lost_on"),
        Index("ix_customer_loss_day", "lost_on"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    lost_on: Mapped[date]
    reason_id: Mapped[int] = mapped_column(ForeignKey("lost_reason.id"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the customer bought again (the purchase that won them back).
    won_back_on: Mapped[date | None]

    customer: Mapped[Customer] = relationship()
    reason: Mapped[LostReason] = relationship()
    created_by: Mapped[User | None] = relationship()


class LostOrder(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    __table_args__ = (Index("ix_lost_order_store_day", "store_id", "lost_on"),
                      Index("ix_lost_order_day", "lost_on"))
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    lost_on: Mapped[date]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    items: Mapped[str] = mapped_column(String(200))
    reason_id: Mapped[int] = mapped_column(ForeignKey("lost_reason.id"))
    competitor: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    customer: Mapped[Customer | None] = relationship()
    reason: Mapped[LostReason] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"#{self.id}"


class CustomerRelationship(CurrentOwner, VersionedMixin, db.Model):
    """Who owns the relationship with one important customer, and when it is next reviewed."""

    __table_args__ = (
        UniqueConstraint("customer_id"),
        Index("ix_customer_relationship_due", "next_review_on", "id"),
        Index("ix_customer_relationship_store_due", "store_id", "next_review_on", "id"),
        Index("ix_customer_relationship_franchisee_due", "franchisee_id", "next_review_on", "id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    # Owners at four levels: the salesperson and technician (store employees, with or without a
    # login), the store manager and a headquarters manager (portal users).
    sales_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hq_manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_every_days: Mapped[int] = mapped_column(default=180)
    next_review_on: Mapped[date]
    last_review_on: Mapped[date | None]
    status: Mapped[str | None] = mapped_column(String(10))
    quality: Mapped[int | None]

    customer: Mapped[Customer] = relationship()
    sales: Mapped["Employee | None"] = relationship(foreign_keys=[sales_id])  # noqa: F821
    technician: Mapped["Employee | None"] = relationship(foreign_keys=[technician_id])  # noqa: F821
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    hq_manager: Mapped[User | None] = relationship(foreign_keys=[hq_manager_id])

    @property
    def status_label(self) -> str:
        return str(RELATIONSHIP_STATUSES.get(self.status, "")) if self.status else ""


class RelationshipReview(CurrentOwner, db.Model):
    __table_args__ = (Index("ix_relationship_review_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    reviewed_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10))
    # Quality of the relationship, 1 (poor) to 5 (excellent): trust, contact, satisfaction.
    quality: Mapped[int]
    findings: Mapped[str] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(RELATIONSHIP_STATUSES.get(self.status, self.status))
