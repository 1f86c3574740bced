"""Deliveries and the logistics partners who make them (issue 12; seed 004, the Amazon case; R77).

A purchase that is delivered gets a ``Shipment``: the carrier (``LogisticsPartner``, a list
headquarters keeps), when it left, the day promised to the customer, when it arrived (or that it
did not), and whether the goods arrived damaged. A complaint about a delivery names its shipment.

``DeliveryMonthStats`` keeps, per partner, store and month of dispatch, the counts the delivery
KPIs are made of - arrival, on-time, damage and complaint rates per partner and period - so the
partner pages add up stored rows instead of reading every shipment. A bucket is recounted from its
shipments whenever one of them (or a complaint about one) changes; ``flask logistics rebuild``
recounts them all, and a test compares the two.
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.extensions import db
from app.models.customer import Customer, Purchase
from app.models.org import Store
from app.models.user import User

SHIPMENT_STATES = {
    "in_transit": _l("On its way"),
    "delivered": _l("Delivered"),
    "failed": _l("Not delivered"),
}
# Why a shipment did not arrive: the arrival rate's failures.
FAILURE_REASONS = {
    "refused": _l("Refused by the customer"),
    "lost": _l("Lost in transit"),
    "returned": _l("Returned to the store (address, nobody home)"),
    "cancelled": _l("Cancelled after dispatch"),
}


class LogisticsPartner(TimestampMixin, VersionedMixin, db.Model):
    """A carrier the network uses (third-party or the company's own fleet): kept by headquarters,
    chosen by the stores when they dispatch a delivery."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    service_area: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class Shipment(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """One delivery of one purchase. ``on_time`` is stored when it arrives (arrived on or before
    the promised day), so the figures count it without recomputing dates."""

    __table_args__ = (
        Index("ix_shipment_store_state", "store_id", "state", "promised_on", "id"),
        Index("ix_shipment_franchisee_state", "franchisee_id", "state", "promised_on", "id"),
        Index("ix_shipment_state_promised", "state", "promised_on", "id"),
        Index("ix_shipment_promised", "promised_on", "id"),
        Index("ix_shipment_partner_month", "partner_id", "store_id", "month"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("logistics_partner.id"))
    tracking_no: Mapped[str | None] = mapped_column(String(40))
    dispatched_at: Mapped[datetime]
    # The month of dispatch (yyyymm): the period the shipment counts in.
    month: Mapped[int]
    promised_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(12), default="in_transit")
    delivered_at: Mapped[datetime | None]
    on_time: Mapped[bool | None]
    damaged: Mapped[bool] = mapped_column(default=False)
    damage_note: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(String(12))
    # Did the carrier call before coming (the Amazon case's courtesy call)?
    called_ahead: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    purchase: Mapped[Purchase] = relationship()
    customer: Mapped[Customer] = relationship()
    partner: Mapped[LogisticsPartner] = relationship()
    store: Mapped[Store] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def state_label(self):
        return SHIPMENT_STATES.get(self.state, self.state)

    @property
    def failure_label(self):
        return FAILURE_REASONS.get(self.failure_reason, "") if self.failure_reason else ""

    def is_late(self, today: date) -> bool:
        """On its way past the promised day, or delivered after it."""
        if self.state == "in_transit":
            return today > self.promised_on
        return self.state == "delivered" and self.on_time is False


class DeliveryMonthStats(StoreOwned, db.Model):
    """The counts of one partner's deliveries for one store in one month of dispatch (and the
    franchisee that owned the store then: a store sold mid-month has two rows)."""

    __table_args__ = (
        UniqueConstraint("partner_id", "store_id", "franchisee_id", "month"),
        Index("ix_delivery_stats_month", "month", "partner_id"),
        Index("ix_delivery_stats_franchisee", "franchisee_id", "month", "partner_id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("logistics_partner.id"))
    month: Mapped[int]
    shipments: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    on_time: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)
    # Deliveries with at least one complaint about them.
    complaints: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
