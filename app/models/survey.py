"""Satisfaction surveys and the satisfaction index (满意度调查, 满意度指数; issue 12, R39-R46, R64).

A **questionnaire** is headquarters' (network-wide): its indicators with their weights (which
add up to 100 %) and its questions in the document's order; a scale question feeds one
indicator (seed 004: item 6 feeds G, item 7 feeds F, R41). Once a questionnaire is approved by
the customer-experience committee (R4) it is frozen: a response keeps the questionnaire, and so
the weights, its index was computed with (method continuity across years, R64). A change is a
new version, approved again.

A **survey project** (测评项目) is one half-year's survey (R43) with the eight dated steps of
seed 004 (R45). Responses come from a personal invitation link, a store's survey page or paper
forms keyed in by staff; each belongs to the store it is about and keeps the franchisee that
owned the store on the day it was answered. The index of each response is stored when it is
recorded, and per store and project the sums are kept (``SurveyStoreStats``,
``SurveyIndicatorStats``), so no page recomputes from all responses (services/surveys).
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

QUESTIONNAIRE_KINDS = {
    "index": _l("Satisfaction survey with the weighted index"),
    "post_purchase": _l("Post-purchase survey (four yes/no questions)"),
}
QUESTIONNAIRE_STATUSES = {
    "draft": _l("Draft, awaiting the committee"),
    "approved": _l("Approved, in use"),
    "retired": _l("Retired"),
}
QUESTION_KINDS = {
    "scale": _l("Five-point scale"),
    "yes_no": _l("Yes or no"),
    "text": _l("Free text"),
}
# The five-point scale of seed 004, step 3 (R42, R63): 1 point = 20 %.
SCALE = {
    5: _l("Very satisfied"),
    4: _l("Satisfied"),
    3: _l("Average"),
    2: _l("Dissatisfied"),
    1: _l("Very dissatisfied"),
}
RESPONDENTS = {
    "consumer": _l("Consumer"),
    "dealer": _l("Dealer"),
}
RESPONSE_SOURCES = {
    "link": _l("Personal invitation link"),
    "store": _l("The store's survey page"),
    "paper": _l("Paper form keyed in by staff"),
}
PROJECT_STATUSES = {
    "planning": _l("Planning"),
    "fieldwork": _l("Collecting responses"),
    "closed": _l("Closed"),
}
# The eight dated steps of a survey project (seed 004, 调查项目进度; R45), in the document's order.
PROJECT_STEPS = {
    "design": _l("Design and discussion of the survey"),
    "pre_survey": _l("Pre-survey"),
    "plan": _l("Finalise the survey plan"),
    "fieldwork": _l("Carry out the survey"),
    "analysis": _l("Sort and analyse the data"),
    "draft": _l("Draft the survey report"),
    "revision": _l("Revise and submit the report"),
    "quality": _l("Quality and whole-process control"),
}
# The days of each step from the project's first day, as seed 004's schedule (11.15-12.7).
STEP_DAYS = {
    "design": (0, 4), "pre_survey": (2, 4), "plan": (2, 4), "fieldwork": (4, 10),
    "analysis": (11, 16), "draft": (17, 20), "revision": (21, 22), "quality": (0, 22),
}
FOLLOW_UP_STATES = {
    "open": _l("To follow up"),
    "done": _l("Followed up"),
}


class Questionnaire(BilingualName, TimestampMixin, VersionedMixin, db.Model):
    """A questionnaire of headquarters; its weights are the formula of the index it yields."""

    __table_args__ = (UniqueConstraint("code", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    # Version of the method: a changed questionnaire is a new edition of the same code.
    edition: Mapped[int] = mapped_column(default=1)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="index")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    intro_zh: Mapped[str | None] = mapped_column(Text)
    intro_en: Mapped[str | None] = mapped_column(Text)
    # A scale answer at or below this creates a follow-up task for the store.
    follow_up_at_or_below: Mapped[int] = mapped_column(default=2)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The edition this one was copied from.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id"))

    indicators: Mapped[list["SurveyIndicator"]] = relationship(
        back_populates="questionnaire", order_by="SurveyIndicator.code", cascade="all, delete-orphan")
    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="questionnaire", order_by="SurveyQuestion.position", cascade="all, delete-orphan")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def status_label(self):
        return QUESTIONNAIRE_STATUSES[self.status]

    @property
    def kind_label(self):
        return QUESTIONNAIRE_KINDS[self.kind]

    @property
    def has_index(self) -> bool:
        return self.kind == "index"

    def intro(self, locale: str) -> str:
        return (self.intro_en if locale == "en" else self.intro_zh) or ""

    def __str__(self) -> str:
        return f"{self.code}/{self.edition}"


class SurveyIndicator(BilingualName, db.Model):
    """One indicator of the index (A brand and image ... G communication and publicity) and its
    weight in percent; the weights of a questionnaire add up to 100 (R39)."""

    __table_args__ = (UniqueConstraint("questionnaire_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"), index=True)
    code: Mapped[str] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="indicators")


class SurveyQuestion(db.Model):
    """A question in the order it is asked; a scale question feeds one indicator."""

    __table_args__ = (UniqueConstraint("questionnaire_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))
    text_zh: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("survey_indicator.id"))
    required: Mapped[bool] = mapped_column(default=True)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")
    indicator: Mapped[SurveyIndicator | None] = relationship()

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" else self.text_zh

    @property
    def kind_label(self):
        return QUESTION_KINDS[self.kind]


class SurveyProject(TimestampMixin, VersionedMixin, db.Model):
    """One survey (测评项目) of headquarters for a half-year: its questionnaire and schedule."""

    __table_args__ = (Index("ix_survey_project_period", "year", "half", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    year: Mapped[int]
    half: Mapped[int]  # 1: January-June, 2: July-December
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="planning")
    purpose: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    questionnaire: Mapped[Questionnaire] = relationship()
    steps: Mapped[list["SurveyStep"]] = relationship(back_populates="project", order_by="SurveyStep.position",
                                                     cascade="all, delete-orphan")

    @property
    def status_label(self):
        return PROJECT_STATUSES[self.status]

    @property
    def period(self) -> str:
        return f"{self.year}H{self.half}"

    def open_on(self, day: date) -> bool:
        return self.status == "fieldwork" and self.starts_on <= day <= self.ends_on


class SurveyStep(TimestampMixin, VersionedMixin, db.Model):
    """One dated step of a project's schedule (R45), with who owns it and when it was done."""

    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"), index=True)
    key: Mapped[str] = mapped_column(String(12))
    position: Mapped[int]
    owner: Mapped[str | None] = mapped_column(String(80))
    starts_on: Mapped[date]
    due_on: Mapped[date]
    done_on: Mapped[date | None]

    project: Mapped[SurveyProject] = relationship(back_populates="steps")

    @property
    def label(self):
        return PROJECT_STEPS[self.key]

    def overdue(self, today: date) -> bool:
        return self.done_on is None and self.due_on < today


