"""Store staff, training and the service team's appraisal (培训档案, 服务团队绩效考核; issue 11,
R35-R38, R52).

Headquarters keeps the positions, the team size per store size and the hiring criteria
(seed 002: headcount and posts are set by store size; hire for communication, service awareness
and teamwork), the courses and which positions must take them (the requirement matrix).

An employee belongs to one store of a franchisee (``CurrentOwner``: a store handed over to
another franchisee takes its team along) and may move between that franchisee's stores; each
move is kept (``EmployeeMove``). An employee may or may not have a portal login (``user_id``).

What the requirement matrix asks of each employee is stored, one row per employee and required
course (``EmployeeCourse``): whether it is done and the date by which something is needed next
(the onboarding deadline, or the certificate's expiry). Gap lists are a range over that date;
the store's figures are a roll-up (``StoreTeamStats``) kept by services/training.py, never
counted from the history per request.

Courses, sessions and plans are headquarters' (``franchisee_id`` empty: shared with the whole
network) or one franchisee's own (``FranchiseeShared``, scoped in app/security/tenancy.py).
Attendance, certificates and appraisals belong to the employee's store.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import CurrentOwner, FranchiseeShared, StoreOwned, TimestampMixin, VersionedMixin, utcnow
from app.models.org import Store
from app.models.user import User

STORE_SIZES = {
    "small": _l("Small store"),
    "medium": _l("Medium store"),
    "large": _l("Large store"),
}
EMPLOYEE_STATUSES = {
    "active": _l("Working"),
    "leave": _l("On leave"),
    "left": _l("Left"),
}
COURSE_TOPICS = {
    "culture": _l("Company culture"),
    "product": _l("Product knowledge"),
    "service": _l("Service skills and the service flow"),
    "complaints": _l("Complaint handling"),
    "policy": _l("The customer-experience policy"),
    "conduct": _l("Professional conduct and ethics"),
    "leadership": _l("Leadership"),
    "other": _l("Other"),
}
COURSE_KINDS = {
    "internal": _l("Internal training"),
    "external": _l("External training"),
    "online": _l("Online learning"),
}
SESSION_STATUSES = {
    "planned": _l("Planned"),
    "held": _l("Held, results entered"),
    "cancelled": _l("Cancelled"),
}
# The state of one required course for one employee, from its stored dates (services/training.py).
COURSE_STATES = {
    "valid": _l("Done"),
    "expiring": _l("Expires soon"),
    "due": _l("To do"),
    "overdue": _l("Overdue"),
    "expired": _l("Expired"),
}
RATINGS = {
    "A": _l("A · Excellent"),
    "B": _l("B · Good"),
    "C": _l("C · Acceptable"),
    "D": _l("D · Needs improvement"),
}
INDICATOR_SOURCES = {
    "manual": _l("Entered by the appraiser"),
    "complaints": _l("Complaints handled (with the handler's checklist)"),
    "follow_up": _l("Follow-up satisfaction of complaints handled"),
    "audits": _l("The store's mystery-shopper audits"),
    "evaluation": _l("The store's half-yearly evaluation"),
}
PERIOD_KINDS = {
    "quarter": _l("Quarter"),
    "half": _l("Half-year"),
    "year": _l("Full year"),
}
INCENTIVE_KINDS = {
    "reward": _l("Reward"),
    "penalty": _l("Penalty / accountability"),
}
INCENTIVE_TYPES = {
    "material": _l("Material (bonus, prize)"),
    "non_material": _l("Non-material (honour certificate, commendation, promotion)"),
}


class Position(TimestampMixin, VersionedMixin, db.Model):
    """A post in a store (店长, 销售顾问 ...), with headquarters' hiring criteria."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    hiring_criteria: Mapped[str] = mapped_column(Text, default="")
    hiring_criteria_en: Mapped[str | None] = mapped_column(Text)
    customer_contact: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name_zh

    def criteria_text(self, locale: str) -> str:
        return self.hiring_criteria_en if locale == "en" and self.hiring_criteria_en else self.hiring_criteria


class StaffingNorm(db.Model):
    """How many people of a position a store of a size should have (seed 002)."""

    __table_args__ = (UniqueConstraint("position_id", "store_size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id"))
    store_size: Mapped[str] = mapped_column(String(10))
    headcount: Mapped[int] = mapped_column(default=0)


