"""Governance of the customer experience (issue 15): the franchise manual library with numbered
copies, announcements with acknowledgement, and the privacy policy.

**Manuals** (R5, R65, seed 001): headquarters writes a manual or policy (``Manual``) in versions
(``ManualVersion``); only a published version is in force, and a published version is never
edited (a change is a new version). Each copy handed out carries a serial number (列号) of its
own (``ManualCopy``): the holder (a franchisee's named person, or a headquarters department)
acknowledges receipt and each new version; a copy reported lost, stolen or damaged is closed at
once and may be reissued under a new number; copies are returned when a franchisee leaves. The
lending register (``ManualCopyEvent``) keeps every step, downloads included, so a leaked PDF,
which carries its serial number and holder on every page, is traced to a copy and a person.

**Announcements**: from headquarters to every store, a region's or chosen stores; each store
addressed gets a ``AnnouncementReceipt`` recording who read and who acknowledged it, so
headquarters sees who has not and reminders go to them.

**Privacy policy** (R61): versions in Chinese and English; the published one is shown on the
public pages, and each consent recorded names the version the customer was shown.
"""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import FranchiseeHeld, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.org import Franchisee, Region, Store
from app.models.user import User

MANUAL_KINDS = {
    "manual": _l("Franchise manual"),
    "policy": _l("Policy"),
    "standard": _l("Service standard"),
}
VERSION_STATES = {"draft": _l("Draft"), "published": _l("In force"), "superseded": _l("Superseded")}
COPY_STATES = {
    "held": lazy_pgettext("manual copy", "Held"),
    "lost": _l("Reported lost"),
    "stolen": _l("Reported stolen"),
    "damaged": _l("Reported damaged"),
    "returned": _l("Returned"),
}
# What may end a copy's life, and the events of the lending register.
CLOSING_STATES = ("lost", "stolen", "damaged", "returned")
COPY_EVENTS = {
    "issued": _l("Issued"),
    "received": _l("Receipt acknowledged"),
    "acknowledged": _l("Version acknowledged"),
    "downloaded": _l("Downloaded"),
    "lost": _l("Reported lost"),
    "stolen": _l("Reported stolen"),
    "damaged": _l("Reported damaged"),
    "returned": _l("Returned"),
    "reissued": _l("Reissued as a new copy"),
}
AUDIENCES = {"all": _l("Every store"), "region": _l("The stores of a region"), "stores": _l("Chosen stores")}
ANNOUNCEMENT_STATES = {"draft": _l("Draft"), "published": _l("Published"), "withdrawn": _l("Withdrawn")}


