"""The loyalty programme (issue 14; R10, R71; seeds 002-004): the points ledger, returns,
the redemption catalogue and what each membership tier gives its members.

Points are a ledger, not a number. Every change of a customer's points is a ``PointsEntry``
row: earned by a purchase, redeemed for a reward, adjusted by hand with a reason, expired,
reversed (a return, a cancelled redemption) or carried over (the balance found on file when
the ledger began, a merged record). ``Customer.points`` is the stored balance: the sum of the
customer's entries, which services/loyalty/ledger.py keeps and a test checks.

Entries that add points are *lots*: ``remaining`` is what is left of them, spent oldest-expiry
first, and ``expires_on`` is when what is left lapses. The open lots of a customer add up to
their balance whenever it is not negative (a return after the points were spent can leave it
below zero; the next points earned pay that back first).
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import BilingualName, CurrentOwner, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.customer import Customer, Purchase
from app.models.user import User

ENTRY_KINDS = {
    "earn": _l("Earned"),
    "redeem": _l("Redeemed"),
    "adjust": _l("Adjusted"),
    "expire": _l("Expired"),
    "reversal": _l("Reversed"),
    "opening": _l("Balance carried over"),
    "merge": _l("Merged record"),
}
REWARD_KINDS = {
    "gift": _l("Gift"),
    "coupon": _l("Coupon"),
    "service": _l("Service"),
}
REDEMPTION_STATES = {"done": _l("Redeemed"), "cancelled": _l("Cancelled")}
RETURN_REASONS = {
    "quality": _l("Quality problem"),
    "damaged": _l("Damaged in delivery"),
    "wrong_item": _l("Wrong item or size"),
    "changed_mind": _l("Changed their mind"),
    "late": _l("Delivered late"),
    "other": _l("Other"),
}


class PointsEntry(CurrentOwner, db.Model):
    """One change of a customer's points. Never edited: a mistake is corrected by a new entry."""

    __table_args__ = (
        Index("ix_points_entry_customer", "customer_id", "id"),
        # The nightly expiry and its notices read only the open lots, by date.
        Index("ix_points_entry_open_lots", "expires_on", "customer_id",
              sqlite_where=text("remaining > 0"), postgresql_where=text("remaining > 0")),
        Index("ix_points_entry_store", "store_id", "id"),
    )
    owner_columns_indexed = False  # the store-led index above; franchisee scope reads by customer

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int]
    # The customer's balance just after this entry.
    balance: Mapped[int]
    remaining: Mapped[int] = mapped_column(default=0, server_default="0")
    # What of this lot lapsed unused (a return of its purchase does not take those back again).
    lapsed: Mapped[int] = mapped_column(default=0, server_default="0")
    expires_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"), index=True)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemption.id"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_return.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return str(ENTRY_KINDS.get(self.kind, self.kind))


class PointsSpend(db.Model):
    """Which lots an entry that took points away (a redemption) spent, and how many of each: a
    cancelled redemption gives each lot's points back with that lot's own date."""

    __table_args__ = (Index("ix_points_spend_entry", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entry.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_entry.id"))
    points: Mapped[int]


class Reward(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A gift, coupon or service in headquarters' redemption catalogue (积分兑换), with its
    price in points and the stock left (None: not counted, e.g. a service)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default="gift")
    points: Mapped[int]
    stock: Mapped[int | None]
    # Only members of this tier or a higher one may redeem it (None: every member).
    min_tier_rank: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    redeemed: Mapped[int] = mapped_column(default=0, server_default="0")

    def __str__(self) -> str:
        return self.code

    @property
    def kind_label(self) -> str:
        return str(REWARD_KINDS.get(self.kind, self.kind))


class Redemption(StoreOwned, db.Model):
    """Points exchanged for a reward at the counter: the customer's balance and the reward's
    stock change in the same transaction, or neither does."""

    __table_args__ = (Index("ix_redemption_store_order", "store_id", "id"),
                      Index("ix_redemption_customer", "customer_id", "id"))
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("reward.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    points: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="done")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    customer: Mapped[Customer] = relationship()
    reward: Mapped[Reward] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def state_label(self) -> str:
        return str(REDEMPTION_STATES.get(self.state, self.state))


class PurchaseReturn(StoreOwned, db.Model):
    """Goods of a purchase brought back (seed 004: orders keep their return records): the
    amount refunded comes off the customer's spend, and the points it earned are reversed."""

    __table_args__ = (Index("ix_purchase_return_store_day", "store_id", "returned_on"),)
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    returned_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    points_reversed: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    purchase: Mapped[Purchase] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def reason_label(self) -> str:
        return str(RETURN_REASONS.get(self.reason, self.reason))