class Employee(CurrentOwner, TimestampMixin, VersionedMixin, db.Model):
    """A member of a store's team. Personal data is kept to what the work needs: name, post,
    hire date and a work phone (shown masked to those who do not manage the team)."""

    owner_columns_indexed = False
    __table_args__ = (
        Index("ix_employee_store_name", "store_id", "status", "name", "id"),
        Index("ix_employee_franchisee_name", "franchisee_id", "status", "name", "id"),
        Index("ix_employee_name", "name", "id"),
        Index("ix_employee_position", "position_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id"))
    hire_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")
    left_on: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(500))

    store: Mapped[Store] = relationship()
    position_ref: Mapped[Position] = relationship()
    user: Mapped[User | None] = relationship()
    moves: Mapped[list["EmployeeMove"]] = relationship(
        back_populates="employee", order_by="EmployeeMove.moved_on.desc(), EmployeeMove.id.desc()")

    @property
    def status_label(self):
        return EMPLOYEE_STATUSES.get(self.status, self.status)

    def __str__(self) -> str:
        return self.name


class EmployeeMove(StoreOwned, db.Model):
    """One move of an employee to another store of the same franchisee (``store_id``: the store
    moved to), or a change of post."""

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), index=True)
    from_store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    from_position_id: Mapped[int] = mapped_column(ForeignKey("position.id"))
    to_position_id: Mapped[int] = mapped_column(ForeignKey("position.id"))
    moved_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(300))
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(back_populates="moves")
    store: Mapped[Store] = relationship(foreign_keys="EmployeeMove.store_id")
    from_store: Mapped[Store] = relationship(foreign_keys=[from_store_id])
    from_position: Mapped[Position] = relationship(foreign_keys=[from_position_id])
    to_position: Mapped[Position] = relationship(foreign_keys=[to_position_id])
    moved_by: Mapped[User | None] = relationship()