class SurveyResponse(StoreOwned, TimestampMixin, db.Model):
    """One filled-in questionnaire about one store. ``franchisee_id`` is the store's owner on the
    day it was answered. ``answers`` maps question id to the answer (1-5, true/false, text);
    ``csi`` is the index computed on recording, with the questionnaire's weights."""

    __table_args__ = (
        Index("ix_survey_response_project_store", "project_id", "store_id", "id"),
        Index("ix_survey_response_project", "project_id", "id"),
        # The responses list: newest answered first, all stores or one.
        Index("ix_survey_response_project_day", "project_id", "answered_on", "id"),
        Index("ix_survey_response_project_store_day", "project_id", "store_id", "answered_on", "id"),
        Index("ix_survey_response_store_follow_up", "store_id", "follow_up", "follow_up_due_on", "id"),
        Index("ix_survey_response_follow_up", "follow_up", "follow_up_due_on", "id"),
        Index("ix_survey_response_customer", "customer_id"),
    )
    owner_columns_indexed = False  # the indexes above lead with store_id; franchisee below
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    answered_on: Mapped[date]
    respondent: Mapped[str] = mapped_column(String(10), default="consumer")
    source: Mapped[str] = mapped_column(String(8))
    answers: Mapped[dict] = mapped_column(JSON)
    csi: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    lowest: Mapped[int | None]  # the lowest scale answer
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("survey_invitation.id"), unique=True)
    # A hash of the public form's one-time stamp: the same page sent twice is recorded once.
    submission: Mapped[str | None] = mapped_column(String(64), unique=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # A very low answer: the store follows it up (open, done).
    follow_up: Mapped[str | None] = mapped_column(String(6))
    follow_up_due_on: Mapped[date | None]
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    follow_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    follow_up_at: Mapped[datetime | None]

    project: Mapped[SurveyProject] = relationship()
    questionnaire: Mapped[Questionnaire] = relationship()
    store: Mapped[Store] = relationship()
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    follow_up_by: Mapped[User | None] = relationship(foreign_keys=[follow_up_by_id])

    @property
    def respondent_label(self):
        return RESPONDENTS[self.respondent]

    @property
    def source_label(self):
        return RESPONSE_SOURCES[self.source]


SEGMENTS = {
    "current": _l("Current customers"),
    "past": _l("Past customers (churn warning)"),
    "potential": _l("Potential customers"),
    "post_purchase": _l("After a purchase"),
}


class SurveyInvitation(StoreOwned, db.Model):
    """A personal link to a project's questionnaire, for one customer of one store (R44),
    sampled from the customer file. The link's token is derived from the id with the portal's
    secret key (services/surveys/public.py), so staff can show it again to send it; only its
    hash is stored, to find the invitation. The link works once."""

    __table_args__ = (Index("ix_survey_invitation_project_store", "project_id", "store_id", "id"),
                      Index("ix_survey_invitation_project", "project_id", "id"),
                      UniqueConstraint("project_id", "customer_id"))
    owner_columns_indexed = False
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    segment: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # When the store says it sent the link (SMS, WeChat, e-mail, or the QR shown in the store).
    sent_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]

    project: Mapped[SurveyProject] = relationship()
    store: Mapped[Store] = relationship()

    @property
    def segment_label(self):
        return SEGMENTS.get(self.segment or "", "—")