class Manual(TimestampMixin, VersionedMixin, db.Model):
    """A document of headquarters' manual library: the franchise manual, a policy, a standard."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title_zh: Mapped[str] = mapped_column(String(120))
    title_en: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    active: Mapped[bool] = mapped_column(default=True)
    # The version in force (a published one), and the last serial number handed out: serials are
    # taken with a conditional UPDATE, so two copies issued at once never share a number.
    current_number: Mapped[int | None]
    last_serial: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    versions: Mapped[list["ManualVersion"]] = relationship(back_populates="manual", order_by="ManualVersion.number.desc()")

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh

    @property
    def kind_label(self):
        return MANUAL_KINDS.get(self.kind, self.kind)

    def __str__(self) -> str:
        return f"{self.code} {self.title_zh}"


class ManualVersion(TimestampMixin, VersionedMixin, db.Model):
    __table_args__ = (UniqueConstraint("manual_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manual.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # What changed, for the holders asked to acknowledge it.
    summary: Mapped[str | None] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    manual: Mapped[Manual] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def status_label(self):
        return VERSION_STATES.get(self.status, self.status)

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" and self.body_en else self.body_zh


class ManualCopy(FranchiseeHeld, TimestampMixin, VersionedMixin, db.Model):
    """One numbered copy (受控副本) of a manual, held by a named person of a franchisee (or of a
    headquarters department)."""

    __table_args__ = (Index("ix_manual_copy_manual", "manual_id", "status", "id"),
                      Index("ix_manual_copy_franchisee", "franchisee_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manual.id"))
    # The serial number printed on every page: unique over the whole library, never reused.
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    holder_name: Mapped[str] = mapped_column(String(60))
    department: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12), default="held")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    received_at: Mapped[datetime | None]
    # The latest version the holder acknowledged having read.
    acknowledged_number: Mapped[int | None]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_note: Mapped[str | None] = mapped_column(String(300))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("manual_copy.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("manual_copy.id"))

    manual: Mapped[Manual] = relationship()
    franchisee: Mapped[Franchisee | None] = relationship()
    holder: Mapped[User | None] = relationship(foreign_keys="ManualCopy.holder_user_id")
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    @property
    def status_label(self):
        return COPY_STATES.get(self.status, self.status)

    @property
    def held(self) -> bool:
        return self.status == "held"

    def __str__(self) -> str:
        return self.serial


class ManualCopyEvent(FranchiseeHeld, db.Model):
    """One line of the lending register: what happened to a copy, when, by whom."""

    __table_args__ = (Index("ix_manual_copy_event_copy", "copy_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("manual_copy.id"))
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[int | None]  # the version concerned
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(String(300))

    by: Mapped[User | None] = relationship(foreign_keys=[by_id])

    @property
    def kind_label(self):
        return COPY_EVENTS.get(self.kind, self.kind)


class Announcement(TimestampMixin, VersionedMixin, db.Model):
    """A notice from headquarters to the stores. Its figures (stores addressed, read,
    acknowledged) are stored and moved with the receipts, for headquarters' list."""

    __table_args__ = (Index("ix_announcement_published", "status", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(10), default="all")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    chosen_store_ids: Mapped[str | None] = mapped_column(Text)  # "1,5,9" for a draft to chosen stores
    needs_ack: Mapped[bool] = mapped_column(default=True)
    ack_by: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Set at publication and when headquarters asks for reminders; the periodic job tells the
    # stores' people and clears them (nothing is sent inside the request).
    notify_pending: Mapped[bool] = mapped_column(default=False)
    remind_requested_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    stores_count: Mapped[int] = mapped_column(default=0, server_default="0")
    read_count: Mapped[int] = mapped_column(default=0, server_default="0")
    ack_count: Mapped[int] = mapped_column(default=0, server_default="0")

    region: Mapped[Region | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def status_label(self):
        return ANNOUNCEMENT_STATES.get(self.status, self.status)

    @property
    def audience_label(self):
        return AUDIENCES.get(self.audience, self.audience)

    @property
    def chosen_ids(self) -> list[int]:
        return [int(x) for x in (self.chosen_store_ids or "").split(",") if x.isdigit()]


class AnnouncementReceipt(StoreOwned, db.Model):
    """An announcement as one store received it: read by whom, acknowledged by whom."""

    __table_args__ = (UniqueConstraint("announcement_id", "store_id"),
                      Index("ix_announcement_receipt_store", "store_id", "acknowledged_at", "announcement_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id"), index=True)
    read_at: Mapped[datetime | None]
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reminders: Mapped[int] = mapped_column(default=0, server_default="0")

    announcement: Mapped[Announcement] = relationship()
    store: Mapped[Store] = relationship()
    read_by: Mapped[User | None] = relationship(foreign_keys=[read_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class PrivacyPolicy(TimestampMixin, VersionedMixin, db.Model):
    """A version of the privacy policy (R61). Only a draft is edited; publishing one retires the
    version before it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    summary: Mapped[str | None] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def status_label(self):
        return VERSION_STATES.get(self.status, self.status)

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else self.body_zh


APPROVAL_STATES = {"pending": _l("Waiting for the committee"), "approved": lazy_pgettext("approval", "Approved"),
                   "returned": _l("Returned for changes"), "withdrawn": lazy_pgettext("approval", "Withdrawn")}


class Approval(TimestampMixin, db.Model):
    """One request to the customer-experience committee (R4): a draft (a questionnaire edition,
    KPI thresholds, the evaluation weights, an audit template version, a policy version) put
    forward, commented on, and approved or returned. ``fingerprint`` is what was put forward (and,
    once decided, what was decided on): a draft changed since cannot be approved under it.
    The same table is the history of who approved what, when."""

    __table_args__ = (Index("ix_approval_subject", "kind", "subject_id", "id"),
                      Index("ix_approval_status", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    note: Mapped[str | None] = mapped_column(String(500))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    comments_count: Mapped[int] = mapped_column(default=0, server_default="0")

    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self):
        return APPROVAL_STATES.get(self.status, self.status)

    def label(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title


class ApprovalComment(db.Model):
    __table_args__ = (Index("ix_approval_comment_approval", "approval_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approval.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User | None] = relationship()


class ChannelCheck(db.Model):
    """One check that a feedback channel works (R73): called the hotline, opened the page, sent
    the e-mail; what happened."""

    __table_args__ = (Index("ix_channel_check_channel", "channel_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("complaint_channel.id"))
    checked_on: Mapped[date]
    ok: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(300))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    by: Mapped[User | None] = relationship()


# Improvement projects (推动改进项目, seed 000) and the feedback-to-improvement cycle (seed 003):
# classify → screen the high-impact issues → root cause → plan (measures, responsible
# departments, completion date) → implement → evaluate the effect.
PROJECT_STAGES = {
    "analysis": _l("Root cause"),
    "plan": _l("Plan"),
    "implementation": _l("Implementation"),
    "evaluation": lazy_pgettext("improvement project", "Evaluation"),
    "closed": lazy_pgettext("improvement project", "Completed"),
    "cancelled": lazy_pgettext("improvement project", "Cancelled"),
}
PROJECT_CYCLE = ("analysis", "plan", "implementation", "evaluation")  # (a project in one of them is open)
IMPACTS = {"high": lazy_pgettext("impact", "High"), "medium": lazy_pgettext("impact", "Medium"),
           "low": lazy_pgettext("impact", "Low")}
EFFECTS = {"effective": _l("Effective: the goal was reached"), "partly": _l("Partly effective"),
           "not_effective": _l("Not effective")}
# Where a project comes from; its sources link back to each (``ProjectSource``).
SOURCE_KINDS = {
    "complaint": _l("Complaint (CAPA)"),
    "feedback": _l("Customer suggestion or praise"),
    "audit_finding": _l("Mystery-shopper finding"),
    "kpi_warning": _l("KPI warning"),
    "survey": _l("Satisfaction survey result"),
    "report_response": _l("Answer to a report"),
}
# The customer-experience management department (客户购买体验管理部门, seed 000) drives the
# projects; headquarters' other departments own or take part in them.
CX_DEPARTMENT = "cx"
SENTIMENTS = {"positive": _l("Positive"), "negative": _l("Negative")}
# The screening states, as the feedback page's tabs name them.
FEEDBACK_STATES = {"new": _l("To classify"), "classified": _l("To screen"),
                   "in_project": _l("In an improvement project"), "no_action": _l("No project needed")}


class ImprovementProject(TimestampMixin, VersionedMixin, db.Model):
    """One customer-experience improvement project: its owner department, goal, root cause,
    measures, completion date, the parts other departments are responsible for (R74), progress
    updates and the evaluation of its effect. Headquarters' own record: franchisees do not see
    the register (the sources it links to stay in their own scope)."""

    __table_args__ = (Index("ix_improvement_project_stage_due", "stage", "due_on", "id"),
                      Index("ix_improvement_project_department", "department", "stage", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # GJ + year + number (GJ2026-007), unique.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(30))  # the owner department (CX_DEPARTMENT or DEPARTMENTS)
    owner_name: Mapped[str | None] = mapped_column(String(60))  # the person who answers for it
    impact: Mapped[str] = mapped_column(String(8), default="high")
    stage: Mapped[str] = mapped_column(String(16), default="analysis")
    due_on: Mapped[date]
    root_cause: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(default=0, server_default="0")  # percent, from the last update
    effect: Mapped[str | None] = mapped_column(String(16))
    evaluation: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None]
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    # Stored counts for the register: parts, parts done, sources.
    parts_count: Mapped[int] = mapped_column(default=0, server_default="0")
    parts_done: Mapped[int] = mapped_column(default=0, server_default="0")
    sources_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    evaluated_by: Mapped[User | None] = relationship(foreign_keys=[evaluated_by_id])
    parts: Mapped[list["ProjectPart"]] = relationship(back_populates="project", order_by="ProjectPart.id")
    sources: Mapped[list["ProjectSource"]] = relationship(back_populates="project", order_by="ProjectSource.id")

    @property
    def stage_label(self):
        return PROJECT_STAGES.get(self.stage, self.stage)

    @property
    def is_open(self) -> bool:
        return self.stage in PROJECT_CYCLE

    def overdue(self, today: date) -> bool:
        return self.is_open and self.due_on < today


class ProjectPart(TimestampMixin, VersionedMixin, db.Model):
    """The part of a project one department is responsible for (R74, seed 003: 明确责任与分工).
    It waits in that department's task queue, beside its complaint tasks, until done."""

    __table_args__ = (Index("ix_project_part_queue", "department", "done_at", "due_on", "id"),
                      Index("ix_project_part_project", "project_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("improvement_project.id"))
    department: Mapped[str] = mapped_column(String(30))
    responsibility: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str | None] = mapped_column(Text)

    project: Mapped[ImprovementProject] = relationship(back_populates="parts")
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])


class ProjectSource(db.Model):
    """What a project came from, linked both ways: a complaint's CAPA, a suggestion, an audit
    finding, a KPI warning, a survey, a department's answer to a report. ``label`` is the
    source's reference as it was linked (a complaint's number, a store's code), so the register
    lists sources without opening each; the link opens the source in the reader's own scope."""

    __table_args__ = (UniqueConstraint("project_id", "kind", "ref_id"),
                      Index("ix_project_source_ref", "kind", "ref_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("improvement_project.id"))
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(200))  # the source's page in the portal
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    project: Mapped[ImprovementProject] = relationship(back_populates="sources")

    @property
    def kind_label(self):
        return SOURCE_KINDS.get(self.kind, self.kind)


class ProjectUpdate(db.Model):
    """A line of a project's history: a progress report, a stage reached, a part done, the evaluation."""

    __table_args__ = (Index("ix_project_update_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("improvement_project.id"))
    kind: Mapped[str] = mapped_column(String(12))  # progress | stage | part | part_done | source | evaluation
    # The step reached (stage), the department (part, part_done) or the kind of source (source).
    stage: Mapped[str | None] = mapped_column(String(16))
    progress: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
