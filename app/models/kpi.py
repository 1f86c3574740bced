"""KPIs per store and half-year, thresholds and warnings (issue 12, R47-R49, R53).

``StoreKpi`` keeps one store's figures for one half-year (``period`` is year * 10 + half: 20262
is the second half of 2026), with the franchisee that owned the store in that period. They are
computed by a job (``flask kpis refresh``, nightly for the current half-year) from the roll-ups
the other modules keep and from the purchases of the period, never per request; ``computed_at``
says how fresh they are. A figure whose source does not exist for the store in that period is
empty (None), never a zero.

``KpiThreshold`` is headquarters' green / amber / red limit per KPI and its rule for an abnormal
change from the previous period; it takes effect when the customer-experience committee approves
it (R4). A breach makes a ``KpiWarning`` (预警) that the franchise owner acknowledges and answers
with an action; headquarters sees all open warnings and their age.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.org import Store
from app.models.user import User

# code -> (label, unit, higher is better). Units: "index" (0-100), "percent", "per_mille", "count",
# "money", "score" (0-100).
KPIS = {
    "csi": (_l("Satisfaction index"), "index", True),
    "loyalty": (_l("Loyalty score"), "score", True),
    "complaint_rate": (_l("Complaints per 1,000 purchases"), "per_mille", False),
    "on_time": (_l("Complaints resolved in time"), "percent", True),
    "repeat_rate": (_l("Repeat-purchase rate"), "percent", True),
    "retention": (_l("Retention rate"), "percent", True),
    "gained": (_l("Customers gained"), "count", True),
    "lost": (_l("Customers lost"), "count", False),
    "clv": (_l("Average customer lifetime value"), "money", True),
    "mystery": (_l("Mystery-shopper score"), "score", True),
    "training": (_l("Training completion"), "percent", True),
}
# The delivery KPIs of a logistics partner (seed 004, the Amazon case), from its deliveries
# (models/logistics.py): they have thresholds like the store KPIs, so the partner pages can
# appraise carriers against limits the committee approved, but no store row of their own.
DELIVERY_KPIS = {
    "delivery_arrival": (_l("Arrival rate"), "percent", True),
    "delivery_on_time": (_l("On-time delivery rate"), "percent", True),
    "delivery_damage": (_l("Damage rate"), "percent", False),
    "delivery_complaints": (_l("Delivery complaint rate"), "percent", False),
}
# Everything a threshold can be set for.
THRESHOLD_KPIS = {**KPIS, **DELIVERY_KPIS}
# Where each KPI comes from, said when a store has no figure (a source that does not exist yet
# says so rather than showing a zero).
KPI_SOURCES = {
    "csi": _l("satisfaction surveys of the half-year"),
    "loyalty": _l("loyalty assessments in the customer files"),
    "complaint_rate": _l("complaints and purchases of the half-year"),
    "on_time": _l("complaints resolved in the half-year"),
    "repeat_rate": _l("purchases of the half-year"),
    "retention": _l("purchases of this and the previous half-year"),
    "gained": _l("customers' first purchases"),
    "lost": _l("purchases of this and the previous half-year"),
    "clv": _l("customer files"),
    "mystery": _l("published mystery-shopper audits"),
    "training": _l("training records"),
}
THRESHOLD_STATUSES = {
    "draft": _l("Draft, awaiting the committee"),
    "approved": _l("Approved, in use"),
    "retired": _l("Retired"),
}
WARNING_KINDS = {
    "level": _l("Worse than the red limit"),
    "change": _l("Abnormal change from the previous half-year"),
}
WARNING_STATES = {
    "open": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "answered": _l("Action given"),
    "closed": _l("Closed"),
}


class StoreKpi(StoreOwned, db.Model):
    """One store's KPIs for one half-year (the franchisee is the store's owner then)."""

    __table_args__ = (
        UniqueConstraint("store_id", "period"),
        Index("ix_store_kpi_period", "period", "store_id"),
        Index("ix_store_kpi_franchisee", "franchisee_id", "period"),
    )
    owner_columns_indexed = False
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[int]
    csi: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    responses: Mapped[int] = mapped_column(default=0)
    # The survey's indicator sums behind the index ({code: [points, answers]}) and its
    # questionnaire: a franchisee's or the network's index is the formula over the pooled means
    # (R40), the same figure the survey's own results page shows, not a mean of store indexes.
    csi_parts: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id"))
    loyalty: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    purchases: Mapped[int] = mapped_column(default=0)
    buyers: Mapped[int] = mapped_column(default=0)
    repeat_buyers: Mapped[int] = mapped_column(default=0)
    previous_buyers: Mapped[int] = mapped_column(default=0)
    retained: Mapped[int] = mapped_column(default=0)
    complaints: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolved_in_time: Mapped[int] = mapped_column(default=0)
    complaint_rate: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    on_time: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    repeat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    retention: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    gained: Mapped[int | None]
    lost: Mapped[int | None]
    clv: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    mystery: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    training: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    store: Mapped[Store] = relationship()

    def value(self, code: str):
        return getattr(self, code)


class KpiThreshold(TimestampMixin, VersionedMixin, db.Model):
    """Headquarters' limits for one KPI: at or better than ``green`` is green, worse than ``red``
    is red (a warning), between is amber; ``change_percent``: a change from the previous
    half-year larger than this (in the bad direction) is an abnormal change (a warning)."""

    __table_args__ = (UniqueConstraint("kpi", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(20))
    edition: Mapped[int] = mapped_column(default=1)
    green: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    red: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    change_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def label(self):
        return THRESHOLD_KPIS[self.kpi][0]

    @property
    def higher_is_better(self) -> bool:
        return THRESHOLD_KPIS[self.kpi][2]

    @property
    def status_label(self):
        return THRESHOLD_STATUSES[self.status]

    def colour(self, value) -> str | None:
        """green, amber or red for a value (None: no figure)."""
        if value is None:
            return None
        value = Decimal(value)
        if self.higher_is_better:
            return "green" if value >= self.green else ("red" if value < self.red else "amber")
        return "green" if value <= self.green else ("red" if value > self.red else "amber")


class KpiWarning(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """A breach of a threshold (R48) or an abnormal change (R49) for one store and half-year."""

    __table_args__ = (
        UniqueConstraint("store_id", "period", "kpi", "kind"),
        Index("ix_kpi_warning_state", "state", "opened_at", "id"),
        Index("ix_kpi_warning_store_state", "store_id", "state", "opened_at", "id"),
    )
    owner_columns_indexed = False
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[int]
    kpi: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    limit: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    previous: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    threshold_id: Mapped[int] = mapped_column(ForeignKey("kpi_threshold.id"))
    state: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str | None] = mapped_column(Text)
    action_due_on: Mapped[date | None]
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closing_note: Mapped[str | None] = mapped_column(Text)

    store: Mapped[Store] = relationship()
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def label(self):
        return THRESHOLD_KPIS[self.kpi][0]

    @property
    def kind_label(self):
        return WARNING_KINDS[self.kind]

    @property
    def state_label(self):
        return WARNING_STATES[self.state]


GRADES = {
    "A": _l("A · Excellent"),
    "B": _l("B · Good"),
    "C": _l("C · Acceptable"),
    "D": _l("D · Needs improvement"),
}


class EvaluationScheme(TimestampMixin, VersionedMixin, db.Model):
    """The half-yearly evaluation's weights per KPI (adding up to 100), set by headquarters and in
    force once the committee approves them (R4, R51). Each KPI scores 100 at its green limit and
    60 at its red limit, in a straight line between and beyond (0 to 100)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    edition: Mapped[int] = mapped_column(unique=True)
    weights: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def status_label(self):
        return THRESHOLD_STATUSES[self.status]


class StoreEvaluation(StoreOwned, VersionedMixin, db.Model):
    """A store's half-yearly evaluation (综合评估, R51): the weighted score of its KPIs, the grade,
    its rank in the network, and headquarters' comment. ``scores`` keeps, per KPI, the value,
    its score and weight as computed; ``missing`` the weighted KPIs without a figure."""

    __table_args__ = (
        UniqueConstraint("store_id", "period"),
        Index("ix_store_evaluation_rank", "period", "rank", "id"),
        Index("ix_store_evaluation_franchisee", "franchisee_id", "period"),
    )
    owner_columns_indexed = False
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[int]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("evaluation_scheme.id"))
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    grade: Mapped[str | None] = mapped_column(String(1))
    # 1 = best in the network; stores without a score come after all ranked ones.
    rank: Mapped[int] = mapped_column(default=0)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    missing: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    commented_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    commented_at: Mapped[datetime | None]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    store: Mapped[Store] = relationship()
    commented_by: Mapped[User | None] = relationship(foreign_keys=[commented_by_id])

    @property
    def grade_label(self):
        return GRADES.get(self.grade or "", "—")
