"""Complaints (投诉处理) and the other feedback received through the same intake.

A complaint belongs to the store it is about and keeps the franchisee that owned the store
when it was received (``StoreOwned``, not ``CurrentOwner``): when a store changes hands, past
periods' statistics stay with the franchisee that handled them.

Deadlines are stored as due times (naive UTC) computed on business hours by
``services/complaint_deadlines.py``; the lists of overdue and about-to-breach complaints are
index ranges over them. The store's clock and headquarters' clock of an escalated complaint
are separate columns, so each side's delay is attributed to it.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.base import BilingualName, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.customer import Customer
from app.models.org import Store
from app.models.user import User

KINDS = {
    "complaint": _l("Complaint"),
    "suggestion": _l("Suggestion"),
    "praise": _l("Praise"),
}
SEVERITIES = {"general": _l("General"), "major": _l("Major")}
STATUSES = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "follow_up": _l("Customer follow-up"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened"),
}
OPEN_STATUSES = ("received", "acknowledged", "in_progress", "reopened")
# What the store does for each kind of problem (R24, seed 002): the remedies offered for a
# category's kind, in the order the form lists them.
REMEDY_KINDS = {
    "quality": _l("Product quality"),
    "service": _l("Service attitude"),
    "logistics": _l("Logistics and delivery"),
    "price": _l("Price"),
    "returns": _l("Returns"),
    "other": _l("Other"),
}
REMEDIES = {
    "replace": _l("Replace the product"),
    "repair": _l("Repair"),
    "refund": _l("Refund"),
    "compensation": _l("Compensation"),
    "apology": _l("Apology"),
    "staff_education": _l("Staff education"),
    "carrier": _l("Settled with the carrier"),
    "explanation": _l("Explanation to the customer"),
    "price_adjustment": _l("Price adjustment"),
    "other": _l("Other remedy"),
}
REMEDIES_BY_KIND = {
    "quality": ("replace", "repair", "refund", "compensation", "apology"),
    "service": ("staff_education", "apology", "compensation"),
    "logistics": ("carrier", "replace", "compensation", "apology"),
    "price": ("price_adjustment", "refund", "explanation"),
    "returns": ("refund", "replace", "explanation"),
    "other": ("explanation", "apology", "compensation", "other"),
}
# The handler's checklist (R27, seed 001 处理情感三步曲 and the problem-solving skills):
# stored as bits, in this order.
CHECKLIST = {
    "willing": _l("Showed willingness to serve"),
    "empathy": _l("Acknowledged the customer's feelings"),
    "responsible": _l("Took responsibility for solving it"),
    "gave_name": _l("Gave the customer their own name"),
    "understood": _l("Checked they understood the problem correctly"),
    "suggested": _l("Made suggestions for a solution"),
}
CHECKLIST_BITS = {key: 1 << n for n, key in enumerate(CHECKLIST)}
COMMUNICATION_METHODS = {
    "phone": _l("Phone"),
    "sms": _l("SMS"),
    "wechat": _l("WeChat"),
    "email": _l("E-mail"),
    "visit": _l("In person"),
}
# What each line of the timeline records.
EVENT_KINDS = {
    "created": _l("Received"),
    "status": _l("Status"),
    "communication": _l("Message with the customer"),
    "wait": _l("Waiting on the customer"),
    "resume": _l("Clock restarted"),
    "escalated": _l("Escalated to headquarters"),
    "plan": _l("Handling plan"),
    "task": _l("Task assigned"),
    "task_done": _l("Task done"),
    "hq_done": _l("Headquarters' part done"),
    "checklist": _l("Checklist"),
    "follow_up": _l("Follow-up with the customer"),
    "capa": _l("Root cause and actions"),
    "capa_verified": _l("Actions verified"),
    "alert": _l("Deadline alert"),
    "edited": _l("Details corrected"),
}
# The parts of the clock: the store's (or franchisee's) and headquarters' (joint handling).
CLOCKS = {"store": _l("Store"), "hq": _l("Headquarters")}


class ComplaintCategory(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A category of complaint that headquarters configures (产品质量, 服务态度, ...)."""

    __tablename__ = "complaint_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    # Which remedies the resolution form offers (REMEDIES_BY_KIND).
    remedy_kind: Mapped[str] = mapped_column(String(20), default="other")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def remedy_kind_label(self):
        return REMEDY_KINDS.get(self.remedy_kind, "")


