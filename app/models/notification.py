"""Notifications: what a user is told in the portal, and its deliveries by e-mail and to the
WeCom (企业微信) and DingTalk (钉钉) group robots.

A notification is written in the same transaction as the change it reports, so the user's
action never waits on a mail server; ``services/notifications.deliver_due`` sends the
deliveries afterwards (the periodic job), retrying failures with a growing delay. Without SMTP
or a webhook configured (development), deliveries go to the outbox, read on a portal page.
"""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

CHANNELS = {
    "email": _l("E-mail"),
    "wecom": _l("WeCom group robot"),
    "dingtalk": _l("DingTalk group robot"),
    "outbox": _l("Outbox (development)"),
}
ROBOTS = "group-robots"  # the outbox's addressee of a group robot message
DELIVERY_STATES = {"pending": _l("Waiting to be sent"), "sent": _l("Sent"), "failed": _l("Failed, given up")}


class Notification(db.Model):
    """One message to one user, shown in the portal until read."""

    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    # The message's values (reference, store, hours late ...): worded in the reader's language
    # when shown (services/notifications.text); title and body are the wording in the
    # recipient's language when it was written, for the e-mail and for kinds no longer known.
    data: Mapped[dict | None] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None]


LINK_PLACEHOLDER = "{survey_link}"


class Delivery(db.Model):
    """Sending one notification by one channel (or one robot message for a group)."""

    __table_args__ = (Index("ix_delivery_due", "state", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(254))  # an e-mail address, or the robot's name
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    # A survey invitation e-mailed to a customer (issue 12, R44/R46): the text holds LINK_PLACEHOLDER,
    # replaced by the personal link only when the mail is sent, so the link (which answers the
    # survey in the customer's name) is never stored or shown on the outbox page.
    survey_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitation.id", ondelete="CASCADE"), index=True)

    notification: Mapped[Notification | None] = relationship()

    @property
    def channel_label(self):
        return CHANNELS.get(self.channel, self.channel)

    @property
    def target_label(self):
        """The addressee: an e-mail address, or (outbox) the group robots."""
        return _l("Group robots") if self.target == ROBOTS else self.target

    @property
    def state_label(self):
        return DELIVERY_STATES.get(self.state, self.state)