class Course(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    """A course: headquarters' (``franchisee_id`` empty) or a franchisee's own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str | None] = mapped_column(String(150))
    topic: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    # Scores are out of 100; no pass mark: attending is passing.
    pass_mark: Mapped[int | None]
    # Months a certificate is valid; none: it does not expire.
    validity_months: Mapped[int | None]
    # A course new hires must complete, within ``onboarding_days`` of their hire date.
    onboarding: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)

    requirements: Mapped[list["CourseRequirement"]] = relationship(
        back_populates="course", cascade="all, delete-orphan")

    def label(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title

    @property
    def topic_label(self):
        return COURSE_TOPICS.get(self.topic, self.topic)

    @property
    def kind_label(self):
        return COURSE_KINDS.get(self.kind, self.kind)


class CourseRequirement(db.Model):
    """The requirement matrix: a position must take a course within ``within_days`` of joining
    the position (or of the requirement being set, for those already in post)."""

    __table_args__ = (UniqueConstraint("course_id", "position_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id"), index=True)
    within_days: Mapped[int] = mapped_column(default=90)
    since: Mapped[date]

    course: Mapped[Course] = relationship(back_populates="requirements")
    position_ref: Mapped[Position] = relationship()


class TrainingSession(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    """A course held on a day, by a trainer, in a place or online, for the stores invited."""

    __table_args__ = (Index("ix_training_session_day", "held_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    held_on: Mapped[date]
    trainer: Mapped[str] = mapped_column(String(60))
    place: Mapped[str | None] = mapped_column(String(120))
    online: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    results_at: Mapped[datetime | None]

    course: Mapped[Course] = relationship()
    invited: Mapped[list["SessionStore"]] = relationship(back_populates="session", cascade="all, delete-orphan")

    @property
    def status_label(self):
        return SESSION_STATUSES.get(self.status, self.status)


class SessionStore(StoreOwned, db.Model):
    """A store invited to a session (each franchisee sees only its own stores' invitations)."""

    owner_columns_indexed = False
    __table_args__ = (UniqueConstraint("session_id", "store_id"), Index("ix_session_store_store", "store_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"))

    session: Mapped[TrainingSession] = relationship(back_populates="invited")
    store: Mapped[Store] = relationship()


class Attendance(StoreOwned, VersionedMixin, db.Model):
    """One employee at one session: present or not, the assessment score (of 100) and the
    result from the course's pass mark. ``store_id``: the employee's store on the day."""

    __table_args__ = (UniqueConstraint("session_id", "employee_id"), Index("ix_attendance_employee", "employee_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    attended: Mapped[bool] = mapped_column(default=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    passed: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(String(300))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship()
    employee: Mapped[Employee] = relationship()


class Certificate(CurrentOwner, db.Model):
    """A course passed: valid from the session's day until ``expires_on`` (none: no expiry)."""

    __table_args__ = (Index("ix_certificate_employee", "employee_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendance.id"), unique=True)
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()
    employee: Mapped[Employee] = relationship()


class EmployeeCourse(CurrentOwner, db.Model):
    """One required course of one employee, kept by services/training.py: ``done_on`` the day of
    the valid certificate (none: not done), ``needed_by`` the day by which something is needed
    (the deadline while not done, the certificate's expiry once done; none: done for good)."""

    owner_columns_indexed = False
    __table_args__ = (
        UniqueConstraint("employee_id", "course_id"),
        Index("ix_employee_course_store_needed", "store_id", "needed_by", "id"),
        Index("ix_employee_course_franchisee_needed", "franchisee_id", "needed_by", "id"),
        Index("ix_employee_course_needed", "needed_by", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    done_on: Mapped[date | None]
    needed_by: Mapped[date | None]
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    notified_on: Mapped[date | None]

    employee: Mapped[Employee] = relationship()
    course: Mapped[Course] = relationship()
    certificate: Mapped[Certificate | None] = relationship()


class StoreTeamStats(CurrentOwner, db.Model):
    """A store's team and training figures, kept when they change and each night (dates move):
    headcount against the norm, required courses done, due, overdue and expiring."""

    owner_columns_indexed = False
    __table_args__ = (
        UniqueConstraint("store_id"),
        Index("ix_store_team_stats_franchisee", "franchisee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff: Mapped[int] = mapped_column(default=0)
    # People missing against the staffing norm, over all positions; the positions short as JSON
    # {position_id: [have, norm]}.
    shortfall: Mapped[int] = mapped_column(default=0)
    short_positions: Mapped[dict] = mapped_column(JSON, default=dict)
    required: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    due: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    expiring: Mapped[int] = mapped_column(default=0)
    computed_on: Mapped[date | None]
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()

    @property
    def completion(self) -> Decimal | None:
        return None if not self.required else (Decimal(self.done * 100) / self.required).quantize(Decimal("0.1"))


class TrainingPlan(FranchiseeShared, TimestampMixin, VersionedMixin, db.Model):
    """A franchisee's annual training plan (年度培训计划, R35): which courses, in which month, in
    which form; sessions held count against it."""

    __table_args__ = (UniqueConstraint("franchisee_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)

    entries: Mapped[list["PlanEntry"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanEntry.month, PlanEntry.id")


class PlanEntry(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plan.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    month: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    participants: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(300))

    plan: Mapped[TrainingPlan] = relationship(back_populates="entries")
    course: Mapped[Course] = relationship()


class AppraisalIndicator(TimestampMixin, VersionedMixin, db.Model):
    """An indicator of the service-team appraisal (R37), configured by headquarters: by default
    service attitude, efficiency and customer satisfaction. Weights of the active ones add up
    to 100; a source other than "manual" proposes a score from the data of the period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    weight: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name_zh


class AppraisalPeriod(TimestampMixin, VersionedMixin, db.Model):
    """A period of appraisal (a quarter or half-year); a closed period takes no more appraisals."""

    __table_args__ = (UniqueConstraint("starts_on", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    closed: Mapped[bool] = mapped_column(default=False)


class Appraisal(StoreOwned, TimestampMixin, VersionedMixin, db.Model):
    """One employee's appraisal for a period: a score per indicator (JSON {indicator_id: score}),
    the weighted total, the rating, comments; visible to the employee's managers and HQ."""

    __table_args__ = (
        UniqueConstraint("employee_id", "period_id"),
        Index("ix_appraisal_store_period", "store_id", "period_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("appraisal_period.id"))
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the data proposed per indicator and from what, kept beside the score given.
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    rating: Mapped[str | None] = mapped_column(String(1))
    comment: Mapped[str | None] = mapped_column(Text)
    appraiser_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    employee: Mapped[Employee] = relationship()
    period: Mapped[AppraisalPeriod] = relationship()
    appraiser: Mapped[User | None] = relationship()


class Incentive(StoreOwned, db.Model):
    """A reward or a penalty (R37, R38): material or non-material, with its reason."""

    __table_args__ = (Index("ix_incentive_employee", "employee_id", "awarded_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    appraisal_id: Mapped[int | None] = mapped_column(ForeignKey("appraisal.id"))
    kind: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    awarded_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship()
