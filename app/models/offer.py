"""Coupons and time-limited offers (issue 14; R71; seed 003: 优惠券、限时折扣 per tier).

An ``Offer`` is headquarters' (for the network) or one franchisee's (for its stores): what it
gives, from when to when, in which stores (none named: all of its owner's), for which tiers
and from what spend. Issuing it makes one ``Coupon`` per customer, only for customers who
agreed to be contacted (R61); a coupon is used once, with a purchase, within the offer's dates,
in a store the offer names.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, FranchiseeShared, TimestampMixin, VersionedMixin, utcnow
from app.models.customer import Purchase
from app.models.org import Store

OFFER_KINDS = {
    "amount": _l("Amount off"),
    "percent": _l("Percentage off"),
    "gift": _l("Gift with the purchase"),
}
COUPON_STATES = {"issued": _l("Not used yet"), "used": _l("Used"), "void": _l("Withdrawn")}

offer_store = Table(
    "offer_store", db.Model.metadata,
    Column("offer_id", ForeignKey("offer.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("store.id"), primary_key=True),
)


class Offer(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique among its owner's offers (services/loyalty/offers.py): a franchisee cannot learn of
    # another's offers by trying their codes.
    code: Mapped[str] = mapped_column(String(20), index=True)
    title_zh: Mapped[str] = mapped_column(String(60))
    title_en: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default="amount")
    # Yuan off (amount), per cent off (percent); a gift is named in the title.
    value: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    min_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Only members of this tier or a higher one receive it (None: every member).
    min_tier_rank: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    stores: Mapped[list[Store]] = relationship(secondary=offer_store, order_by=Store.code)

    def __str__(self) -> str:
        return self.code

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh

    @property
    def kind_label(self) -> str:
        return str(OFFER_KINDS.get(self.kind, self.kind))

    def valid_on(self, day: date) -> bool:
        return self.active and self.starts_on <= day <= self.ends_on

    def valid_in(self, store_id: int) -> bool:
        return not self.stores or any(s.id == store_id for s in self.stores)


class Coupon(CurrentOwner, db.Model):
    """One customer's coupon of an offer: issued once per customer, used once."""

    __table_args__ = (
        UniqueConstraint("offer_id", "customer_id"),
        Index("ix_coupon_offer_state", "offer_id", "state"),
        Index("ix_coupon_customer", "customer_id", "state"),
        Index("ix_coupon_store", "store_id", "offer_id"),
        Index("ix_coupon_franchisee", "franchisee_id", "offer_id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offer.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    state: Mapped[str] = mapped_column(String(10), default="issued")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    used_at: Mapped[datetime | None]
    used_store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"))

    offer: Mapped[Offer] = relationship()

    @property
    def state_label(self) -> str:
        return str(COUPON_STATES.get(self.state, self.state))


# The coupon used with a purchase, for the customer's timeline: loaded with the purchases (one
# statement), never written through (the coupon names its purchase).
Purchase.coupon = relationship(Coupon, primaryjoin=lambda: Coupon.purchase_id == Purchase.id, viewonly=True,
                               uselist=False)
