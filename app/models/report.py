"""Printed reports (issue 13, R54-R57): every PDF the portal issues is kept, byte for byte,
with who generated it, when and its SHA-256, so the exact document that went out can be
downloaded again; generating the same report again makes a new version beside it.

Batches (every store of a franchisee or of the network for a half-year) are rendered outside
web requests, by RQ workers or a process of their own (services/reports/batches.py); each store
is an item, so a batch that stopped half-way resumes with what is left and names the stores
that failed."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import ReportScoped, TimestampMixin, VersionedMixin, utcnow
from app.models.org import Franchisee, Store
from app.models.user import User

KINDS = {
    "store": _l("Store evaluation report"),
    "franchisee": _l("Franchisee report"),
    "network": _l("Network summary"),
    "survey": _l("Satisfaction survey report"),
    "complaints": _l("Complaint analysis report"),
    "audit": _l("Mystery-shopper audit report"),
    "complaint": _l("Complaint case file"),
}

BATCH_STATUSES = {
    "queued": _l("Waiting for a worker"),
    "running": _l("Running"),
    "done": _l("Done"),
    "failed": _l("Done, some stores failed"),
}


class Report(ReportScoped, db.Model):
    """One issued PDF. ``key`` names what it reports on (kind, half-year, franchisee, store,
    language); versions of one key count from 1."""

    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_report_generated", "generated_at", "id"),
        Index("ix_report_kind_period", "kind", "period", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[int | None]
    # The record a report of one record is about (an audit's or a complaint's id).
    subject_id: Mapped[int | None]
    subject_label: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("report_batch.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    pages: Mapped[int]
    render_ms: Mapped[int] = mapped_column(default=0)

    store: Mapped[Store | None] = relationship()
    franchisee: Mapped[Franchisee | None] = relationship()
    generated_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    @property
    def subject_text(self) -> str:
        """What the report is about, for lists: the store, the record, the franchisee or ""."""
        if self.store_id:
            text = f"{self.store.code} {self.store.name}"
            return f"{text} · {self.subject_label}" if self.subject_label else text
        if self.franchisee_id:
            return self.franchisee.name
        return ""

    @property
    def filename(self) -> str:
        return file_name(self.kind, self.store.code if self.store_id else None, self.franchisee_id, self.period,
                         self.language, self.version, self.subject_label)


def file_name(kind: str, store_code: str | None, franchisee_id: int | None, period: int | None, language: str,
              version: int, subject_label: str | None = None) -> str:
    """A report's file name: what, whose, when (or which record), language and version."""
    subject = store_code if store_code else f"franchisee{franchisee_id}" if franchisee_id else "network"
    when = (f"-{period // 100}Q{period % 100}" if period and period >= 100000 else f"-{period // 10}H{period % 10}"
            if period else f"-{subject_label}" if subject_label else "")
    return f"{kind}-{subject}{when}-{language}-v{version}.pdf"


class ReportFile(db.Model):
    """The bytes of one issued PDF, apart from its row so that lists never load them."""

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ReportBatch(ReportScoped, db.Model):
    """The store reports of every open store of a franchisee (``franchisee_id``) or of the
    network (neither) for a half-year; or (``kind`` "franchisee") every franchisee's report."""

    __tablename__ = "report_batch"
    __table_args__ = (Index("ix_report_batch_created", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="store")
    period: Mapped[int]
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    runner: Mapped[str] = mapped_column(String(10), default="process")  # rq | process | cli
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Last sign of life from a worker: a running batch silent for long has lost its worker.
    heartbeat_at: Mapped[datetime | None]
    # A scheduled batch: its finished reports are distributed as the schedule says.
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("report_schedule.id"))

    franchisee: Mapped[Franchisee | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def status_label(self):
        return BATCH_STATUSES.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def percent(self) -> int:
        return int(100 * (self.done + self.failed) / self.total) if self.total else 100


class ReportBatchItem(ReportScoped, db.Model):
    """One store (or franchisee) of a batch: pending until a worker has rendered (or failed) its
    report. Scoped as that report is (its ``store_id`` and franchisee)."""

    __tablename__ = "report_batch_item"
    __table_args__ = (
        UniqueConstraint("batch_id", "store_id"),
        Index("ix_report_batch_item_status", "batch_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("report_batch.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done | failed
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    error: Mapped[str | None] = mapped_column(String(300))

    store: Mapped[Store | None] = relationship()
    franchisee: Mapped[Franchisee | None] = relationship()
    report: Mapped[Report | None] = relationship()


RECIPIENT_KINDS = {
    "owner": _l("Franchise owner"),
    "committee": _l("Customer-experience committee"),
    "department": _l("Department"),
}
SCHEDULE_EVERY = {"half": _l("Each half-year"), "quarter": _l("Each quarter")}
SCHEDULE_KINDS = {
    "store": _l("Every open store's evaluation report"),
    "franchisee": _l("Every franchisee's report"),
    "network": _l("Network summary"),
    "complaints": _l("Network complaint analysis"),
}


class ReportRecipient(VersionedMixin, db.Model):
    """One addressee of a distributed report (R56): a franchisee's owner, the committee or a
    headquarters department. They are told in the portal (and by e-mail when SMTP is set), and
    answer with their improvement measures; headquarters sees who has answered. ``key`` names
    the addressee ("owner:12", "committee", "department:logistics")."""

    __tablename__ = "report_recipient"
    __table_args__ = (UniqueConstraint("report_id", "key"), Index("ix_report_recipient_department", "department"),
                      Index("ix_report_recipient_franchisee", "franchisee_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(12))
    franchisee_id: Mapped[int | None] = mapped_column(ForeignKey("franchisee.id"))
    department: Mapped[str | None] = mapped_column(String(30))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    report: Mapped[Report] = relationship()
    franchisee: Mapped[Franchisee | None] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def kind_label(self):
        return RECIPIENT_KINDS.get(self.kind, self.kind)


class ReportSchedule(TimestampMixin, VersionedMixin, db.Model):
    """A period report headquarters has printed and distributed each half-year or quarter once
    it is over (``flask complaints tick``, the periodic job): the kind, the language, to whom."""

    __tablename__ = "report_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    every: Mapped[str] = mapped_column(String(8), default="half", server_default="half")  # half | quarter
    language: Mapped[str] = mapped_column(String(8), default="zh_Hans")
    to_owners: Mapped[bool] = mapped_column(default=True)
    to_committee: Mapped[bool] = mapped_column(default=False)
    departments: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # The last period it ran for (services/reports/periods.py): each period runs once.
    last_period: Mapped[int | None]
    last_run_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    @property
    def kind_label(self):
        return SCHEDULE_KINDS.get(self.kind, self.kind)
