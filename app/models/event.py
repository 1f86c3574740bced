"""Member events and customer clubs (issue 14; R70, R75; seed 003 4.3 会员活动策划, seed 002).

A ``MemberEvent`` is headquarters' (the network's) or one franchisee's, held in one of its stores
or elsewhere: a regular member day (weekly or monthly), a themed event for a holiday or a product
launch (with lotteries, contests and gifts), a club meeting, or a session in which customers help
design and improve products (R75). Customers are invited with the customer list's filters
(consenting customers only, R61); the sign-in sheet records who came, walk-ins included, and
each attendee's feedback; the event's own review (what worked, what to improve) closes it.

A ``Club`` (客户俱乐部) keeps long-term relationships with a group of customers (R70): its members
and the events held for it.
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, FranchiseeShared, TimestampMixin, VersionedMixin, utcnow
from app.models.customer import Customer
from app.models.org import Store

EVENT_KINDS = {
    "member_day": _l("Member day (weekly or monthly)"),
    "holiday": _l("Holiday event"),
    "launch": _l("Product launch"),
    "design": _l("Product design and improvement session"),
    "club": _l("Club meeting"),
}
EVENT_ACTIVITIES = {"lottery": _l("Lottery"), "contest": _l("Contest"), "gift": _l("Gifts"),
                    "talk": _l("Talk or demonstration")}


class Club(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(300))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    active: Mapped[bool] = mapped_column(default=True)
    members_count: Mapped[int] = mapped_column(default=0, server_default="0")

    store: Mapped[Store | None] = relationship()

    def __str__(self) -> str:
        return self.name


class ClubMember(CurrentOwner, db.Model):
    __table_args__ = (UniqueConstraint("club_id", "customer_id"), Index("ix_club_member_club", "club_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("club.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    joined_on: Mapped[date]

    customer: Mapped[Customer] = relationship()


class MemberEvent(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    __table_args__ = (Index("ix_member_event_starts", "starts_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12), default="member_day")
    theme: Mapped[str | None] = mapped_column(String(100))
    # Comma-separated EVENT_ACTIVITIES keys.
    activities: Mapped[str | None] = mapped_column(String(60))
    starts_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(100))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    club_id: Mapped[int | None] = mapped_column(ForeignKey("club.id"))
    description: Mapped[str | None] = mapped_column(Text)
    # The event's own review afterwards (seed 003: 活动结束后收集反馈，了解活动效果).
    review: Mapped[str | None] = mapped_column(Text)
    invited: Mapped[int] = mapped_column(default=0, server_default="0")
    attended: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    store: Mapped[Store | None] = relationship()
    club: Mapped[Club | None] = relationship()

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        return str(EVENT_KINDS.get(self.kind, self.kind))

    @property
    def activity_labels(self) -> list[str]:
        return [str(EVENT_ACTIVITIES[a]) for a in (self.activities or "").split(",") if a in EVENT_ACTIVITIES]


class EventGuest(CurrentOwner, db.Model):
    """A customer invited to an event (or who walked in): whether they came, and what they said."""

    __table_args__ = (UniqueConstraint("event_id", "customer_id"), Index("ix_event_guest_event", "event_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("member_event.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    invited_at: Mapped[datetime | None]
    signed_in_at: Mapped[datetime | None]
    # 1 (poor) to 5 (excellent), and what they said, collected after the event.
    rating: Mapped[int | None]
    feedback: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()
