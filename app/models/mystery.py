"""Key touchpoints, audit templates and mystery-shopper audits (神秘顾客稽核, issue 10; R29-R34).

Headquarters keeps the register of key touchpoints (关键接触点) and their service standards,
with a date of next review (R29, R34). Audit templates are built from them: a section per
touchpoint, weighted items under it (R30). A template that completed audits used is never
edited in place: changing it makes a new version (``AuditTemplate.family`` and ``number``), so
an old audit is always scored by the items it was conducted with.

A store audit belongs to the store visited and keeps the franchisee that owned it at the visit
(``StoreOwned``, not ``CurrentOwner``). Until headquarters publishes it, an audit and all its
parts are invisible to the franchisee; a mystery shopper sees only the audits assigned to them.
Both rules are loader criteria of the tenant scope (app/security/tenancy.py), not view checks.

The score (R32) and the section scores are stored when answers are saved
(``services/audits/scoring.py``); lists and rankings never recompute them.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import BilingualName, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.org import Store
from app.models.user import User

STAGES = {
    "before": _l("Before the purchase"),
    "during": _l("During the purchase"),
    "after": _l("After the purchase"),
}
SCORINGS = {
    "yes_no": _l("Yes / no"),
    "scale": _l("0 to 5"),
}
# What a failed critical item does to the audit (a template setting).
CRITICAL_RULES = {
    "cap": _l("Caps the score"),
    "fail": _l("Fails the audit (score 0)"),
}
TEMPLATE_STATUSES = {
    "draft": _l("Draft"),
    "active": _l("In use"),
    "retired": _l("Retired"),
}
AUDIT_STATUSES = {
    "planned": _l("Planned"),
    "in_progress": _l("Being conducted"),
    "submitted": _l("Submitted, not published"),
    "published": _l("Published"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}
# Statuses the franchisee may see (the rest are headquarters' working states).
PUBLISHED_STATUSES = ("published", "closed")
ACTION_STATUSES = {
    "open": _l("To be corrected"),
    "answered": _l("Answered, to verify"),
    "accepted": _l("Accepted"),
    "returned": _l("Sent back"),
    "withdrawn": _l("Withdrawn on appeal"),
}
OPEN_ACTION_STATUSES = ("open", "answered", "returned")
# The franchisee's turn: what can be overdue (an answered action waits for headquarters).
TO_CORRECT_STATUSES = ("open", "returned")
APPEAL_STATUSES = {
    "pending": _l("Appeal pending"),
    "upheld": _l("Finding upheld"),
    "granted": _l("Re-scored"),
}


class Touchpoint(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A key touchpoint and its service standard (R29): specific, clear, measurable, reviewed
    periodically by its responsible department (R34)."""

    __tablename__ = "touchpoint"
    __table_args__ = (Index("ix_touchpoint_review", "active", "next_review_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    stage: Mapped[str] = mapped_column(String(10))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    standard: Mapped[str] = mapped_column(Text)  # 服务标准和操作规范
    criteria: Mapped[str] = mapped_column(Text)  # how it is measured (可衡量)
    # The same in English for English readers (empty: the Chinese is shown).
    standard_en: Mapped[str | None] = mapped_column(Text)
    criteria_en: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(30))  # models/user.DEPARTMENTS
    next_review_on: Mapped[date]
    reviewed_on: Mapped[date | None]
    review_notified_on: Mapped[date | None]
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def standard_text(self, locale: str) -> str:
        return (self.standard_en or self.standard) if locale == "en" else self.standard

    def criteria_text(self, locale: str) -> str:
        return (self.criteria_en or self.criteria) if locale == "en" else self.criteria


class AuditTemplate(TimestampMixin, VersionedMixin, db.Model):
    """One version of an audit template. ``family`` groups the versions; at most one version of
    a family is in use (``active``) at a time, and a version completed audits used is frozen."""

    __tablename__ = "audit_template"
    __table_args__ = (UniqueConstraint("family", "number", name="uq_audit_template_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    critical_rule: Mapped[str] = mapped_column(String(10), default="cap")
    critical_cap: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("60"))
    # A scale item scoring below this is below standard (a corrective action).
    scale_pass: Mapped[int] = mapped_column(default=4)
    # An audit scoring below this schedules a re-check visit.
    recheck_below: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("75"))
    # A visit shorter than this is flagged as implausibly short.
    min_minutes: Mapped[int] = mapped_column(default=15)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    sections: Mapped[list["TemplateSection"]] = relationship(
        back_populates="template", order_by="TemplateSection.position", cascade="all, delete-orphan")

    @property
    def items(self) -> list["TemplateItem"]:
        return [item for section in self.sections for item in section.items]

    def label(self, locale: str) -> str:
        return (self.name_en or self.name) if locale == "en" else self.name

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"


class TemplateSection(db.Model):
    """A touchpoint's part of a template."""

    __tablename__ = "template_section"
    __table_args__ = (Index("ix_template_section_template", "template_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("audit_template.id"))
    touchpoint_id: Mapped[int] = mapped_column(ForeignKey("touchpoint.id"))
    position: Mapped[int] = mapped_column(default=0)

    template: Mapped[AuditTemplate] = relationship(back_populates="sections")
    touchpoint: Mapped[Touchpoint] = relationship()
    items: Mapped[list["TemplateItem"]] = relationship(
        back_populates="section", order_by="TemplateItem.position", cascade="all, delete-orphan")


class TemplateItem(VersionedMixin, db.Model):
    """One standard to check: its weight, how it is scored, whether "not applicable" is allowed,
    whether failing it is critical, and whether a failure needs a photo. Versioned: two people
    editing one item of a draft are merged, not overwritten (trial 9)."""

    __tablename__ = "template_item"
    __table_args__ = (Index("ix_template_item_section", "section_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("template_section.id"))
    position: Mapped[int] = mapped_column(default=0)
    text_zh: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300))
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    scoring: Mapped[str] = mapped_column(String(10), default="yes_no")
    allow_na: Mapped[bool] = mapped_column(default=False)
    critical: Mapped[bool] = mapped_column(default=False)
    photo_on_fail: Mapped[bool] = mapped_column(default=False)

    section: Mapped[TemplateSection] = relationship(back_populates="items")

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" else self.text_zh


class StoreAudit(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """A planned or conducted mystery-shopper audit of one store (R31), with its stored score."""

    __tablename__ = "store_audit"
    __table_args__ = (
        Index("ix_store_audit_store_quarter", "store_id", "year", "quarter"),
        Index("ix_store_audit_franchisee", "franchisee_id", "status", "due_on", "id"),
        Index("ix_store_audit_auditor", "auditor_id", "status", "due_on", "id"),
        Index("ix_store_audit_status_due", "status", "due_on", "id"),
        Index("ix_store_audit_published", "published_at", "id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("audit_template.id"))
    year: Mapped[int]
    quarter: Mapped[int]
    due_on: Mapped[date]  # the visit is due by this day (the quarter's end, or sooner)
    auditor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    status: Mapped[str] = mapped_column(String(12), default="planned")
    recheck_of_id: Mapped[int | None] = mapped_column(ForeignKey("store_audit.id"))
    # The visit.
    visited_on: Mapped[date | None]
    started_at: Mapped[datetime | None]  # naive UTC, as every timestamp
    ended_at: Mapped[datetime | None]
    scenario: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    # Stored figures (services/audits/scoring.py): the score, 0-100 with two decimals; the
    # score before a critical failure's cap; section scores by section id; critical failures.
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    raw_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    section_scores: Mapped[dict | None] = mapped_column(JSON)
    critical_failures: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    findings: Mapped[int] = mapped_column(default=0)
    open_actions: Mapped[int] = mapped_column(default=0)
    short_visit: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]

    store: Mapped[Store] = relationship()
    template: Mapped[AuditTemplate] = relationship()
    auditor: Mapped[User | None] = relationship(foreign_keys=[auditor_id])
    answers: Mapped[list["AuditAnswer"]] = relationship(back_populates="audit", cascade="all, delete-orphan")
    actions: Mapped[list["CorrectiveAction"]] = relationship(back_populates="audit", order_by="CorrectiveAction.id")
    photos: Mapped[list["AuditPhoto"]] = relationship(back_populates="audit", order_by="AuditPhoto.id")
    score_changes: Mapped[list["AuditScoreChange"]] = relationship(back_populates="audit",
                                                                   order_by="AuditScoreChange.id")

    @property
    def is_published(self) -> bool:
        return self.status in PUBLISHED_STATUSES

    @property
    def period(self) -> str:
        return f"{self.year} Q{self.quarter}"

    @property
    def minutes(self) -> int | None:
        if self.started_at and self.ended_at:
            return int((self.ended_at - self.started_at).total_seconds() // 60)
        return None


class AuditAnswer(StoreOwned, db.Model):
    """One item's result on one audit: the value (yes/no as 1/0, or 0-5), "not applicable",
    and the auditor's note."""

    __tablename__ = "audit_answer"
    __table_args__ = (UniqueConstraint("audit_id", "item_id", name="uq_audit_answer_item"),)
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("store_audit.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("template_item.id"))
    value: Mapped[int | None]
    not_applicable: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)

    audit: Mapped[StoreAudit] = relationship(back_populates="answers")
    item: Mapped[TemplateItem] = relationship()


class CorrectiveAction(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """A finding below standard and what the franchisee does about it (整改, R33): the finding,
    root cause and preventive action, the answer with photos, the auditor's verification, and
    an appeal of the finding."""

    __tablename__ = "corrective_action"
    __table_args__ = (
        Index("ix_corrective_action_audit", "audit_id"),
        Index("ix_corrective_action_franchisee", "franchisee_id", "status", "due_on", "id"),
        Index("ix_corrective_action_status_due", "status", "due_on", "id"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("store_audit.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("template_item.id"))
    finding: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="open")
    root_cause: Mapped[str | None] = mapped_column(Text)
    preventive_action: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verification_note: Mapped[str | None] = mapped_column(Text)
    times_returned: Mapped[int] = mapped_column(default=0)
    overdue_notified_on: Mapped[date | None]
    escalated_at: Mapped[datetime | None]
    appeal_status: Mapped[str | None] = mapped_column(String(10))
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None]
    appealed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    appeal_decision: Mapped[str | None] = mapped_column(Text)
    appeal_decided_at: Mapped[datetime | None]
    appeal_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Every answer, return, acceptance and appeal step as {at, by, kind, text}: a sent-back
    # answer stays readable after the next one.
    history: Mapped[list | None] = mapped_column(JSON)

    audit: Mapped[StoreAudit] = relationship(back_populates="actions")
    item: Mapped[TemplateItem] = relationship()
    store: Mapped[Store] = relationship()
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    appealed_by: Mapped[User | None] = relationship(foreign_keys=[appealed_by_id])
    appeal_decided_by: Mapped[User | None] = relationship(foreign_keys=[appeal_decided_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES


class AuditPhoto(StoreOwned, db.Model):
    """Photo evidence: the auditor's of an item, or the franchisee's of a correction. Stored in
    ATTACHMENT_DIR under a random name, re-encoded without location or camera data."""

    __tablename__ = "audit_photo"
    __table_args__ = (Index("ix_audit_photo_audit", "audit_id", "item_id"),
                      Index("ix_audit_photo_action", "action_id"))
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("store_audit.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("template_item.id"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("corrective_action.id"))
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    audit: Mapped[StoreAudit] = relationship(back_populates="photos")
    uploaded_by: Mapped[User | None] = relationship()


class AuditScoreChange(StoreOwned, db.Model):
    """The history of an audit's score: the first score at submission and each re-score on an
    appeal, so both are kept."""

    __tablename__ = "audit_score_change"
    __table_args__ = (Index("ix_audit_score_change_audit", "audit_id"),)
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("store_audit.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    old_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    new_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    reason: Mapped[str] = mapped_column(String(20))  # submitted, appeal
    note: Mapped[str | None] = mapped_column(Text)

    audit: Mapped[StoreAudit] = relationship(back_populates="score_changes")
    by: Mapped[User | None] = relationship()


class AuditQuarterStats(StoreOwned, db.Model):
    """A store's published audits of one quarter, per touchpoint (``touchpoint_id`` 0: the
    audit score itself): count and sum, kept by ``services/audits/stats.refresh`` whenever an
    audit of that store and quarter is published, re-scored or closed. The rankings, a store's
    quarters and the network's weakest touchpoints read these rows, never the answers."""

    __tablename__ = "audit_quarter_stats"
    __table_args__ = (
        Index("uq_audit_quarter_stats", "store_id", "year", "quarter", "touchpoint_id", unique=True),
        Index("ix_audit_quarter_stats_period", "year", "quarter", "touchpoint_id"),
        Index("ix_audit_quarter_stats_franchisee", "franchisee_id", "year", "quarter"),
    )
    owner_columns_indexed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    quarter: Mapped[int]
    touchpoint_id: Mapped[int] = mapped_column(default=0)
    audits: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    latest_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    @property
    def average(self) -> Decimal | None:
        return (self.score_sum / self.audits).quantize(Decimal("0.01")) if self.audits else None