class SurveyStoreStats(StoreOwned, db.Model):
    """A store's responses to one project (R47's satisfaction per store and period), kept as
    responses are recorded, with the store's index."""

    __table_args__ = (UniqueConstraint("project_id", "store_id", "franchisee_id"),
                      Index("ix_survey_store_stats_store", "store_id", "project_id"))
    owner_columns_indexed = False
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"))
    responses: Mapped[int] = mapped_column(default=0)
    consumers: Mapped[int] = mapped_column(default=0)
    dealers: Mapped[int] = mapped_column(default=0)
    low_scores: Mapped[int] = mapped_column(default=0)
    # The index from the store's indicator means (the formula of the project's questionnaire),
    # recomputed from SurveyQuestionStats whenever a response is recorded.
    csi: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))


class SurveyQuestionStats(StoreOwned, db.Model):
    """Per store, project and question: the sum of the answers (a scale answer's points, a yes as
    1) and how many there are. An indicator's mean is its questions' sum over their count."""

    __table_args__ = (UniqueConstraint("project_id", "store_id", "franchisee_id", "question_id"),)
    owner_columns_indexed = False
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisee.id"), index=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_question.id"))
    total: Mapped[int] = mapped_column(default=0)
    answers: Mapped[int] = mapped_column(default=0)


NOTE_KINDS = {
    "interview": _l("In-depth interview"),
    "focus_group": _l("Focus group"),
}


class SurveyNote(TimestampMixin, db.Model):
    """An interview or focus group held for a survey (R43: quarterly, besides the questionnaire;
    seed 004: in-depth interviews with former core customers, key-point surveys of potential
    ones): when, with whom, and what was learnt. Headquarters' own record."""

    __table_args__ = (Index("ix_survey_note_project", "project_id", "held_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("survey_project.id"))
    kind: Mapped[str] = mapped_column(String(12))
    held_on: Mapped[date]
    participants: Mapped[int] = mapped_column(default=1)
    who: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self):
        return NOTE_KINDS[self.kind]