class ComplaintChannel(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A way complaints arrive (phone, in store, e-mail, online, social media, ...)."""

    __tablename__ = "complaint_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    # Social media: the link to the post is asked for, as negative word of mouth is answered (R72).
    asks_link: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # The register of channels offered to customers (issue 15, R73): where customers reach it (a
    # hotline number, a web address, an account), whether it is publicised, and its periodic check
    # that it works. ``check_due_on`` is stored (the last check + the interval; the day of a failed
    # check, until it passes) so the due list is one index range.
    contact: Mapped[str | None] = mapped_column(String(200))
    publicised: Mapped[bool] = mapped_column(default=False, server_default="0")
    check_every_days: Mapped[int] = mapped_column(default=30, server_default="30")
    last_checked_on: Mapped[date | None]
    last_check_ok: Mapped[bool | None]
    last_check_note: Mapped[str | None] = mapped_column(String(300))
    check_due_on: Mapped[date | None] = mapped_column(index=True)
    reminded_on: Mapped[date | None]


class DeadlineRule(TimestampMixin, VersionedMixin, db.Model):
    """How many business hours the store has to acknowledge and to resolve a complaint of a
    severity (and, when set, a category); headquarters' part of an escalated complaint has its
    own allowance. A rule for the category wins over the severity's general rule."""

    __tablename__ = "complaint_deadline_rule"
    __table_args__ = (UniqueConstraint("severity", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_category.id"))
    acknowledge_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    resolve_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    hq_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("40"))

    category: Mapped[ComplaintCategory | None] = relationship()


ESCALATION_STAGES = {"acknowledge": _l("Not acknowledged in time"), "resolve": _l("Not resolved in time")}
ESCALATION_ROLES = {
    "franchise_owner": _l("Franchise owner"),
    "hq_supervisor": _l("Regional supervisor"),
    "hq_auditor": _l("Headquarters' customer-experience department"),
}


class EscalationLevel(TimestampMixin, VersionedMixin, db.Model):
    """Who is told when a complaint is late: at ``after_hours`` business hours past the due time
    of the stage, the level's role is notified (the franchise owner, then the regional
    supervisor, then headquarters)."""

    __tablename__ = "complaint_escalation_level"
    __table_args__ = (UniqueConstraint("stage", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(12))
    level: Mapped[int]
    role: Mapped[str] = mapped_column(String(20))
    after_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    @property
    def role_label(self):
        return ESCALATION_ROLES.get(self.role, self.role)

    @property
    def stage_label(self):
        return ESCALATION_STAGES.get(self.stage, self.stage)


class ComplaintThreshold(TimestampMixin, VersionedMixin, db.Model):
    """A warning against a franchisee: ``count`` complaints or more received in its stores within
    ``months`` calendar months (this one and those before), e.g. 6 in 6 months."""

    __tablename__ = "complaint_threshold"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int]
    months: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class ThresholdNotice(db.Model):
    """Bookkeeping of the periodic job: a franchisee's owner and headquarters were told about a
    threshold in a month (once). Not shown anywhere; the warnings on pages are computed."""

    __tablename__ = "complaint_threshold_notice"
    __table_args__ = (UniqueConstraint("franchisee_id", "threshold_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"))
    threshold_id: Mapped[int] = mapped_column(ForeignKey("complaint_threshold.id", ondelete="CASCADE"))
    month: Mapped[int]
    count: Mapped[int]


class CalendarDay(db.Model):
    """Headquarters' holiday calendar: a day closed although normally a working day (法定节假日),
    or a working day although normally closed (调休). ``stores_closed`` says the stores close too
    (most stay open on public holidays; the store clock then keeps running)."""

    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # closed | workday
    name: Mapped[str] = mapped_column(String(40))
    stores_closed: Mapped[bool] = mapped_column(default=False)


class Complaint(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """One complaint, suggestion or praise, from intake to closing."""

    # The queue is one index range per store or franchisee (the scope), in due order; the
    # network's overdue list one range over the due times of open complaints.
    __table_args__ = (
        Index("ix_complaint_store_state_due", "store_id", "is_open", "resolve_due_at", "id"),
        Index("ix_complaint_franchisee_state_due", "franchisee_id", "is_open", "resolve_due_at", "id"),
        Index("ix_complaint_state_due", "is_open", "resolve_due_at", "id"),
        # The complaints an employee resolved in a period (the appraisal's proposal, issue 11).
        Index("ix_complaint_handler_resolved", "handler_id", "resolved_at"),
        Index("ix_complaint_received", "received_at", "id"),
        Index("ix_complaint_store_received", "store_id", "received_at", "id"),
        Index("ix_complaint_hq", "escalated", "is_open", "hq_due_at", "id"),
        Index("ix_complaint_customer", "customer_id", "received_at"),
        Index("ix_complaint_contact_phone", "contact_phone"),
        # Headquarters' feedback screening (issue 15): suggestions and praise by state, newest first.
        Index("ix_complaint_feedback", "feedback_state", "received_at", "id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    # The reference the customer is given (TS + date + number), unique across the network.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="complaint")
    channel_id: Mapped[int] = mapped_column(ForeignKey("complaint_channel.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_category.id"))
    severity: Mapped[str] = mapped_column(String(10), default="general")
    # Involves several departments: handled jointly by headquarters like a major one (R20).
    multi_department: Mapped[bool] = mapped_column(default=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    # A complaint about a delivery names it: the partner's delivery-complaint rate counts these.
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    social_url: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Filed by the customer on the store's public page (then received_by is empty).
    public: Mapped[bool] = mapped_column(default=False)
    # When the customer agreed to the privacy notice of the public page (R61).
    privacy_consent_at: Mapped[datetime | None]
    privacy_policy_number: Mapped[int | None]  # the privacy policy's version shown (issue 15)
    # The customer's private progress link: only its SHA-256 is kept (the link is shown once).
    progress_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # The public form's stamp (hashed), so a replayed form is recognised instead of filed twice.
    public_submission: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    status: Mapped[str] = mapped_column(String(20), default="received")
    is_open: Mapped[bool] = mapped_column(default=True)
    # The store's clock: acknowledge and resolve by these (business hours; pauses push them).
    acknowledge_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Waiting on the customer (a document, a visit): the clocks stand still since then.
    waiting_since: Mapped[datetime | None]
    waiting_reason: Mapped[str | None] = mapped_column(String(200))
    # Business time (seconds) within the allowance when resolved: stored for the statistics.
    resolved_in_time: Mapped[bool | None]
    acknowledged_in_time: Mapped[bool | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    # How far the escalation of a late complaint went on each clock (0 none; the levels of
    # EscalationLevel: 1 franchise owner, 2 regional supervisor, 3 headquarters).
    ack_alert_level: Mapped[int] = mapped_column(default=0, server_default="0")
    alert_level: Mapped[int] = mapped_column(default=0)
    hq_alerted_at: Mapped[datetime | None]

    # Headquarters' part (joint handling of major and multi-department complaints, R21).
    escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str | None] = mapped_column(String(300))
    hq_due_at: Mapped[datetime | None]
    hq_plan: Mapped[str | None] = mapped_column(Text)
    hq_done_at: Mapped[datetime | None]

    checklist: Mapped[int] = mapped_column(default=0)

    # Resolution and remedy (R24).
    resolution: Mapped[str | None] = mapped_column(Text)
    remedies: Mapped[str | None] = mapped_column(String(200))  # comma-separated REMEDIES codes
    compensation: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    carrier: Mapped[str | None] = mapped_column(String(60))
    carrier_part: Mapped[str | None] = mapped_column(String(300))
    # Root cause and CAPA: required to close a major complaint.
    root_cause: Mapped[str | None] = mapped_column(Text)
    corrective_action: Mapped[str | None] = mapped_column(Text)
    preventive_action: Mapped[str | None] = mapped_column(Text)
    capa_owner: Mapped[str | None] = mapped_column(String(60))
    capa_due_on: Mapped[date | None]
    capa_verified_at: Mapped[datetime | None]
    capa_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    capa_verification: Mapped[str | None] = mapped_column(String(500))

    # The feedback-to-improvement cycle (seed 003, issue 15): headquarters classifies each
    # suggestion and praise (positive or negative, its topic: ``category_id``, its impact) and
    # screens the high-impact ones into improvement projects. ``feedback_state`` is empty for a
    # complaint (its CAPA leads to a project instead), else new → classified → in_project | no_action.
    feedback_state: Mapped[str | None] = mapped_column(String(12))
    sentiment: Mapped[str | None] = mapped_column(String(8))
    impact: Mapped[str | None] = mapped_column(String(8))
    classified_at: Mapped[datetime | None]
    # (No foreign key: adding one rebuilds the complaint table on SQLite, every row of the network.)
    classified_by_id: Mapped[int | None]

    # Follow-up with the customer after resolution (R25): 1 very dissatisfied … 5 very satisfied.
    follow_up_score: Mapped[int | None]
    follow_up_note: Mapped[str | None] = mapped_column(String(500))
    followed_up_at: Mapped[datetime | None]

    store: Mapped[Store] = relationship()
    customer: Mapped[Customer | None] = relationship()
    channel: Mapped[ComplaintChannel] = relationship()
    category: Mapped[ComplaintCategory | None] = relationship()
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    capa_verified_by: Mapped[User | None] = relationship(foreign_keys=[capa_verified_by_id])
    events: Mapped[list["ComplaintEvent"]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.at, ComplaintEvent.id")
    tasks: Mapped[list["ComplaintTask"]] = relationship(back_populates="complaint", order_by="ComplaintTask.id")
    attachments: Mapped[list["ComplaintAttachment"]] = relationship(order_by="ComplaintAttachment.id")

    def __str__(self) -> str:
        return self.reference

    @property
    def status_label(self):
        return STATUSES[self.status]

    @validates("kind")
    def _kind_sets_feedback_state(self, key, kind):
        """A suggestion or praise waits for headquarters' classification; a complaint does not."""
        if kind in ("suggestion", "praise") and self.feedback_state is None:
            self.feedback_state = "new"
        elif kind == "complaint" and self.feedback_state == "new":
            self.feedback_state = None
        return kind

    @property
    def kind_label(self):
        return KINDS[self.kind]

    @property
    def severity_label(self):
        return SEVERITIES[self.severity]

    @property
    def is_complaint(self) -> bool:
        return self.kind == "complaint"

    @property
    def remedy_codes(self) -> list[str]:
        return [code for code in (self.remedies or "").split(",") if code in REMEDIES]

    def checked(self, item: str) -> bool:
        return bool(self.checklist & CHECKLIST_BITS[item])

    def is_overdue(self, now: datetime) -> bool:
        """Late on either promise: the resolution, or the first answer not given in time."""
        if not self.is_open or self.waiting_since is not None:
            return False
        return ((self.resolve_due_at is not None and self.resolve_due_at < now)
                or (self.acknowledged_at is None and self.acknowledge_due_at is not None and self.acknowledge_due_at < now))

    def hq_overdue(self, now: datetime) -> bool:
        return (self.escalated and self.hq_done_at is None and self.waiting_since is None
                and self.hq_due_at is not None and self.hq_due_at < now)


class ComplaintEvent(StoreOwned, db.Model):
    """One line of a complaint's timeline: who did what and when, and every message to or
    from the customer (R22)."""

    __tablename__ = "complaint_event"
    __table_args__ = (Index("ix_complaint_event_complaint", "complaint_id", "at"),)
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # created, status, communication, note, wait, resume, escalated, plan, task, task_done,
    # checklist, resolution, follow_up, capa_verified, reopened, alert, edited
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(12))  # how the customer was contacted
    note: Mapped[str | None] = mapped_column(Text)
    # Shown on the customer's progress page (status changes and messages to the customer).
    public: Mapped[bool] = mapped_column(default=False)
    # What the portal itself says about the step, as values (hours paused, the score, the
    # department, the remedies): worded in the reader's language when shown, never stored as text.
    data: Mapped[dict | None] = mapped_column(JSON)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class ComplaintTask(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """A task of the joint handling plan (R21), for a headquarters department or for the
    franchisee; each department's members work through their queue of these."""

    __tablename__ = "complaint_task"
    __table_args__ = (
        Index("ix_complaint_task_department", "department", "done_at", "due_on", "id"),
        Index("ix_complaint_task_complaint", "complaint_id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    # A department code (models/user.DEPARTMENTS), or "franchisee" for the store's owner.
    department: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="tasks")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])



class ComplaintAttachment(StoreOwned, db.Model):
    """A photo or document on a complaint. The file is in ATTACHMENT_DIR under a random name;
    photos are stored re-encoded, without their metadata (location, camera, owner)."""

    __tablename__ = "complaint_attachment"
    __table_args__ = (Index("ix_complaint_attachment_complaint", "complaint_id"),)
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    filename: Mapped[str] = mapped_column(String(120))
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
